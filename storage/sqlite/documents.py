"""State, Activity Profile and Agent Profile documents in SQLite (Communication 2.2 to 2.7).

One table for the three resources. A document is named by (tenant, resource, activity, agent,
registration, id); unused parts are stored as empty strings so the unique index, which
leads with tenant like every index here, also holds for documents without a registration.
Writes run inside `BEGIN IMMEDIATE` (`storage.commands.documents` reads the current row in
the same transaction), so precondition checks and merges see exactly the document they
replace; the compare-and-set on the ETag still checks it, as the contract says.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import orjson

from storage.errors import ConcurrentUpdateError
from storage.records import AGENT_PROFILE, STATE, Document, DocumentRef, DocumentScope

# Literal statements only (no SQL built from strings). `?5` is the registration: NULL in a
# scope query means any registration; `?6` is `since`, NULL for no lower bound.
_SELECT = (
    "SELECT content, content_type, etag, updated FROM documents WHERE tenant = ?1"
    " AND resource = ?2 AND activity = ?3 AND agent = ?4 AND registration = ?5 AND doc_id = ?6"
)
_INSERT = (
    "INSERT OR IGNORE INTO documents (tenant, resource, activity, agent, registration, doc_id,"
    " content, content_type, etag, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
)
_UPDATE = (
    "UPDATE documents SET content = ?7, content_type = ?8, etag = ?9, updated = ?10"
    " WHERE tenant = ?1 AND resource = ?2 AND activity = ?3 AND agent = ?4"
    " AND registration = ?5 AND doc_id = ?6 AND etag = ?11"
)
_DELETE = (
    "DELETE FROM documents WHERE tenant = ?1 AND resource = ?2 AND activity = ?3"
    " AND agent = ?4 AND registration = ?5 AND doc_id = ?6 AND etag = ?7"
)
_LIST = (
    "SELECT doc_id, MAX(updated) FROM documents WHERE tenant = ?1 AND resource = ?2"
    " AND activity = ?3 AND agent = ?4 AND (?5 IS NULL OR registration = ?5)"
    " AND (?6 IS NULL OR updated > ?6) GROUP BY doc_id ORDER BY doc_id"
)
_DELETE_SCOPE = (
    "DELETE FROM documents WHERE tenant = ?1 AND resource = ?2 AND activity = ?3"
    " AND agent = ?4 AND (?5 IS NULL OR registration = ?5)"
)


def _key(tenant: str, scope: DocumentScope, doc_id: str) -> tuple[str, ...]:
    return (tenant, scope.resource, scope.activity, scope.agent, scope.registration or "", doc_id)


def _scope(tenant: str, scope: DocumentScope) -> tuple[str | None, ...]:
    return (tenant, scope.resource, scope.activity, scope.agent, scope.registration)


DDL = (
    """CREATE TABLE IF NOT EXISTS documents (
        tenant TEXT NOT NULL,
        resource TEXT NOT NULL,
        activity TEXT NOT NULL,
        agent TEXT NOT NULL,
        registration TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        content BLOB NOT NULL,
        content_type TEXT NOT NULL,
        etag TEXT NOT NULL,
        updated TEXT NOT NULL
    )""",
    """CREATE UNIQUE INDEX IF NOT EXISTS documents_key ON documents
        (tenant, resource, activity, agent, registration, doc_id)""",
    # Erasure finds a learner's documents, retention the old ones.
    "CREATE INDEX IF NOT EXISTS documents_agent ON documents (tenant, agent)",
    "CREATE INDEX IF NOT EXISTS documents_updated ON documents (tenant, updated)",
)
_AGENT_SCOPED = orjson.dumps([STATE, AGENT_PROFILE])


def get(
    conn: sqlite3.Connection, tenant: str, scope: DocumentScope, doc_id: str
) -> Document | None:
    return _select(conn, _key(tenant, scope, doc_id))


def list_ids(
    conn: sqlite3.Connection, tenant: str, scope: DocumentScope, since: str | None
) -> dict[str, str]:
    return dict(conn.execute(_LIST, (*_scope(tenant, scope), since)).fetchall())


def write(
    conn: sqlite3.Connection,
    tenant: str,
    scope: DocumentScope,
    document: Document,
    replaces: str | None,
) -> None:
    key = _key(tenant, scope, document.id)
    values = (*key, document.content, document.content_type, document.etag, document.updated)
    if replaces is None:
        done = conn.execute(_INSERT, values).rowcount
    else:
        done = conn.execute(_UPDATE, (*values, replaces)).rowcount
    if done != 1:
        raise ConcurrentUpdateError(f"document {document.id} changed since it was read")


def remove(
    conn: sqlite3.Connection, tenant: str, scope: DocumentScope, doc_id: str, etag: str
) -> None:
    if conn.execute(_DELETE, (*_key(tenant, scope, doc_id), etag)).rowcount != 1:
        raise ConcurrentUpdateError(f"document {doc_id} changed since it was read")


def remove_scope(conn: sqlite3.Connection, tenant: str, scope: DocumentScope) -> int:
    return conn.execute(_DELETE_SCOPE, _scope(tenant, scope)).rowcount


def agent_documents(
    conn: sqlite3.Connection,
    tenant: str,
    agents: Sequence[str] | None,
    updated_before: str | None,
) -> list[DocumentRef]:
    sql = (
        "SELECT resource, activity, agent, registration, doc_id, etag, updated FROM documents"
        " WHERE tenant = ? AND resource IN (SELECT value FROM json_each(?))"
    )
    params: list[object] = [tenant, _AGENT_SCOPED]
    if agents is not None:
        sql += " AND agent IN (SELECT value FROM json_each(?))"
        params.append(orjson.dumps(list(agents)))
    if updated_before is not None:
        sql += " AND updated < ?"
        params.append(updated_before)
    return [
        DocumentRef(
            DocumentScope(resource, activity, agent, registration or None), doc_id, etag, updated
        )
        for resource, activity, agent, registration, doc_id, etag, updated in conn.execute(
            sql + " ORDER BY resource, agent, activity, registration, doc_id", params
        )
    ]


def _select(conn: sqlite3.Connection, key: tuple[str, ...]) -> Document | None:
    row = conn.execute(_SELECT, key).fetchone()
    if row is None:
        return None
    return Document(key[-1], bytes(row[0]), row[1], row[2], row[3])

"""State, Activity Profile and Agent Profile documents in SQLite (Communication 2.2 to 2.7).

One table for the three resources. A document is named by (tenant, resource, activity, agent,
registration, id); unused parts are stored as empty strings so the unique index, which
leads with tenant like every index here, also holds for documents without a registration.
Every write reads the current row inside its `BEGIN IMMEDIATE` transaction, so precondition
checks and merges see exactly the document they replace.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, ClassVar

from storage.base import (
    Document,
    DocumentScope,
    check_preconditions,
    document_etag,
    merge_json_documents,
)

# Literal statements only (no SQL built from strings). `?5` is the registration: NULL in a
# scope query means any registration; `?6` is `since`, NULL for no lower bound.
_SELECT = (
    "SELECT content, content_type, etag, updated FROM documents WHERE tenant = ?1"
    " AND resource = ?2 AND activity = ?3 AND agent = ?4 AND registration = ?5 AND doc_id = ?6"
)
_INSERT = (
    "INSERT INTO documents (tenant, resource, activity, agent, registration, doc_id,"
    " content, content_type, etag, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
)
_UPDATE = (
    "UPDATE documents SET content = ?7, content_type = ?8, etag = ?9, updated = ?10"
    " WHERE tenant = ?1 AND resource = ?2 AND activity = ?3 AND agent = ?4"
    " AND registration = ?5 AND doc_id = ?6"
)
_DELETE = (
    "DELETE FROM documents WHERE tenant = ?1 AND resource = ?2 AND activity = ?3"
    " AND agent = ?4 AND registration = ?5 AND doc_id = ?6"
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


class SQLiteDocumentStore:
    """Mixin for `SQLiteBase`: the `DocumentStore` part of the storage Protocol."""

    DDL: ClassVar[tuple[str, ...]] = (
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
    )

    if TYPE_CHECKING:  # provided by SQLiteBase
        _conn: sqlite3.Connection

        def _transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def put_document(
        self,
        tenant: str,
        scope: DocumentScope,
        doc_id: str,
        content: bytes,
        content_type: str,
        *,
        updated: str,
        if_match: Sequence[str] | None = None,
        if_none_match: Sequence[str] | None = None,
        merge: bool = False,
    ) -> Document:
        key = _key(tenant, scope, doc_id)
        with self._transaction() as conn:
            current = _select(conn, key)
            check_preconditions(current, if_match=if_match, if_none_match=if_none_match)
            if merge and current is not None:
                content = merge_json_documents(current, content, content_type)
                content_type = current.content_type
            document = Document(doc_id, content, content_type, document_etag(content), updated)
            conn.execute(
                _INSERT if current is None else _UPDATE,
                (*key, content, content_type, document.etag, updated),
            )
        return document

    def get_document(self, tenant: str, scope: DocumentScope, doc_id: str) -> Document | None:
        return _select(self._conn, _key(tenant, scope, doc_id))

    def list_documents(
        self, tenant: str, scope: DocumentScope, since: str | None = None
    ) -> dict[str, str]:
        return dict(self._conn.execute(_LIST, (*_scope(tenant, scope), since)).fetchall())

    def delete_document(
        self,
        tenant: str,
        scope: DocumentScope,
        doc_id: str,
        *,
        if_match: Sequence[str] | None = None,
        if_none_match: Sequence[str] | None = None,
    ) -> bool:
        key = _key(tenant, scope, doc_id)
        with self._transaction() as conn:
            current = _select(conn, key)
            check_preconditions(current, if_match=if_match, if_none_match=if_none_match)
            if current is None:
                return False
            conn.execute(_DELETE, key)
        return True

    def delete_documents(self, tenant: str, scope: DocumentScope) -> int:
        with self._transaction() as conn:
            return conn.execute(_DELETE_SCOPE, _scope(tenant, scope)).rowcount


def _select(conn: sqlite3.Connection, key: tuple[str, ...]) -> Document | None:
    row = conn.execute(_SELECT, key).fetchone()
    if row is None:
        return None
    return Document(key[-1], bytes(row[0]), row[1], row[2], row[3])

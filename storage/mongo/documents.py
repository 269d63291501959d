"""State, Activity Profile and Agent Profile documents in MongoDB (Communication 2.2 to 2.7,
collection `documents`): `{tenant, resource, activity, agent, registration, doc_id,
content, content_type, etag, updated}`, one per key; unused key parts are empty strings, so
the unique index `documents_key` also holds for documents without a registration.

Preconditions and merges are `storage.commands.documents`, checked against the document
read in the same write; here each write is a compare-and-set on the ETag read (or an insert
that a concurrent creator makes a duplicate key), so that without a transaction a writer
that lost a race gets ConcurrentUpdateError, reads again and checks again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bson import Binary
from pymongo.errors import DuplicateKeyError

from storage.errors import ConcurrentUpdateError
from storage.mongo.database import Database
from storage.records import AGENT_PROFILE, STATE, Document, DocumentRef, DocumentScope

if TYPE_CHECKING:
    from pymongo.client_session import ClientSession


def _key(tenant: str, scope: DocumentScope, doc_id: str) -> dict[str, str]:
    return {
        "tenant": tenant, "resource": scope.resource, "activity": scope.activity,
        "agent": scope.agent, "registration": scope.registration or "", "doc_id": doc_id,
    }


def _scope(tenant: str, scope: DocumentScope) -> dict[str, Any]:
    """A prefix of `documents_key`; no registration means any."""
    flt: dict[str, Any] = {
        "tenant": tenant, "resource": scope.resource, "activity": scope.activity,
        "agent": scope.agent,
    }
    if scope.registration is not None:
        flt["registration"] = scope.registration
    return flt


def get(
    db: Database, session: ClientSession | None, tenant: str, scope: DocumentScope, doc_id: str
) -> Document | None:
    doc = db.documents.find_one(_key(tenant, scope, doc_id), session=session)
    if doc is None:
        return None
    return Document(
        doc["doc_id"], bytes(doc["content"]), doc["content_type"], doc["etag"], doc["updated"]
    )


def list_ids(
    db: Database, tenant: str, scope: DocumentScope, since: str | None
) -> dict[str, str]:
    latest: dict[str, str] = {}
    for doc in db.documents.find(_scope(tenant, scope), {"_id": 0, "doc_id": 1, "updated": 1}):
        if doc["updated"] > latest.get(doc["doc_id"], ""):
            latest[doc["doc_id"]] = doc["updated"]
    # `since` is applied here, so the query stays a prefix of `documents_key`.
    return {
        doc_id: updated
        for doc_id, updated in sorted(latest.items())
        if since is None or updated > since
    }


def write(
    db: Database,
    session: ClientSession | None,
    tenant: str,
    scope: DocumentScope,
    document: Document,
    replaces: str | None,
) -> None:
    key = _key(tenant, scope, document.id)
    fields = {
        "content": Binary(document.content), "content_type": document.content_type,
        "etag": document.etag, "updated": document.updated,
    }
    if replaces is None:
        try:
            db.documents.insert_one({**key, **fields}, session=session)
        except DuplicateKeyError as exc:
            raise ConcurrentUpdateError(f"document {document.id} was created meanwhile") from exc
        return
    done = db.documents.update_one({**key, "etag": replaces}, {"$set": fields}, session=session)
    if done.matched_count != 1:
        raise ConcurrentUpdateError(f"document {document.id} changed since it was read")


def remove(
    db: Database,
    session: ClientSession | None,
    tenant: str,
    scope: DocumentScope,
    doc_id: str,
    etag: str,
) -> None:
    done = db.documents.delete_one({**_key(tenant, scope, doc_id), "etag": etag}, session=session)
    if done.deleted_count != 1:
        raise ConcurrentUpdateError(f"document {doc_id} changed since it was read")


def remove_scope(
    db: Database, session: ClientSession | None, tenant: str, scope: DocumentScope
) -> int:
    return db.documents.delete_many(_scope(tenant, scope), session=session).deleted_count


def agent_documents(
    db: Database,
    session: ClientSession | None,
    tenant: str,
    agents: Sequence[str] | None,
    updated_before: str | None,
) -> list[DocumentRef]:
    """Index `documents_agent` for `agents`, `documents_updated` for a cut-off."""
    query: dict[str, Any] = {"tenant": tenant, "resource": {"$in": [STATE, AGENT_PROFILE]}}
    if agents is not None:
        query["agent"] = {"$in": list(agents)}
    if updated_before is not None:
        query["updated"] = {"$lt": updated_before}
    found = [
        DocumentRef(
            DocumentScope(
                doc["resource"], doc["activity"], doc["agent"], doc["registration"] or None
            ),
            doc["doc_id"], doc["etag"], doc["updated"],
        )
        for doc in db.documents.find(
            query, {"_id": 0, "content": 0, "content_type": 0}, session=session
        )
    ]
    return sorted(
        found,
        key=lambda d: (d.scope.resource, d.scope.agent, d.scope.activity,
                       d.scope.registration or "", d.id),
    )

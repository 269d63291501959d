"""State, Activity Profile and Agent Profile documents (Communication 2.2 to 2.7, 3.1):
ETags, preconditions and the JSON merge of POST, checked against the current document in
the same atomic step as the write."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from storage.commands.retry import retrying
from storage.errors import ConflictError, DocumentMergeError, PreconditionFailedError
from storage.protocol import Storage, Transaction
from storage.records import Document, DocumentScope


def document_etag(content: bytes) -> str:
    """The ETag xAPI 1.0.3 prescribes: lowercase hex SHA-1 of the content (Communication 3.1)."""
    return hashlib.sha1(content, usedforsecurity=False).hexdigest()


def check_preconditions(
    current: Document | None,
    *,
    if_match: Sequence[str] | None = None,
    if_none_match: Sequence[str] | None = None,
) -> None:
    """Apply If-Match / If-None-Match (RFC 7232 section 3; ETags unquoted, "*" = any existing
    document) to the current document. Raises PreconditionFailedError (Communication 3.1)."""
    if if_match is not None:
        if current is None:
            raise PreconditionFailedError("If-Match given but there is no such document")
        if "*" not in if_match and current.etag not in if_match:
            raise PreconditionFailedError("the document changed: If-Match does not match its ETag")
    if (
        if_none_match is not None
        and current is not None
        and ("*" in if_none_match or current.etag in if_none_match)
    ):
        raise PreconditionFailedError("the document exists and If-None-Match rules that out")


def is_json_content_type(content_type: str) -> bool:
    """Whether a Content-Type header names application/json (parameters ignored)."""
    return content_type.partition(";")[0].strip().lower() == "application/json"


def merge_json_documents(current: Document, content: bytes, content_type: str) -> bytes:
    """Communication 2.2, JSON Procedure: set each top-level property of the posted object on
    the stored object. Raises DocumentMergeError unless both are application/json objects."""
    merged = _json_object(current.content, current.content_type, "the stored document")
    merged.update(_json_object(content, content_type, "the posted document"))
    return json.dumps(merged, ensure_ascii=False, separators=(",", ":")).encode()


def _json_object(content: bytes, content_type: str, what: str) -> dict[str, Any]:
    if not is_json_content_type(content_type):
        raise DocumentMergeError(f"{what} is not application/json, so it cannot be merged")
    try:
        value = json.loads(content)
    except (ValueError, RecursionError):  # nested deeper than the parser goes: not mergeable
        value = None
    if not isinstance(value, dict):
        raise DocumentMergeError(f"{what} is not a JSON object, so it cannot be merged")
    return value


def put_document(
    store: Storage,
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
    refuse_existing: str | None = None,
) -> Document:
    """Create or replace one document, or with `merge` merge a JSON object into it (a
    missing document is created). Raises PreconditionFailedError or DocumentMergeError and
    then changes nothing. With `refuse_existing` (the message), a document that exists is a
    ConflictError, checked in the same atomic step as the write, so that a document created
    meanwhile is never overwritten (Communication 3.1: a PUT without preconditions onto an
    existing profile). Returns the document as stored.

    A merge (POST) of application/json content that is not a JSON object is refused even
    when there is no document yet to merge into (Communication 2.2, JSON Procedure: "if
    either document cannot be parsed as a JSON Object", 400): checked before anything is
    read, so nothing is written."""
    if merge and is_json_content_type(content_type):
        _json_object(content, content_type, "the posted document")

    def write(tx: Transaction) -> Document:
        current = tx.get_document(tenant, scope, doc_id)
        if refuse_existing is not None and current is not None:
            raise ConflictError(refuse_existing)
        check_preconditions(current, if_match=if_match, if_none_match=if_none_match)
        body, kind = content, content_type
        if merge and current is not None:
            body = merge_json_documents(current, content, content_type)
            kind = current.content_type
        document = Document(doc_id, body, kind, document_etag(body), updated)
        tx.write_document(
            tenant, scope, document, replaces=None if current is None else current.etag
        )
        return document

    return retrying(store, write, "store a document")


def delete_document(
    store: Storage,
    tenant: str,
    scope: DocumentScope,
    doc_id: str,
    *,
    if_match: Sequence[str] | None = None,
    if_none_match: Sequence[str] | None = None,
) -> bool:
    """Delete one document after checking preconditions atomically; whether it existed."""

    def delete(tx: Transaction) -> bool:
        current = tx.get_document(tenant, scope, doc_id)
        check_preconditions(current, if_match=if_match, if_none_match=if_none_match)
        if current is None:
            return False
        tx.remove_document(tenant, scope, doc_id, etag=current.etag)
        return True

    return retrying(store, delete, "delete a document")


def delete_documents(store: Storage, tenant: str, scope: DocumentScope) -> int:
    """Delete every document in `scope` (State multiple-document DELETE); how many."""
    return store.atomically(lambda tx: tx.remove_documents(tenant, scope))

"""Helpers of the erasure and retention tests: statements, attachments sent as
multipart/mixed, and everything a store holds of a tenant."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from people import VERB

from lrs.extension import EXTENSION

COURSE = {"objectType": "Activity", "id": "http://example.com/courses/erasure"}
BOUNDARY = "erasure-boundary-77"


def attachment(data: bytes) -> dict[str, Any]:
    return {"usageType": "http://example.com/usage/essay", "display": {"en-US": "essay"},
            "contentType": "text/plain", "length": len(data),
            "sha2": hashlib.sha256(data).hexdigest()}


def multipart(statements: list[dict[str, Any]], parts: list[bytes]) -> tuple[bytes, str]:
    delimiter = f"--{BOUNDARY}".encode()
    body = delimiter + b"\r\nContent-Type: application/json\r\n\r\n" + json.dumps(
        statements).encode() + b"\r\n"
    for data in parts:
        body += (delimiter + b"\r\nContent-Type: text/plain\r\n"
                 b"Content-Transfer-Encoding: binary\r\nX-Experience-API-Hash: "
                 + hashlib.sha256(data).hexdigest().encode() + b"\r\n\r\n" + data + b"\r\n")
    return body + delimiter + b"--\r\n", f"multipart/mixed; boundary={BOUNDARY}"


def new(actor: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "actor": actor, "verb": VERB, "object": COURSE, **fields}


def whole(app) -> Any:
    """Every statement of the default tenant (voided too) and every agent's document."""
    store = app.extensions[EXTENSION].store
    rows = store.atomically(
        lambda tx: tx.statements_before("default", "9999-01-01T00:00:00.000000Z", 100_000)
    )
    documents = store.atomically(lambda tx: tx.agent_documents("default"))
    return ({row.id: (row.statement, row.sealed, row.voided) for row in rows}, documents)

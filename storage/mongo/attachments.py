"""Attachment data in MongoDB (Data 2.4.11, collection `attachments`): `{tenant, sha2,
content_type, content, w}`, one per (tenant, sha2), never in the statement documents, so data
sent with many statements is stored once; `w` lists the credentials that sent it (absent in
documents written before it was kept). One attachment must fit in a 16 MB BSON document.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bson import Binary
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from storage.errors import ConcurrentUpdateError
from storage.mongo.database import Database, is_duplicate_key
from storage.records import AttachmentItems

if TYPE_CHECKING:
    from pymongo.client_session import ClientSession


def put(
    db: Database,
    session: ClientSession | None,
    tenant: str,
    items: AttachmentItems,
    writer: str,
) -> None:
    """Upserts that insert the data once (a stored hash holds the same data by definition)
    and add `writer` to those who sent it. Two writers inserting the same new hash: the
    loser's duplicate key is ConcurrentUpdateError, and its retry finds the hash stored."""
    writes = [
        UpdateOne(
            {"tenant": tenant, "sha2": sha2.lower()},
            {
                "$setOnInsert": {"content_type": content_type, "content": Binary(data)},
                "$addToSet": {"w": writer},
            },
            upsert=True,
        )
        for sha2, (content_type, data) in items.items()
    ]
    if not writes:
        return
    try:
        db.attachments.bulk_write(writes, session=session)
    except BulkWriteError as exc:
        if is_duplicate_key(exc):
            raise ConcurrentUpdateError("an attachment was stored meanwhile") from exc
        raise


def unreferenced(
    db: Database,
    session: ClientSession | None,
    tenant: str,
    sha2s: Sequence[str],
    excluding: Sequence[str],
) -> list[str]:
    """Stored hashes among `sha2s` that no statement outside `excluding` names in its `h`
    (index `statements_attachments`)."""
    wanted = sorted({s.lower() for s in sha2s})
    if not wanted:
        return []
    stored = {
        doc["sha2"]
        for doc in db.attachments.find(
            {"tenant": tenant, "sha2": {"$in": wanted}}, {"_id": 0, "sha2": 1}, session=session
        )
    }
    referring = db.statements.find(
        {"t": tenant, "h": {"$in": sorted(stored)}, "id": {"$nin": list(excluding)}},
        {"_id": 0, "h": 1}, session=session,
    )
    for doc in referring if stored else ():
        stored -= set(doc["h"])
    return sorted(stored)


def remove(
    db: Database, session: ClientSession | None, tenant: str, sha2s: Sequence[str]
) -> int:
    return db.attachments.delete_many(
        {"tenant": tenant, "sha2": {"$in": [s.lower() for s in sha2s]}}, session=session
    ).deleted_count


def get(
    db: Database, tenant: str, sha2s: Sequence[str], writer: str | None
) -> dict[str, tuple[str, bytes]]:
    if not sha2s:
        return {}
    wanted: dict[str, Any] = {"tenant": tenant, "sha2": {"$in": [s.lower() for s in sha2s]}}
    if writer is not None:
        wanted["w"] = writer
    docs = db.attachments.find(
        wanted,
        {"_id": 0, "sha2": 1, "content_type": 1, "content": 1},
    )
    return {doc["sha2"]: (doc["content_type"], bytes(doc["content"])) for doc in docs}

"""The audit log in MongoDB (collection `audit`): one document per entry, `{t, seq, time,
credential, action, resource, f, count, request_id, previous, hash}`, `f` the filters as
BSON binary JSON (agent pseudonyms, IRIs: keys holding "."); `(t, seq)` is unique, so two
writers appending the same next entry cannot both succeed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from bson import Binary
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from storage.errors import ConcurrentUpdateError
from storage.mongo.database import Database
from storage.records import AuditEntry

if TYPE_CHECKING:
    from pymongo.client_session import ClientSession

_FIELDS = {"_id": 0}


def last(db: Database, session: ClientSession | None, tenant: str) -> AuditEntry | None:
    doc = db.audit.find_one({"t": tenant}, _FIELDS, sort=[("seq", DESCENDING)], session=session)
    return None if doc is None else _entry(doc)


def append(db: Database, session: ClientSession | None, entry: AuditEntry) -> None:
    try:
        db.audit.insert_one(
            {
                "t": entry.tenant, "seq": entry.seq, "time": entry.time,
                "credential": entry.credential, "action": entry.action,
                "resource": entry.resource, "f": Binary(orjson.dumps(entry.filters)),
                "count": entry.count, "request_id": entry.request_id,
                "previous": entry.previous, "hash": entry.hash,
            },
            session=session,
        )
    except DuplicateKeyError as exc:
        raise ConcurrentUpdateError(f"audit entry {entry.seq} is taken") from exc


def read(
    db: Database,
    tenant: str,
    after: int,
    since: str | None,
    action: str | None,
    limit: int,
) -> list[AuditEntry]:
    if limit <= 0:
        return []
    flt: dict[str, Any] = {"t": tenant, "seq": {"$gt": after}}
    if since is not None:
        flt["time"] = {"$gte": since}
    if action is not None:
        flt["action"] = action
    docs = db.audit.find(flt, _FIELDS).sort("seq", ASCENDING).limit(limit)
    return [_entry(doc) for doc in docs]


def _entry(doc: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        tenant=doc["t"], seq=doc["seq"], time=doc["time"], credential=doc["credential"],
        action=doc["action"], resource=doc["resource"], filters=orjson.loads(doc["f"]),
        count=doc["count"], request_id=doc["request_id"], previous=doc["previous"],
        hash=doc["hash"],
    )

"""Activities in MongoDB (Data 2.4.4.1, Communication 2.5, collection `activities`):
`{t, id, d, r}`, one per activity id seen in a stored statement; `d` the canonical
definition JSON as BSON binary (extension keys are IRIs, holding "."; `{}` for an activity
known without one), `r` a revision counter, increased by every change.

The merge is `storage.commands.activities`; it runs after the statement batch commits
(`MongoStorage.defers_shared_writes`: inside the batch transaction, concurrent batches
naming the same activities would conflict and retry whole batches).

Compare-and-set: `write` replaces the definition only where the stored `d` still holds the
bytes of the definition that was read. Definitions are written by orjson and read back in
the same key order, so re-serializing the definition read gives exactly the stored bytes;
this is what the protocol asks (replace the definition equal to `replaces`), needs no state
between the read and the write, and works on every stored activity, `r` or not. A
definition changed and changed back meanwhile is replaced too, which is right: the merge is
a function of the definition, not of its history. `r` is still increased, so that the
layout stays the one earlier versions wrote and read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson
from bson import Binary
from pymongo.errors import BulkWriteError, DuplicateKeyError

from storage.errors import ConcurrentUpdateError
from storage.mongo.database import Database, only_duplicate_keys

if TYPE_CHECKING:
    from pymongo.client_session import ClientSession

_EMPTY = b"{}"


def get(
    db: Database, session: ClientSession | None, tenant: str, ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    docs = db.activities.find(
        {"t": tenant, "id": {"$in": list(ids)}}, {"_id": 0, "id": 1, "d": 1}, session=session
    )
    return {doc["id"]: orjson.loads(doc["d"]) for doc in docs}


def record(db: Database, session: ClientSession | None, tenant: str, ids: Iterable[str]) -> None:
    """One read of which ids are known, one insert of the others (none once a store has
    seen its activities). Outside a transaction an id another writer recorded meanwhile is
    a duplicate key to ignore; inside one the insert has aborted the transaction:
    ConcurrentUpdateError, and the write is tried again."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return
    known = {
        doc["id"]
        for doc in db.activities.find(
            {"t": tenant, "id": {"$in": wanted}}, {"_id": 0, "id": 1}, session=session
        )
    }
    new = [
        {"t": tenant, "id": activity_id, "d": Binary(_EMPTY), "r": 0}
        for activity_id in wanted
        if activity_id not in known
    ]
    if not new:
        return
    try:
        db.activities.insert_many(new, ordered=False, session=session)
    except BulkWriteError as exc:
        if not only_duplicate_keys(exc):
            raise
        if session is not None:
            raise ConcurrentUpdateError("an activity was recorded meanwhile") from exc


def write(
    db: Database,
    session: ClientSession | None,
    tenant: str,
    activity_id: str,
    definition: Mapping[str, Any],
    replaces: Mapping[str, Any] | None,
) -> None:
    body = Binary(orjson.dumps(definition))
    if replaces is None:
        try:
            db.activities.insert_one(
                {"t": tenant, "id": activity_id, "d": body, "r": 0}, session=session
            )
        except DuplicateKeyError as exc:
            raise ConcurrentUpdateError(f"activity {activity_id} was recorded meanwhile") from exc
        return
    done = db.activities.update_one(
        {"t": tenant, "id": activity_id, "d": Binary(orjson.dumps(replaces))},
        {"$set": {"d": body}, "$inc": {"r": 1}},
        session=session,
    )
    if done.matched_count != 1:
        raise ConcurrentUpdateError(f"activity {activity_id} changed since it was read")

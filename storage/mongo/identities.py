"""The identity vault's entries in MongoDB (collection `identities`): `{t, agent, digest, s}`,
one per distinct original agent behind a pseudonym, `s` the sealed original agent (BSON
binary, opaque here: `anonymize.seal`). Collection `erased`: `{t, m}`, the marks of erased
learners a tenant refuses statements of (keyed digests, opaque here).

They are written in the deferred step after a statement batch commits
(`MongoStorage.defers_shared_writes`): batches of other workers name the same learners, and
inside concurrent batch transactions these shared documents would be write conflicts that
retry whole batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bson import Binary
from pymongo import ASCENDING, UpdateOne
from pymongo.errors import BulkWriteError

from storage.errors import ConcurrentUpdateError
from storage.mongo.database import Database, only_duplicate_keys
from storage.records import Identity

if TYPE_CHECKING:
    from pymongo.client_session import ClientSession


def put(
    db: Database, session: ClientSession | None, tenant: str, identities: Sequence[Identity]
) -> None:
    """Upserts that only ever insert: an entry another writer created meanwhile (a duplicate
    key outside a transaction) is the entry wanted. Inside a transaction the failed write
    has aborted it: ConcurrentUpdateError, and the write is tried again."""
    updates = [
        UpdateOne(
            {"t": tenant, "agent": i.agent, "digest": i.digest},
            {"$setOnInsert": {"s": Binary(i.sealed)}},
            upsert=True,
        )
        for i in identities
    ]
    if not updates:
        return
    try:
        db.identities.bulk_write(updates, ordered=False, session=session)
    except BulkWriteError as exc:
        if not only_duplicate_keys(exc):
            raise
        if session is not None:
            raise ConcurrentUpdateError("an identity was stored meanwhile") from exc


def remove(
    db: Database, session: ClientSession | None, tenant: str, agents: Sequence[str]
) -> int:
    return db.identities.delete_many(
        {"t": tenant, "agent": {"$in": list(agents)}}, session=session
    ).deleted_count


def get(
    db: Database, tenant: str, agent: str, session: ClientSession | None = None
) -> list[Identity]:
    docs = db.identities.find(
        {"t": tenant, "agent": agent}, {"_id": 0, "digest": 1, "s": 1},
        sort=[("digest", ASCENDING)], session=session,
    )
    return [Identity(agent=agent, digest=d["digest"], sealed=bytes(d["s"])) for d in docs]


def mark_erased(
    db: Database, session: ClientSession | None, tenant: str, marks: Sequence[str]
) -> None:
    """Upserts: a mark already there (an erasure run again) is the mark wanted."""
    updates = [
        UpdateOne({"t": tenant, "m": mark}, {"$setOnInsert": {}}, upsert=True) for mark in marks
    ]
    if not updates:
        return
    try:
        db.erased.bulk_write(updates, ordered=False, session=session)
    except BulkWriteError as exc:
        if not only_duplicate_keys(exc):
            raise
        if session is not None:
            raise ConcurrentUpdateError("a mark was stored meanwhile") from exc


def erased_among(db: Database, tenant: str, marks: Sequence[str]) -> set[str]:
    if not marks:
        return set()
    docs = db.erased.find({"t": tenant, "m": {"$in": list(marks)}}, {"_id": 0, "m": 1})
    return {doc["m"] for doc in docs}

"""Forwarding to a central LRS in MongoDB: collection `sync`, one document per (tenant,
target) of forwarding state, `{t, target, position, erasures_pulled, erasures_applied,
last_success, last_error, last_error_at, revision}` (compare-and-set on `revision`); and
collection `erasures`, the erasure list, `{t, seq, agent, time}` with `(t, seq)` and
`(t, agent)` unique, so two writers appending the same next entry, or the same agent,
cannot both succeed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from storage.errors import ConcurrentUpdateError
from storage.mongo.database import Database
from storage.records import Erasure, SyncState

if TYPE_CHECKING:
    from pymongo.client_session import ClientSession

_FIELDS = {"_id": 0}
_STATE_FIELDS = (
    "position", "erasures_pulled", "erasures_applied", "last_success", "last_error",
    "last_error_at", "revision",
)


def get_state(
    db: Database, session: ClientSession | None, tenant: str, target: str
) -> SyncState | None:
    doc = db.sync.find_one({"t": tenant, "target": target}, _FIELDS, session=session)
    return None if doc is None else _state(doc)


def list_states(db: Database, tenant: str | None) -> list[SyncState]:
    found = db.sync.find({} if tenant is None else {"t": tenant}, _FIELDS)
    return [_state(doc) for doc in found.sort([("t", ASCENDING), ("target", ASCENDING)])]


def write_state(
    db: Database, session: ClientSession | None, state: SyncState, replaces: int | None
) -> None:
    fields = {name: getattr(state, name) for name in _STATE_FIELDS}
    if replaces is None:
        try:
            db.sync.insert_one({"t": state.tenant, "target": state.target, **fields},
                               session=session)
        except DuplicateKeyError as exc:
            raise ConcurrentUpdateError(f"the forwarding state of {state.tenant} exists") from exc
        return
    done = db.sync.update_one(
        {"t": state.tenant, "target": state.target, "revision": replaces}, {"$set": fields},
        session=session,
    )
    if done.matched_count != 1:
        raise ConcurrentUpdateError(f"the forwarding state of {state.tenant} changed")


def last_erasure(db: Database, session: ClientSession | None, tenant: str) -> Erasure | None:
    doc = db.erasures.find_one(
        {"t": tenant}, _FIELDS, sort=[("seq", DESCENDING)], session=session
    )
    return None if doc is None else _erasure(doc)


def erased(
    db: Database, session: ClientSession | None, tenant: str, agents: Sequence[str]
) -> set[str]:
    if not agents:
        return set()
    return {
        doc["agent"]
        for doc in db.erasures.find(
            {"t": tenant, "agent": {"$in": list(agents)}}, {"_id": 0, "agent": 1},
            session=session,
        )
    }


def append_erasure(db: Database, session: ClientSession | None, entry: Erasure) -> None:
    try:
        db.erasures.insert_one(
            {"t": entry.tenant, "seq": entry.seq, "agent": entry.agent, "time": entry.time},
            session=session,
        )
    except DuplicateKeyError as exc:
        raise ConcurrentUpdateError(f"erasure list entry {entry.seq} is taken") from exc


def read_erasures(db: Database, tenant: str, after: int, limit: int) -> list[Erasure]:
    if limit <= 0:
        return []
    docs = db.erasures.find({"t": tenant, "seq": {"$gt": after}}, _FIELDS)
    return [_erasure(doc) for doc in docs.sort("seq", ASCENDING).limit(limit)]


def _state(doc: dict[str, Any]) -> SyncState:
    return SyncState(doc["t"], doc["target"], *(doc[name] for name in _STATE_FIELDS))


def _erasure(doc: dict[str, Any]) -> Erasure:
    return Erasure(doc["t"], doc["seq"], doc["agent"], doc["time"])

"""Statements in MongoDB (collection `statements`), one document per statement.

`t` tenant, `id`, `stored`, `k` the paging key (`stored` + " " + `id`; `stored` is fixed
width, so `k` orders exactly like (stored, id) and since/until/keyset bounds become one range
on one field), `voided`, `voids`/`ref` (absent when none), `w` the writer credential, `b` the
statement JSON as BSON binary (returned byte for byte; extension keys containing "." or
starting with "$" never become field names), `v` (when present) its sealed original agents
(identity vault, BSON binary, opaque here), and the query fields:
`m` one entry per member of the statement's StatementRef chain, itself first, each
`{agents, related_agents, verb, activities, related_activities, registration}`; and `chain`
the ids of the statements its object refers to, directly or through others, found or not;
`h` (when it has attachments) the sha2 of each, so data no remaining statement refers to is
found by an index.

A filter other than since/until matches when one `m` entry meets all of them
(Communication 2.1.3, Filter Conditions for StatementRefs): one filter queries `m.<field>`,
several add an `$elemMatch` (`statement_pipeline`). A statement is inserted with its own
entry only; `add_references` then records each (source, target) of a chain by adding the
target to the source's `chain` and the stored target's own entry (its first) to the
source's `m`. Which pairs to add, and which statements to void, is decided by
`storage.commands.statements`; the functions here only do what they are told.

Pending statements (`Storage.defers_shared_writes`): a batch inserted `pending` gets one
document in collection `pending`, `{t, ids}`, inserted before its statements in the same
write and shrunk by `clear_pending`; `get` reports a statement pending while an entry names
it. One small write per batch instead of an update of every statement (measured with
bench.storage_mongo: the per-statement flag cost more than the insert itself on SecantusDB).

Deleting statements (`delete`: erasure, retention) is the one function that deletes
statement documents, with what is derived from them: the copies of their `m` entries in the
statements referring to them (each such statement's `m` is rebuilt from the stored
statements on its reference path, since equal entries of two targets are stored once, and a
chain passes only through stored statements), and the pending markers naming them; `chain`
and `h` go with the document (a `chain` naming a deleted statement stays: stored again, it
is linked again). Without a transaction the documents go last, so
a re-run finds what an interruption left. A collection a later feature derives from
statements is cleaned there too.

The statement feed (`Storage.read_feed`) is `k` order, positions are `k` values. Writers
are not serialized here, so a statement stamped earlier may commit after one stamped later
(and a batch on a standalone server may be undone after its insert): the feed holds only
statements stored more than a settling delay ago (`MongoStorage.feed_delay`, longer than a
write takes), which the reader accepts as lag. A clock set back by more than the delay
could still hide statements from a reader past them: an edge LRS, the feed's reader, runs
on the embedded store, whose feed is commit-ordered.

Functions take the `Database` and the session of the write they belong to (None outside a
transaction); the indexes they rely on are listed in `storage.mongo.database`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from bson import Binary, ObjectId
from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.errors import BulkWriteError

from storage.errors import DuplicateIdError
from storage.mongo.database import (
    ACTIVITIES,
    AGENTS,
    DUPLICATE_KEY,
    REGISTRATION,
    RELATED_ACTIVITIES,
    RELATED_AGENTS,
    VERB,
    Database,
)
from storage.records import FeedPage, StatementFilter, StatementRecord, StoredStatement

if TYPE_CHECKING:
    from pymongo.client_session import ClientSession

# Sorts after the " " that joins stored and id in `k`, so `stored + _HIGH` bounds every key
# of that instant from above (since is exclusive, until inclusive: Communication 2.1.3).
_HIGH = "\uffff"

FIELDS = {
    "_id": 0, "id": 1, "b": 1, "stored": 1, "voided": 1, "voids": 1, "w": 1, "v": 1,
}


class BatchDuplicateError(DuplicateIdError):
    """A stored id stopped the insert of a batch; `ids` names the first one met. Raised
    inside the write; `storage.mongo.backend` names every taken id of `batch` once the
    write is rolled back (an ordered insert stops at the first)."""

    def __init__(self, taken: list[str], tenant: str, batch: list[str]) -> None:
        super().__init__(taken)
        self.tenant = tenant
        self.batch = batch


def paging_key(stored: str, statement_id: str) -> str:
    """The single-field form of the paging order (stored, id)."""
    return f"{stored} {statement_id}"


def member(record: StatementRecord) -> dict[str, Any]:
    """The statement's own query fields: one entry of `m`. Lists are sorted so equal entries
    are equal documents (`$addToSet` then never stores one twice)."""
    entry: dict[str, Any] = {
        AGENTS: sorted(record.agents),
        RELATED_AGENTS: sorted(record.related_agents | record.agents),
        VERB: record.verb,
        ACTIVITIES: sorted(record.activities),
        RELATED_ACTIVITIES: sorted(record.related_activities | record.activities),
    }
    if record.registration is not None:
        entry[REGISTRATION] = record.registration
    return entry


def _document(tenant: str, record: StatementRecord) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": ObjectId(), "t": tenant, "id": record.id, "stored": record.stored,
        "k": paging_key(record.stored, record.id), "voided": False, "w": record.writer,
        "m": [member(record)], "b": Binary(record.statement),
    }
    if record.ref is not None:
        doc["ref"] = record.ref
    if record.voids is not None:
        doc["voids"] = record.voids
    if record.sealed is not None:
        doc["v"] = Binary(record.sealed)
    if record.attachments:
        doc["h"] = sorted(record.attachments)
    return doc


def insert(
    db: Database,
    session: ClientSession | None,
    tenant: str,
    records: Sequence[StatementRecord],
    *,
    pending: bool,
    inserted: list[ObjectId],
) -> None:
    """One ordered `insert_many` of the statements with their own query fields. The `_id`
    of every document is added to `inserted` before the insert, so that a failure part way
    can be undone without a transaction. Raises DuplicateIdError for ids repeated in
    `records` (before writing) and BatchDuplicateError for a stored one."""
    if not records:
        return
    ids = [record.id for record in records]
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    if repeated:
        raise DuplicateIdError(repeated)
    if pending:
        # First: a marker whose statements a failure then undoes names nothing stored.
        db.pending.insert_one({"t": tenant, "ids": ids}, session=session)
    docs = [_document(tenant, record) for record in records]
    inserted.extend(doc["_id"] for doc in docs)
    try:
        db.statements.insert_many(docs, ordered=True, session=session)
    except BulkWriteError as exc:
        taken = [
            e["keyValue"]["id"]
            for e in exc.details.get("writeErrors", ())
            if e.get("code") == DUPLICATE_KEY and "id" in e.get("keyValue", {})
        ]
        if taken:
            raise BatchDuplicateError(taken, tenant, ids) from exc
        raise


def stored_ids(db: Database, tenant: str, ids: Sequence[str]) -> list[str]:
    """The ids among `ids` that are stored, sorted."""
    return sorted(
        doc["id"]
        for doc in db.statements.find({"t": tenant, "id": {"$in": list(ids)}}, {"_id": 0, "id": 1})
    )


def clear_pending(
    db: Database, session: ClientSession | None, tenant: str, ids: Sequence[str]
) -> None:
    """Take `ids` out of the pending markers naming them, and drop markers left empty (a
    re-send may finish only part of a batch)."""
    if ids:
        wanted = list(ids)
        db.pending.update_many(
            {"t": tenant, "ids": {"$in": wanted}}, {"$pull": {"ids": {"$in": wanted}}},
            session=session,
        )
        db.pending.delete_many({"t": tenant, "ids": {"$size": 0}}, session=session)


def voided_targets(
    db: Database, session: ClientSession | None, tenant: str, ids: Sequence[str]
) -> set[str]:
    if not ids:
        return set()
    return {
        doc["voids"]
        for doc in db.statements.find(
            {"t": tenant, "voids": {"$in": list(ids)}}, {"_id": 0, "voids": 1}, session=session
        )
    }


def set_voided(
    db: Database, session: ClientSession | None, tenant: str, ids: Iterable[str]
) -> None:
    wanted = list(ids)
    if wanted:
        db.statements.update_many(
            {"t": tenant, "id": {"$in": wanted}}, {"$set": {"voided": True}}, session=session
        )


def reference_targets(
    db: Database, session: ClientSession | None, tenant: str, ids: Sequence[str]
) -> dict[str, list[str]]:
    if not ids:
        return {}
    return {
        doc["id"]: list(doc["chain"])
        for doc in db.statements.find(
            {"t": tenant, "id": {"$in": list(ids)}}, {"_id": 0, "id": 1, "chain": 1},
            session=session,
        )
        if doc.get("chain")
    }


def reference_sources(
    db: Database, session: ClientSession | None, tenant: str, ids: Sequence[str]
) -> dict[str, list[str]]:
    if not ids:
        return {}
    wanted = set(ids)
    found: dict[str, list[str]] = {}
    for doc in db.statements.find(
        {"t": tenant, "chain": {"$in": list(wanted)}}, {"_id": 0, "id": 1, "chain": 1},
        session=session,
    ):
        for target in doc["chain"]:
            if target in wanted and target != doc["id"]:
                found.setdefault(target, []).append(doc["id"])
    return found


def add_references(
    db: Database, session: ClientSession | None, tenant: str, pairs: Sequence[tuple[str, str]]
) -> None:
    """Add each target to its source's `chain` and, when the target is stored, the
    target's own `m` entry (its first) to the source's `m`: one read of the targets, one
    bulk write of `$addToSet`s (so adding a pair twice changes nothing)."""
    if not pairs:
        return
    own = own_entries(db, session, tenant, sorted({target for _source, target in pairs}))
    chains: dict[str, list[str]] = {}
    entries: dict[str, list[dict[str, Any]]] = {}
    for source, target in pairs:
        chain = chains.setdefault(source, [])
        if target not in chain:
            chain.append(target)
        found = entries.setdefault(source, [])
        if target in own and own[target] not in found:
            found.append(own[target])
    updates = []
    for source, chain in chains.items():
        add: dict[str, Any] = {"chain": {"$each": chain}}
        if entries[source]:
            add["m"] = {"$each": entries[source]}
        updates.append(UpdateOne({"t": tenant, "id": source}, {"$addToSet": add}))
    db.statements.bulk_write(updates, ordered=False, session=session)


def agent_statement_ids(
    db: Database,
    session: ClientSession | None,
    tenant: str,
    agents: Sequence[str],
    since: str | None,
    limit: int | None,
    chains: bool,
) -> list[str]:
    """`statements_related_agent` (both voided values): every `m` entry, own or copied;
    without `chains` the own entry (the first) must hold them too."""
    query: dict[str, Any] = {
        "t": tenant, "voided": {"$in": [False, True]},
        f"m.{RELATED_AGENTS}": {"$in": list(agents)},
    }
    if not chains:
        query[f"m.0.{RELATED_AGENTS}"] = {"$in": list(agents)}
    if since is not None:
        query["k"] = {"$gte": since}
    found = db.statements.find(query, {"_id": 0, "id": 1}, session=session)
    if limit is not None:
        found = found.limit(limit)
    return [doc["id"] for doc in found]


def before(
    db: Database,
    session: ClientSession | None,
    tenant: str,
    stored: str,
    limit: int,
    after: tuple[str, str] | None,
) -> list[StoredStatement]:
    """`statements_stored` (both voided values), oldest first; `stored` bounds `k` from
    above exclusively, since every key of that instant sorts after it."""
    bounds: dict[str, str] = {"$lt": stored}
    if after is not None:
        bounds["$gt"] = paging_key(*after)
    docs = db.statements.find(
        {"t": tenant, "voided": {"$in": [False, True]}, "k": bounds}, FIELDS, session=session
    ).sort("k", ASCENDING).limit(limit)
    return [_stored(doc) for doc in docs]


def delete(db: Database, session: ClientSession | None, tenant: str, ids: Sequence[str]) -> int:
    """`Transaction.delete_statements` (module docstring): the copies first, the statement
    documents last."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return 0
    _refresh_sources(db, session, tenant, wanted, gone=set(wanted), replaced={})
    clear_pending(db, session, tenant, wanted)
    return db.statements.delete_many(
        {"t": tenant, "id": {"$in": wanted}}, session=session
    ).deleted_count


def replace(
    db: Database, session: ClientSession | None, tenant: str, records: Sequence[StatementRecord]
) -> None:
    """`Transaction.replace_statements`: the statements referring to them first, then the
    statements themselves (their own `m` entry, the first; the copies after it stay)."""
    if not records:
        return
    entries = {record.id: member(record) for record in records}
    _refresh_sources(db, session, tenant, list(entries), gone=set(), replaced=entries)
    updates = []
    for record in records:
        fields: dict[str, Any] = {"b": Binary(record.statement), "m.0": entries[record.id]}
        unset: dict[str, str] = {}
        for name, value in (
            ("v", None if record.sealed is None else Binary(record.sealed)),
            ("h", sorted(record.attachments) or None),
        ):
            if value is None:
                unset[name] = ""
            else:
                fields[name] = value
        change: dict[str, Any] = {"$set": fields}
        if unset:
            change["$unset"] = unset
        updates.append(UpdateOne({"t": tenant, "id": record.id}, change))
    db.statements.bulk_write(updates, ordered=False, session=session)


def _refresh_sources(
    db: Database,
    session: ClientSession | None,
    tenant: str,
    targets: list[str],
    *,
    gone: set[str],
    replaced: dict[str, dict[str, Any]],
) -> None:
    """Rebuild the `m` of every remaining statement whose chain reaches one of `targets`:
    its own entry, then the own entry of each statement on its reference path, `replaced`
    ones as given, up to the first one not stored or `gone` (a chain passes only through
    stored statements; `chain` itself is kept, so a statement stored again is linked
    again)."""
    sources = [
        doc
        for doc in db.statements.find(
            {"t": tenant, "chain": {"$in": targets}},
            {"_id": 0, "id": 1, "ref": 1, "chain": 1, "m": 1}, session=session,
        )
        if doc["id"] not in gone
    ]
    if not sources:
        return
    wanted = sorted({t for doc in sources for t in doc["chain"]} - gone)
    path: dict[str, tuple[dict[str, Any], str | None]] = {
        doc["id"]: (replaced.get(doc["id"], doc["m"][0]), doc.get("ref"))
        for doc in db.statements.find(
            {"t": tenant, "id": {"$in": wanted}}, {"_id": 0, "id": 1, "ref": 1, "m": 1},
            session=session,
        )
        if doc.get("m")
    }
    updates = []
    for doc in sources:
        m = [doc["m"][0]]
        seen = {doc["id"]}
        target = doc.get("ref")
        while target in path and target not in seen:
            seen.add(target)
            entry, target = path[target]
            if entry not in m:
                m.append(entry)
        updates.append(UpdateOne({"t": tenant, "id": doc["id"]}, {"$set": {"m": m}}))
    db.statements.bulk_write(updates, ordered=False, session=session)


def own_entries(
    db: Database, session: ClientSession | None, tenant: str, ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The own `m` entry (the first) of each stored statement among `ids`."""
    return {
        doc["id"]: doc["m"][0]
        for doc in db.statements.find(
            {"t": tenant, "id": {"$in": list(ids)}}, {"_id": 0, "id": 1, "m": 1},
            session=session,
        )
        if doc.get("m")
    }


def get(
    db: Database, session: ClientSession | None, tenant: str, ids: Sequence[str]
) -> dict[str, StoredStatement]:
    if not ids:
        return {}
    docs = list(
        db.statements.find({"t": tenant, "id": {"$in": list(ids)}}, FIELDS, session=session)
    )
    pending: set[str] = set()
    if docs:
        found = [doc["id"] for doc in docs]
        for marker in db.pending.find(
            {"t": tenant, "ids": {"$in": found}}, {"_id": 0, "ids": 1}, session=session
        ):
            pending.update(marker["ids"])
    return {doc["id"]: _stored(doc, doc["id"] in pending) for doc in docs}


def query(db: Database, tenant: str, query: StatementFilter, limit: int) -> list[StoredStatement]:
    if limit <= 0:
        return []
    pipeline = [*statement_pipeline(tenant, query), {"$limit": limit}, {"$project": FIELDS}]
    return [_stored(doc) for doc in db.statements.aggregate(pipeline)]


def feed(db: Database, tenant: str, after: str, limit: int, settled: str) -> FeedPage:
    """`Storage.read_feed`: statements stored before `settled` (module docstring), in `k`
    order, both values of `voided` read from `statements_stored`."""
    if limit <= 0:
        return FeedPage((), after)
    docs = list(
        db.statements.find(
            {"t": tenant, "voided": {"$in": [False, True]}, "k": {"$gt": after, "$lt": settled}},
            {**FIELDS, "k": 1},
        ).sort("k", ASCENDING).limit(limit)
    )
    if not docs:
        return FeedPage((), after)
    return FeedPage(tuple(_stored(doc) for doc in docs), docs[-1]["k"])


def count_feed(db: Database, tenant: str, after: str) -> int:
    return db.statements.count_documents(
        {"t": tenant, "voided": {"$in": [False, True]}, "k": {"$gt": after}}
    )


def explain(db: Database, tenant: str, query: StatementFilter) -> dict[str, Any]:
    """The server's plan for a query (for tests and operators checking index use)."""
    pipeline = [*statement_pipeline(tenant, query), {"$limit": 10}]
    return db.db.command(
        "explain",
        {"aggregate": db.statements.name, "pipeline": pipeline, "cursor": {}},
        verbosity="queryPlanner",
    )


def statement_pipeline(tenant: str, query: StatementFilter) -> list[dict[str, Any]]:
    """The aggregation pipeline answering a StatementFilter (shape: module docstring).

    The first `$match` names one index exactly (tenant, voided, the most selective filter,
    the `k` range); a second one applies the other filters. MongoDB merges the two and walks
    the index in `k` order; a server planning only the first stage still narrows by it.
    """
    wanted: dict[str, str] = {}
    if query.registration is not None:
        wanted[REGISTRATION] = query.registration
    if query.agent is not None:
        wanted[RELATED_AGENTS if query.related_agents else AGENTS] = query.agent
    if query.activity is not None:
        wanted[RELATED_ACTIVITIES if query.related_activities else ACTIVITIES] = query.activity
    if query.verb is not None:
        wanted[VERB] = query.verb
    indexed: dict[str, Any] = {"t": tenant, "voided": False}
    rest: dict[str, Any] = {}
    if wanted:
        field, value = next(iter(wanted.items()))
        indexed[f"m.{field}"] = value
        if len(wanted) > 1:
            rest["m"] = {"$elemMatch": wanted}
    # Writer, since, until and the cursor apply to the statement itself, not to the chain
    # member that matched.
    if query.writer is not None:
        (rest if wanted else indexed)["w"] = query.writer
    lower = query.since + _HIGH if query.since is not None else None
    upper = query.until + _HIGH if query.until is not None else None
    if query.after is not None:
        cursor = paging_key(*query.after)
        if query.ascending:
            lower = cursor if lower is None else max(lower, cursor)
        else:
            upper = cursor if upper is None else min(upper, cursor)
    bounds = {}
    if lower is not None:
        bounds["$gt"] = lower
    if upper is not None:
        bounds["$lt"] = upper
    if bounds:
        indexed["k"] = bounds
    pipeline: list[dict[str, Any]] = [{"$match": indexed}]
    if rest:
        pipeline.append({"$match": rest})
    pipeline.append({"$sort": {"k": ASCENDING if query.ascending else DESCENDING}})
    return pipeline


def _stored(doc: dict[str, Any], pending: bool = False) -> StoredStatement:
    return StoredStatement(
        id=doc["id"], statement=bytes(doc["b"]), stored=doc["stored"], voided=doc["voided"],
        voids=doc.get("voids"), writer=doc["w"],
        sealed=bytes(doc["v"]) if "v" in doc else None, pending=pending,
    )

"""The MongoDB backend (pymongo), selected by `LRS_STORAGE_URI=mongodb://...`.

The database is named by the URI path (`mongodb://host:27017/lrs`; "lrs" when the path is
empty). Every document carries the tenant id (`t`, or `tenant` for credentials) and every
index leads with it.

Connection settings all travel in the URI, so they are the driver's own
(https://pymongo.readthedocs.io/ "URI options"): credentials (`mongodb://user:pass@host/lrs?
authSource=admin`, password percent-encoded), `tls=true` (+ `tlsCAFile=...`), replica sets
(`replicaSet=rs0`, or a `mongodb+srv://` URI), `maxPoolSize` (driver default 100 per process),
`retryWrites` (default true), `w`/`journal`, `connectTimeoutMS` and
`serverSelectionTimeoutMS`. The last two default here to 5000 ms instead of the driver's 20 s
and 30 s, so a dead server is reported quickly: opening pings the server and raises
UnavailableError when it cannot be reached. The URI is never logged or put in an error.
Open the store after the server process forks its workers (gunicorn without `--preload`):
a MongoClient must not cross a fork.

Statements (collection `statements`), one document per statement:
`t` tenant, `id`, `stored`, `k` the paging key (`stored` + " " + `id`; `stored` is fixed
width, so `k` orders exactly like (stored, id) and since/until/keyset bounds become one range
on one field), `voided`, `voids`/`ref` (absent when none), `w` the writer credential, `b` the
statement JSON as BSON binary (returned byte for byte; extension keys containing "." or
starting with "$" never become field names), and the query fields:
`m` one entry per member of the statement's StatementRef chain, itself first, each
`{agents, related_agents, verb, activities, related_activities, registration}`; and `chain`
the ids of the statements its object refers to, directly or through others, found or not.
A filter other than since/until matches when one `m` entry meets all of them
(Communication 2.1.3, Filter Conditions for StatementRefs): one filter queries `m.<field>`,
several add an `$elemMatch` (`statement_pipeline`). A target stored after the statements
that refer to it pushes its entries to every statement whose `chain` names it.

Identity vault: a statement's `v`, when present, holds its sealed original agents (BSON
binary, opaque here). Collection `identities`: `{t, agent, digest, s}`, one per distinct
original agent behind a pseudonym (`s` sealed), upserted right after the statement batch is
stored (outside its transaction, see `insert_statements_with_activities`).

Activities (collection `activities`, Data 2.4.4.1, Communication 2.5): `{t, id, d, r}`, one
per activity id seen in a stored statement; `d` the canonical definition JSON as BSON binary
(extension keys are IRIs, holding "."), `r` a revision counter. Definitions are merged right
after the statement batch is stored, in their own transaction or by compare-and-set on `r`
(a lost race re-reads and merges again): inside the batch transaction, concurrent batches
naming the same activities would conflict and retry whole batches.

Indexes (created at startup, idempotently), each with the queries it serves:
- `statements_id` (t, id) unique: Data 2.4.1 id unique per tenant; get_statements, the
  duplicate check, voiding a stored target by id.
- `statements_stored` (t, voided, k): GET /statements without filters, since/until, paging.
- `statements_agent` (t, voided, m.agents, k): `agent`.
- `statements_related_agent` (t, voided, m.related_agents, k): `agent` + `related_agents`.
- `statements_verb` (t, voided, m.verb, k): `verb`.
- `statements_activity` (t, voided, m.activities, k): `activity`.
- `statements_related_activity` (t, voided, m.related_activities, k): `activity` +
  `related_activities`.
- `statements_registration` (t, voided, m.registration, k): `registration`.
- `statements_writer` (t, voided, w, k): the `statements/read/mine` scope.
- `statements_voids` (t, voids): is a newly stored statement voided by one stored earlier.
- `statements_chain` (t, chain): which stored statements wait for a newly stored target.
- `credentials_key` (key) unique: a request names its credential key before its tenant.
- `credentials_tenant` (tenant, created, _id): list_credentials.
- `documents_key` (tenant, resource, activity, agent, registration, doc_id) unique:
  Communication 2.3, 2.6, 2.7 document keys; also serves listing and deleting a scope.
- `identities_key` (t, agent, digest) unique: one vault entry per distinct original;
  get_identities.
- `attachments_key` (tenant, sha2) unique: attachment data stored once per hash (Data
  2.4.11); one attachment must fit in a 16 MB BSON document.
- `activities_id` (t, id) unique: one canonical definition per activity id (Data 2.4.4.1
  "MUST NOT treat references to the same Activity id as references to different
  Activities"); get_activities and the merge's reads and compare-and-set.

A statement batch is all or nothing: inside a transaction when the server is a replica set
member or mongos; on a standalone server an ordered insert_many whose inserted documents
are deleted again when anything in the batch fails. After a batch is written, the voiding
and StatementRef links are checked once more, which settles a target and a statement
referring to it (or voiding it) stored at the same moment by two workers.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import orjson
from bson import Binary
from pymongo import ASCENDING, DESCENDING, IndexModel, MongoClient, ReturnDocument, UpdateOne
from pymongo.errors import (
    BulkWriteError,
    ConfigurationError,
    ConnectionFailure,
    DuplicateKeyError,
    PyMongoError,
)

from storage.commands import (
    check_preconditions,
    document_etag,
    merge_definitions,
    merge_json_documents,
)
from storage.errors import DuplicateIdError, StorageError, UnavailableError
from storage.records import (
    ActivityDefinitions,
    Credential,
    Document,
    DocumentScope,
    Identity,
    StatementFilter,
    StatementRecord,
    StoredStatement,
)

if TYPE_CHECKING:
    from pymongo.client_session import ClientSession
    from pymongo.collection import Collection

__all__ = ["MongoStorage"]

DEFAULT_DATABASE = "lrs"
DEFAULT_TIMEOUT_MS = 5000
DUPLICATE_KEY = 11000
DOCUMENT_WRITE_ATTEMPTS = 100
DOCUMENT_RETRY_PAUSE_S = 0.001

# Sorts after the " " that joins stored and id in `k`, so `stored + _HIGH` bounds every key
# of that instant from above (since is exclusive, until inclusive: Communication 2.1.3).
_HIGH = "\uffff"

# Query-field names inside each `m` entry, as the filters name them.
_AGENTS, _RELATED_AGENTS, _VERB = "agents", "related_agents", "verb"
_ACTIVITIES, _RELATED_ACTIVITIES, _REGISTRATION = (
    "activities", "related_activities", "registration",
)

_STATEMENT_FIELDS = {
    "_id": 0, "id": 1, "b": 1, "stored": 1, "voided": 1, "voids": 1, "w": 1, "v": 1,
}

_STATEMENT_INDEXES = [
    IndexModel([("t", ASCENDING), ("id", ASCENDING)], name="statements_id", unique=True),
    IndexModel(
        [("t", ASCENDING), ("voided", ASCENDING), ("k", ASCENDING)], name="statements_stored"
    ),
    *(
        IndexModel(
            [("t", ASCENDING), ("voided", ASCENDING), (f"m.{field}", ASCENDING),
             ("k", ASCENDING)],
            name=f"statements_{name}",
        )
        for field, name in (
            (_AGENTS, "agent"),
            (_RELATED_AGENTS, "related_agent"),
            (_VERB, "verb"),
            (_ACTIVITIES, "activity"),
            (_RELATED_ACTIVITIES, "related_activity"),
            (_REGISTRATION, "registration"),
        )
    ),
    IndexModel(
        [("t", ASCENDING), ("voided", ASCENDING), ("w", ASCENDING), ("k", ASCENDING)],
        name="statements_writer",
    ),
    IndexModel([("t", ASCENDING), ("voids", ASCENDING)], name="statements_voids"),
    IndexModel([("t", ASCENDING), ("chain", ASCENDING)], name="statements_chain"),
]
_CREDENTIAL_INDEXES = [
    IndexModel([("key", ASCENDING)], name="credentials_key", unique=True),
    IndexModel(
        [("tenant", ASCENDING), ("created", ASCENDING), ("_id", ASCENDING)],
        name="credentials_tenant",
    ),
]
_DOCUMENT_KEY = ("tenant", "resource", "activity", "agent", "registration", "doc_id")
_DOCUMENT_INDEXES = [
    IndexModel([(f, ASCENDING) for f in _DOCUMENT_KEY], name="documents_key", unique=True),
]
_IDENTITY_INDEXES = [
    IndexModel(
        [("t", ASCENDING), ("agent", ASCENDING), ("digest", ASCENDING)],
        name="identities_key", unique=True,
    ),
]
_ATTACHMENT_INDEXES = [
    IndexModel([("tenant", ASCENDING), ("sha2", ASCENDING)], name="attachments_key", unique=True),
]
_ACTIVITY_INDEXES = [
    IndexModel([("t", ASCENDING), ("id", ASCENDING)], name="activities_id", unique=True),
]

T = TypeVar("T")


@contextmanager
def _driver_errors(action: str) -> Iterator[None]:
    """Turn pymongo exceptions into storage errors (the driver's text names no secret)."""
    try:
        yield
    except ConnectionFailure as exc:
        raise UnavailableError(f"MongoDB unreachable while trying to {action}: {exc}") from exc
    except PyMongoError as exc:
        raise StorageError(f"MongoDB failed to {action}: {exc}") from exc


def _client_options(uri: str) -> dict[str, Any]:
    """Short defaults for the timeouts the URI leaves unset (keyword arguments would
    override the URI's own values)."""
    given = {name.lower() for name in parse_qs(urlsplit(uri).query)}
    options: dict[str, Any] = {"appname": "lrs"}
    for name in ("serverSelectionTimeoutMS", "connectTimeoutMS"):
        if name.lower() not in given:
            options[name] = DEFAULT_TIMEOUT_MS
    return options


def paging_key(stored: str, statement_id: str) -> str:
    """The single-field form of the paging order (stored, id)."""
    return f"{stored} {statement_id}"


def _member(record: StatementRecord) -> dict[str, Any]:
    """The statement's own query fields: one entry of `m`. Lists are sorted so equal entries
    are equal documents (`$addToSet` then never stores one twice)."""
    entry: dict[str, Any] = {
        _AGENTS: sorted(record.agents),
        _RELATED_AGENTS: sorted(record.related_agents | record.agents),
        _VERB: record.verb,
        _ACTIVITIES: sorted(record.activities),
        _RELATED_ACTIVITIES: sorted(record.related_activities | record.activities),
    }
    if record.registration is not None:
        entry[_REGISTRATION] = record.registration
    return entry


def _unique(items: list[T]) -> list[T]:
    out: list[T] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _stored_statement(doc: dict[str, Any]) -> StoredStatement:
    return StoredStatement(
        id=doc["id"], statement=bytes(doc["b"]), stored=doc["stored"], voided=doc["voided"],
        voids=doc.get("voids"), writer=doc["w"],
        sealed=bytes(doc["v"]) if "v" in doc else None,
    )


def statement_pipeline(tenant: str, query: StatementFilter) -> list[dict[str, Any]]:
    """The aggregation pipeline answering a StatementFilter (shape: module docstring).

    The first `$match` names one index exactly (tenant, voided, the most selective filter,
    the `k` range); a second one applies the other filters. MongoDB merges the two and walks
    the index in `k` order; a server planning only the first stage still narrows by it.
    """
    member: dict[str, str] = {}
    if query.registration is not None:
        member[_REGISTRATION] = query.registration
    if query.agent is not None:
        member[_RELATED_AGENTS if query.related_agents else _AGENTS] = query.agent
    if query.activity is not None:
        member[_RELATED_ACTIVITIES if query.related_activities else _ACTIVITIES] = query.activity
    if query.verb is not None:
        member[_VERB] = query.verb
    indexed: dict[str, Any] = {"t": tenant, "voided": False}
    rest: dict[str, Any] = {}
    if member:
        field, value = next(iter(member.items()))
        indexed[f"m.{field}"] = value
        if len(member) > 1:
            rest["m"] = {"$elemMatch": member}
    # Writer, since, until and the cursor apply to the statement itself, not to the chain
    # member that matched.
    if query.writer is not None:
        (rest if member else indexed)["w"] = query.writer
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


class MongoStorage:
    """Statements, attachments, documents and credentials in one MongoDB database."""

    def __init__(self, uri: str, *, transactions: bool | None = None) -> None:
        """Connect, check the server answers, and create the indexes.

        `transactions` forces batch transactions on or off; by default they are used when
        the server is a replica set member or a mongos (a standalone mongod has none).
        """
        options = _client_options(uri)
        try:
            self._client: MongoClient[dict[str, Any]] = MongoClient(uri, **options)
        except (ConfigurationError, ValueError) as exc:
            raise StorageError(f"invalid MongoDB URI: {exc}") from exc
        try:
            with _driver_errors("connect"):
                hello = self._client.admin.command("hello")
                self._db = self._client.get_default_database(DEFAULT_DATABASE)
                self._statements: Collection[dict[str, Any]] = self._db["statements"]
                self._credentials: Collection[dict[str, Any]] = self._db["credentials"]
                self._documents: Collection[dict[str, Any]] = self._db["documents"]
                self._attachments: Collection[dict[str, Any]] = self._db["attachments"]
                self._identities: Collection[dict[str, Any]] = self._db["identities"]
                self._activities: Collection[dict[str, Any]] = self._db["activities"]
                self._statements.create_indexes(_STATEMENT_INDEXES)
                self._credentials.create_indexes(_CREDENTIAL_INDEXES)
                self._documents.create_indexes(_DOCUMENT_INDEXES)
                self._attachments.create_indexes(_ATTACHMENT_INDEXES)
                self._identities.create_indexes(_IDENTITY_INDEXES)
                self._activities.create_indexes(_ACTIVITY_INDEXES)
        except StorageError:
            self._client.close()
            raise
        if transactions is None:
            transactions = "setName" in hello or hello.get("msg") == "isdbgrid"
        self.transactions = transactions

    @property
    def database_name(self) -> str:
        return self._db.name

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> MongoStorage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _atomically(self, action: str, work: Callable[[ClientSession | None], T]) -> T:
        """Run `work` in a transaction (retried on transient conflicts) when available."""
        with _driver_errors(action):
            if not self.transactions:
                return work(None)
            with self._client.start_session() as session:
                return session.with_transaction(work)

    # -- statements: commands ------------------------------------------------------------

    def insert_statements(self, tenant: str, records: Sequence[StatementRecord]) -> None:
        self.insert_statements_with_activities(tenant, records, {})

    def insert_statements_with_activities(
        self, tenant: str, records: Sequence[StatementRecord], activities: ActivityDefinitions
    ) -> None:
        if not records:
            return
        ids = [r.id for r in records]
        repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
        if repeated:
            raise DuplicateIdError(repeated)
        inserted: list[Any] = []
        pending: set[str] = set()

        def write(session: ClientSession | None) -> None:
            self._insert(tenant, records, session, inserted, pending)

        try:
            self._atomically("store statements", write)
        except BaseException as exc:
            if not self.transactions and inserted:
                with _driver_errors("undo a failed batch"):
                    self._statements.delete_many({"_id": {"$in": inserted}})
            if isinstance(exc, DuplicateIdError):
                with _driver_errors("read statements"):
                    taken = sorted(self.get_statements(tenant, ids))
                raise DuplicateIdError(taken or exc.ids) from exc
            raise
        with _driver_errors("link stored statements"):
            self._settle(tenant, records, pending)
        # Written after the statements commit, outside the transaction: batches of other
        # workers name the same learners and activities, and inside concurrent transactions
        # those shared documents are write conflicts that retry whole batches (measured:
        # 4 concurrent clients fell from 108 to 11 statements/s, then 503). Both writes are
        # idempotent merges, so a failed batch leaves neither behind.
        self._put_identities(tenant, records)
        if activities:
            self.put_activities(tenant, activities)

    def _put_identities(self, tenant: str, records: Sequence[StatementRecord]) -> None:
        """One vault entry per distinct original agent: an upsert that only ever inserts, so
        an entry another writer created meanwhile is a duplicate key to ignore."""
        updates = [
            UpdateOne(
                {"t": tenant, "agent": i.agent, "digest": i.digest},
                {"$setOnInsert": {"s": Binary(i.sealed)}},
                upsert=True,
            )
            for r in records for i in r.identities
        ]
        if not updates:
            return
        with _driver_errors("store identities"):
            try:
                self._identities.bulk_write(updates, ordered=False)
            except BulkWriteError as exc:
                if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", ())):
                    raise

    def _insert(
        self,
        tenant: str,
        records: Sequence[StatementRecord],
        session: ClientSession | None,
        inserted: list[Any],
        pending: set[str],
    ) -> None:
        """Write the batch; `inserted` collects the _ids (statements, identities) an undo
        must delete, `pending` the referenced statements not stored yet."""
        inserted.clear()  # a retried transaction starts over
        pending.clear()
        by_id = {r.id: r for r in records}
        outside = list({r.ref for r in records if r.ref is not None and r.ref not in by_id})
        known = self._links(tenant, outside, session) if outside else {}
        links = _resolve_chains(by_id, known)
        for _members, chain in links.values():
            pending.update(i for i in chain if i not in by_id and i not in known)
        voided = {r.voids for r in records if r.voids in by_id}
        voided.update(self._voided_by_stored(tenant, list(by_id), session))
        docs = []
        for r in records:
            members, chain = links[r.id]
            doc: dict[str, Any] = {
                "t": tenant, "id": r.id, "stored": r.stored, "k": paging_key(r.stored, r.id),
                # Data 2.3.2: a voiding statement is never itself voided.
                "voided": r.id in voided and r.voids is None, "w": r.writer, "m": members,
                "b": Binary(r.statement),
            }
            if r.ref is not None:
                doc["ref"] = r.ref
                doc["chain"] = chain
            if r.voids is not None:
                doc["voids"] = r.voids
            if r.sealed is not None:
                doc["v"] = Binary(r.sealed)
            docs.append(doc)
        try:
            self._statements.insert_many(docs, ordered=True, session=session)
        except BulkWriteError as exc:
            inserted.extend(d["_id"] for d in docs[: exc.details.get("nInserted", 0)])
            errors = exc.details.get("writeErrors", ())
            taken = [e["keyValue"]["id"] for e in errors
                     if e.get("code") == DUPLICATE_KEY and "id" in e.get("keyValue", {})]
            if taken:
                raise DuplicateIdError(taken) from exc
            raise
        inserted.extend(d["_id"] for d in docs)
        self._void_stored(
            tenant, [r.voids for r in records if r.voids is not None and r.voids not in by_id],
            session,
        )
        self._propagate(tenant, list(by_id), session, links)

    def _links(
        self, tenant: str, ids: list[str], session: ClientSession | None
    ) -> dict[str, tuple[list[dict[str, Any]], list[str]]]:
        """The stored `m` entries and `chain` of the statements among `ids`."""
        return {
            doc["id"]: (doc["m"], doc.get("chain", []))
            for doc in self._statements.find(
                {"t": tenant, "id": {"$in": ids}}, {"_id": 0, "id": 1, "m": 1, "chain": 1},
                session=session,
            )
        }

    def _voided_by_stored(
        self, tenant: str, ids: list[str], session: ClientSession | None
    ) -> set[str]:
        return {
            doc["voids"]
            for doc in self._statements.find(
                {"t": tenant, "voids": {"$in": ids}}, {"_id": 0, "voids": 1}, session=session
            )
        }

    def _void_stored(self, tenant: str, targets: list[str], session: ClientSession | None) -> None:
        """Mark stored targets voided, except voiding statements (Data 2.3.2)."""
        if not targets:
            return
        to_void = [
            doc["_id"]
            for doc in self._statements.find(
                {"t": tenant, "id": {"$in": targets}}, {"_id": 1, "voids": 1, "voided": 1},
                session=session,
            )
            if "voids" not in doc and not doc["voided"]
        ]
        if to_void:
            self._statements.update_many(
                {"_id": {"$in": to_void}}, {"$set": {"voided": True}}, session=session
            )

    def _propagate(
        self,
        tenant: str,
        targets: list[str],
        session: ClientSession | None,
        links: dict[str, tuple[list[dict[str, Any]], list[str]]] | None = None,
    ) -> None:
        """Hand the query fields of the statements `targets` to the stored statements whose
        reference chain names them (a target arriving after its referrers). Statements of
        `targets` themselves are complete already and skipped; `links` saves reading the
        targets' own fields back."""
        names = set(targets)
        waiting = [
            doc
            for doc in self._statements.find(
                {"t": tenant, "chain": {"$in": targets}}, {"_id": 1, "id": 1, "chain": 1},
                session=session,
            )
            if doc["id"] not in names
        ]
        if not waiting:
            return
        if links is None:
            needed = {i for doc in waiting for i in doc["chain"] if i in names}
            links = self._links(tenant, sorted(needed), session)
        for doc in waiting:
            members: list[dict[str, Any]] = []
            chain: list[str] = []
            for target in doc["chain"]:
                if target in names and target in links:
                    members.extend(links[target][0])
                    chain.extend(links[target][1])
            if members:
                self._statements.update_one(
                    {"_id": doc["_id"]},
                    {"$addToSet": {"m": {"$each": members}, "chain": {"$each": chain}}},
                    session=session,
                )

    def _settle(
        self, tenant: str, records: Sequence[StatementRecord], pending: set[str]
    ) -> None:
        """Check voiding and reference links again once the batch is committed.

        Two workers storing a target and a statement referring to (or voiding) it at the
        same moment each miss the other inside their own transaction; run after the
        commit, this check by one of the two is sure to see the other. Every step is
        idempotent, and costs two indexed reads when nothing is missing.
        """
        ids = [r.id for r in records]
        voided = self._voided_by_stored(tenant, ids, None)
        voided.update(r.voids for r in records if r.voids is not None)
        self._void_stored(tenant, sorted(voided), None)
        self._propagate(tenant, ids, None)
        if pending:
            arrived = sorted(self.get_statements(tenant, sorted(pending)))
            if arrived:
                self._propagate(tenant, arrived, None)

    # -- statements: queries -------------------------------------------------------------

    def get_statements(self, tenant: str, ids: Sequence[str]) -> dict[str, StoredStatement]:
        if not ids:
            return {}
        with _driver_errors("read statements"):
            docs = self._statements.find(
                {"t": tenant, "id": {"$in": list(ids)}}, _STATEMENT_FIELDS
            )
            return {doc["id"]: _stored_statement(doc) for doc in docs}

    def query_statements(
        self, tenant: str, query: StatementFilter, limit: int
    ) -> list[StoredStatement]:
        if limit <= 0:
            return []
        pipeline = [
            *statement_pipeline(tenant, query), {"$limit": limit}, {"$project": _STATEMENT_FIELDS}
        ]
        with _driver_errors("query statements"):
            return [_stored_statement(doc) for doc in self._statements.aggregate(pipeline)]

    def get_identities(self, tenant: str, agent: str) -> list[Identity]:
        with _driver_errors("read identities"):
            docs = self._identities.find(
                {"t": tenant, "agent": agent}, {"_id": 0, "digest": 1, "s": 1},
                sort=[("digest", ASCENDING)],
            )
            return [Identity(agent=agent, digest=d["digest"], sealed=bytes(d["s"])) for d in docs]

    def explain_statement_query(self, tenant: str, query: StatementFilter) -> dict[str, Any]:
        """The server's plan for a query (for tests and operators checking index use)."""
        pipeline = [*statement_pipeline(tenant, query), {"$limit": 10}]
        with _driver_errors("explain a query"):
            return self._db.command(
                "explain", {"aggregate": self._statements.name, "pipeline": pipeline,
                            "cursor": {}},
                verbosity="queryPlanner",
            )

    # -- activities ----------------------------------------------------------------------

    def put_activities(self, tenant: str, activities: ActivityDefinitions) -> None:
        if not activities:
            return
        for attempt in range(DOCUMENT_WRITE_ATTEMPTS):
            if self._atomically(
                "store activities",
                lambda session: self._merge_activities(tenant, activities, session),
            ):
                return
            time.sleep(DOCUMENT_RETRY_PAUSE_S * min(attempt + 1, 20))
        raise StorageError("could not store activities: they kept changing under other writers")

    def get_activities(self, tenant: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        with _driver_errors("read activities"):
            docs = self._activities.find(
                {"t": tenant, "id": {"$in": list(ids)}}, {"_id": 0, "id": 1, "d": 1}
            )
            return {doc["id"]: orjson.loads(doc["d"]) for doc in docs}

    def _merge_activities(
        self, tenant: str, activities: ActivityDefinitions, session: ClientSession | None
    ) -> bool:
        """One read of the stored activities, then writes of only what changes: new ids
        inserted, changed definitions set by compare-and-set on `r`. False when another
        writer got there between the read and a write (only without a transaction: inside
        one the server reports a write conflict and the transaction is retried)."""
        stored = {
            doc["id"]: doc
            for doc in self._activities.find(
                {"t": tenant, "id": {"$in": list(activities)}},
                {"_id": 0, "id": 1, "d": 1, "r": 1}, session=session,
            )
        }
        new: list[dict[str, Any]] = []
        changed: list[UpdateOne] = []
        for activity_id, definitions in activities.items():
            doc = stored.get(activity_id)
            if doc is None:
                definition = merge_definitions({}, definitions)
                new.append({"t": tenant, "id": activity_id,
                            "d": Binary(orjson.dumps(definition)), "r": 0})
            elif definitions:
                before = orjson.loads(doc["d"])
                after = merge_definitions(before, definitions)
                if after != before:
                    changed.append(UpdateOne(
                        {"t": tenant, "id": activity_id, "r": doc["r"]},
                        {"$set": {"d": Binary(orjson.dumps(after))}, "$inc": {"r": 1}},
                    ))
        if new:
            try:
                self._activities.insert_many(new, ordered=False, session=session)
            except BulkWriteError as exc:
                if session is not None or not _is_duplicate_key(exc):
                    raise
                return False
        if changed:
            result = self._activities.bulk_write(changed, ordered=False, session=session)
            if result.matched_count < len(changed):
                return False
        return True

    # -- credentials ---------------------------------------------------------------------

    def put_credential(self, credential: Credential) -> None:
        fields = {
            "secret_hash": credential.secret_hash, "name": credential.name,
            "scopes": list(credential.scopes), "authority": credential.authority,
            "tenant": credential.tenant, "created": credential.created,
            "revoked": credential.revoked,
        }
        with _driver_errors("store a credential"):
            self._credentials.update_one({"key": credential.key}, {"$set": fields}, upsert=True)

    def get_credential(self, key: str) -> Credential | None:
        with _driver_errors("read a credential"):
            doc = self._credentials.find_one({"key": key})
        return None if doc is None else _credential(doc)

    def list_credentials(self, tenant: str | None = None) -> list[Credential]:
        flt = {} if tenant is None else {"tenant": tenant}
        with _driver_errors("list credentials"):
            docs = self._credentials.find(flt).sort([("created", ASCENDING), ("_id", ASCENDING)])
            return [_credential(doc) for doc in docs]

    # -- attachments ---------------------------------------------------------------------

    def put_attachments(self, tenant: str, items: Mapping[str, tuple[str, bytes]]) -> None:
        if not items:
            return
        writes = [
            UpdateOne(
                {"tenant": tenant, "sha2": sha2.lower()},
                {"$setOnInsert": {"content_type": content_type, "content": Binary(data)}},
                upsert=True,
            )
            for sha2, (content_type, data) in items.items()
        ]
        for attempt in range(2):
            try:
                self._atomically(
                    "store attachments",
                    lambda session: self._attachments.bulk_write(writes, session=session),
                )
                return
            except StorageError as exc:
                # Two writers inserting the same new hash: the retry finds it stored.
                if attempt or not _is_duplicate_key(exc.__cause__):
                    raise

    def get_attachments(
        self, tenant: str, sha2s: Sequence[str]
    ) -> dict[str, tuple[str, bytes]]:
        if not sha2s:
            return {}
        with _driver_errors("read attachments"):
            docs = self._attachments.find(
                {"tenant": tenant, "sha2": {"$in": [s.lower() for s in sha2s]}},
                {"_id": 0, "sha2": 1, "content_type": 1, "content": 1},
            )
            return {doc["sha2"]: (doc["content_type"], bytes(doc["content"])) for doc in docs}

    # -- documents (State, Activity Profile, Agent Profile) ------------------------------

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
        key = _document_key(tenant, scope, doc_id)

        def write(session: ClientSession | None) -> Document:
            current = self._current_document(key, session)
            check_preconditions(current, if_match=if_match, if_none_match=if_none_match)
            body, kind = content, content_type
            if merge and current is not None:
                body = merge_json_documents(current, content, content_type)
                kind = current.content_type
            document = Document(doc_id, body, kind, document_etag(body), updated)
            fields = {
                "content": Binary(body), "content_type": kind, "etag": document.etag,
                "updated": updated,
            }
            if current is None:
                self._documents.insert_one({**key, **fields}, session=session)
            else:
                # Compare-and-set on the ETag read above: without a transaction a concurrent
                # writer makes this match nothing, and the precondition is re-checked.
                done = self._documents.find_one_and_update(
                    {**key, "etag": current.etag}, {"$set": fields}, session=session,
                    return_document=ReturnDocument.AFTER, projection={"_id": 1},
                )
                if done is None:
                    raise _ChangedMeanwhileError
            return document

        return self._document_write("store a document", write)

    def get_document(self, tenant: str, scope: DocumentScope, doc_id: str) -> Document | None:
        with _driver_errors("read a document"):
            return self._current_document(_document_key(tenant, scope, doc_id), None)

    def list_documents(
        self, tenant: str, scope: DocumentScope, since: str | None = None
    ) -> dict[str, str]:
        latest: dict[str, str] = {}
        with _driver_errors("list documents"):
            for doc in self._documents.find(
                _scope_filter(tenant, scope), {"_id": 0, "doc_id": 1, "updated": 1}
            ):
                if doc["updated"] > latest.get(doc["doc_id"], ""):
                    latest[doc["doc_id"]] = doc["updated"]
        # `since` is applied here, so the query stays a prefix of `documents_key`.
        return {
            doc_id: updated
            for doc_id, updated in sorted(latest.items())
            if since is None or updated > since
        }

    def delete_document(
        self,
        tenant: str,
        scope: DocumentScope,
        doc_id: str,
        *,
        if_match: Sequence[str] | None = None,
        if_none_match: Sequence[str] | None = None,
    ) -> bool:
        key = _document_key(tenant, scope, doc_id)

        def delete(session: ClientSession | None) -> bool:
            current = self._current_document(key, session)
            check_preconditions(current, if_match=if_match, if_none_match=if_none_match)
            if current is None:
                return False
            done = self._documents.delete_one({**key, "etag": current.etag}, session=session)
            if done.deleted_count == 0:
                raise _ChangedMeanwhileError
            return True

        return self._document_write("delete a document", delete)

    def delete_documents(self, tenant: str, scope: DocumentScope) -> int:
        with _driver_errors("delete documents"):
            return self._documents.delete_many(_scope_filter(tenant, scope)).deleted_count

    def _current_document(
        self, key: dict[str, str], session: ClientSession | None
    ) -> Document | None:
        doc = self._documents.find_one(key, session=session)
        if doc is None:
            return None
        return Document(
            doc["doc_id"], bytes(doc["content"]), doc["content_type"], doc["etag"],
            doc["updated"],
        )

    def _document_write(self, action: str, work: Callable[[ClientSession | None], T]) -> T:
        """Read-check-write atomically: in a transaction, or by compare-and-set; retried
        when another writer changed the document between the read and the write."""
        for attempt in range(DOCUMENT_WRITE_ATTEMPTS):
            try:
                return self._atomically(action, work)
            except _ChangedMeanwhileError:
                pass
            except StorageError as exc:
                # Two creators of one new document: the loser re-reads and re-checks.
                if not _is_duplicate_key(exc.__cause__):
                    raise
            # Every lost race is another writer's success; backing off lets the slow win too.
            time.sleep(DOCUMENT_RETRY_PAUSE_S * min(attempt + 1, 20))
        raise StorageError(f"could not {action}: it kept changing under concurrent writers")


def _is_duplicate_key(exc: BaseException | None) -> bool:
    if isinstance(exc, DuplicateKeyError):
        return True
    return isinstance(exc, BulkWriteError) and any(
        e.get("code") == DUPLICATE_KEY for e in exc.details.get("writeErrors", ())
    )


class _ChangedMeanwhileError(StorageError):
    """A compare-and-set found the document changed since it was read."""


def _resolve_chains(
    by_id: dict[str, StatementRecord],
    known: dict[str, tuple[list[dict[str, Any]], list[str]]],
) -> dict[str, tuple[list[dict[str, Any]], list[str]]]:
    """Each record's `m` entries and `chain`, following StatementRefs through the batch and
    the stored targets in `known` (cycles are cut where they close)."""
    links: dict[str, tuple[list[dict[str, Any]], list[str]]] = {}

    def resolve(rid: str, path: frozenset[str]) -> tuple[list[dict[str, Any]], list[str]]:
        if rid in links:
            return links[rid]
        record = by_id[rid]
        members, chain = [_member(record)], []
        target = record.ref
        if target is not None:
            chain.append(target)
            if target in by_id and target not in path:
                more = resolve(target, path | {rid})
            else:
                more = known.get(target, ([], []))
            members.extend(more[0])
            chain.extend(more[1])
        links[rid] = (_unique(members), _unique(chain))
        return links[rid]

    for rid in by_id:
        resolve(rid, frozenset())
    return links


def _credential(doc: dict[str, Any]) -> Credential:
    return Credential(
        key=doc["key"], secret_hash=doc["secret_hash"], name=doc["name"],
        scopes=tuple(doc["scopes"]), authority=doc["authority"], tenant=doc["tenant"],
        created=doc["created"], revoked=doc["revoked"],
    )


def _document_key(tenant: str, scope: DocumentScope, doc_id: str) -> dict[str, str]:
    return {
        "tenant": tenant, "resource": scope.resource, "activity": scope.activity,
        "agent": scope.agent, "registration": scope.registration or "", "doc_id": doc_id,
    }


def _scope_filter(tenant: str, scope: DocumentScope) -> dict[str, Any]:
    flt: dict[str, Any] = {
        "tenant": tenant, "resource": scope.resource, "activity": scope.activity,
        "agent": scope.agent,
    }
    if scope.registration is not None:
        flt["registration"] = scope.registration
    return flt

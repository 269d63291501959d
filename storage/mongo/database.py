"""The MongoDB database: the client, the collections and their indexes, the write
transaction, and the mapping of driver errors.

The database is named by the URI path (`mongodb://host:27017/lrs`; "lrs" when the path is
empty). Every document carries the tenant id (`t`, or `tenant` for credentials, documents
and attachments) and every index leads with it.

Connection settings all travel in the URI, so they are the driver's own
(https://pymongo.readthedocs.io/ "URI options"): credentials (`mongodb://user:pass@host/lrs?
authSource=admin`, password percent-encoded), `tls=true` (+ `tlsCAFile=...`), replica sets
(`replicaSet=rs0`, or a `mongodb+srv://` URI), `maxPoolSize` (driver default 100 per process),
`retryWrites` (default true), `w`/`journal`, `connectTimeoutMS` and
`serverSelectionTimeoutMS`. The last two default here to 5000 ms instead of the driver's 20 s
and 30 s, so a dead server is reported quickly: opening pings the server and raises
UnavailableError when it cannot be reached. The URI is never logged or put in an error (its
password is also cut out of the driver's messages). Open the store after the server process
forks its workers (gunicorn without `--preload`): a MongoClient must not cross a fork.

Collections (the layout of each is in its resource module): `statements`
(`storage.mongo.statements`), `identities` and `erased`, `activities`, `documents`, `attachments`,
`credentials`, `pending` (markers of batches whose deferred step is not done), `tenants`
(`storage.mongo.tenants`), `audit` (`storage.mongo.audit`), `agreements`
(`storage.mongo.agreements`), `sync` and `erasures` (`storage.mongo.sync`: added without a
layout change, their indexes made at startup), `report_facts` (`storage.mongo.reports`) and
`meta`, whose document `{_id: "schema", version}` records the layout:

    1  (no `meta`) statements, identities, activities, documents, attachments, credentials
    2  + tenants and the audit log: on opening a layout-1 database, a tenant document
       following the configuration is made for the default tenant and each tenant with data
       or credentials. Every step is an idempotent upsert and the version is written last, so
       a migration interrupted at any point is finished by the next start, and one run twice
       finds nothing to do. A database of a newer layout is refused.
    3  + `h` on each statement with attachments (the sha2 of each: which attachment data it
       refers to), set from the stored statements; same idempotent steps, version last.
       `erased` (marks of erased learners a tenant refuses) starts empty.
    4  + report facts: the facts of every live statement stored before are computed from it
       (`storage.mongo.reports.backfill`, which replaces a chunk's facts, so a run
       interrupted and run again gives the same facts); the version is written last.

Agreements, and the `agreement` field of a credential, came later without a new layout: a
collection is made when first written, and a credential without the field is bound to no
agreement, which is what every credential stored before was.

Indexes (created at startup, idempotently), each with the queries it serves:
- `statements_id` (t, id) unique: Data 2.4.1 id unique per tenant; get_statements, the
  duplicate check, voiding a stored target by id.
- `statements_stored` (t, voided, k): GET /statements without filters, since/until, paging;
  the statement feed (both values of `voided`, merged in `k` order).
- `statements_agent` (t, voided, m.agents, k): `agent`.
- `statements_related_agent` (t, voided, m.related_agents, k): `agent` + `related_agents`.
- `statements_verb` (t, voided, m.verb, k): `verb`.
- `statements_activity` (t, voided, m.activities, k): `activity`.
- `statements_related_activity` (t, voided, m.related_activities, k): `activity` +
  `related_activities`.
- `statements_registration` (t, voided, m.registration, k): `registration`.
- `statements_writer` (t, voided, w, k): the `statements/read/mine` scope.
- `statements_voids` (t, voids): is a newly stored statement voided by one stored earlier
  (`voided_targets`).
- `statements_chain` (t, chain): which stored statements wait for a newly stored target
  (`reference_sources`).
- `statements_attachments` (t, h), only statements with `h`: whether a remaining statement
  still refers to attachment data (erasure, retention).
- `credentials_key` (key) unique: a request names its credential key before its tenant.
- `credentials_tenant` (tenant, created, _id): list_credentials.
- `documents_key` (tenant, resource, activity, agent, registration, doc_id) unique:
  Communication 2.3, 2.6, 2.7 document keys; also serves listing and deleting a scope.
- `documents_agent` (tenant, agent): a learner's documents (erasure).
- `documents_updated` (tenant, updated): documents not updated since a cut-off (retention).
- `identities_key` (t, agent, digest) unique: one vault entry per distinct original;
  get_identities.
- `erased_key` (t, m) unique: the marks of erased learners a tenant refuses (erasure,
  ingest).
- `attachments_key` (tenant, sha2) unique: attachment data stored once per hash (Data
  2.4.11); one attachment must fit in a 16 MB BSON document.
- `activities_id` (t, id) unique: one canonical definition per activity id (Data 2.4.4.1
  "MUST NOT treat references to the same Activity id as references to different
  Activities"); get_activities and the merge's reads and compare-and-set.
- `pending_ids` (t, ids): which statements a get finds pending; clearing them.
- `tenants_name` (name) unique: a tenant name is taken once; get_tenant, list_tenants.
- `audit_seq` (t, seq) unique: one entry per position of a tenant's chain; the newest
  entry, reading in order.
- `agreements_id` (t, id) unique: one agreement per id in a tenant; get_agreement.
- `agreements_created` (t, created, id): list_agreements, oldest first.
- `sync_target` (t, target) unique: one forwarding state per tenant and central LRS.
- `erasures_seq` (t, seq) unique: one entry per position of the erasure list; reading it
  in order. `erasures_agent` (t, agent) unique: an agent is listed once; which agents of a
  batch are listed.
- `report_facts_course` (t, c, l): a course's learners in order (progress), its modules.
- `report_facts_time` (t, ts): the indicators' window; each learner's first statement.
- `report_facts_statement` (t, s): deleting a statement's facts (voiding, erasure).

A write (`Database.atomically`) is all or nothing: inside a session transaction run by
`with_transaction` (which runs it again after a transient write conflict) when the server
is a replica set member or a mongos; on a standalone server, which has no transactions, the
work runs without a session and the statements it inserted are deleted again if it raises
("ordered insert undone on failure"). Only the inserted statements are undone, as before
this package: the other writes of a batch (StatementRef links, voided flags) are made after
its insert by idempotent updates, so a batch failing after them leaves at most a statement
referring to one of its statements with that statement's query fields (or its target
voided) until the client re-sends the batch, which stores its statements again. Every write
outside a batch is a single-document compare-and-set or an idempotent upsert.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import orjson
from bson import Binary
from bson.errors import BSONError
from pymongo import ASCENDING, IndexModel, MongoClient, UpdateOne
from pymongo.errors import (
    BulkWriteError,
    ConfigurationError,
    ConnectionFailure,
    DuplicateKeyError,
    PyMongoError,
)

from statements import attachment_hashes, stored_timestamp
from storage.errors import StorageError, UnavailableError
from storage.mongo import reports

if TYPE_CHECKING:
    from bson import ObjectId
    from pymongo.client_session import ClientSession
    from pymongo.collection import Collection

T = TypeVar("T")

DEFAULT_DATABASE = "lrs"
DEFAULT_TIMEOUT_MS = 5000
DUPLICATE_KEY = 11000

# Query-field names inside each `m` entry of a statement, as the filters name them.
AGENTS, RELATED_AGENTS, VERB = "agents", "related_agents", "verb"
ACTIVITIES, RELATED_ACTIVITIES, REGISTRATION = (
    "activities", "related_activities", "registration",
)

_DOCUMENT_KEY = ("tenant", "resource", "activity", "agent", "registration", "doc_id")

INDEXES: dict[str, list[IndexModel]] = {
    "statements": [
        IndexModel([("t", ASCENDING), ("id", ASCENDING)], name="statements_id", unique=True),
        IndexModel(
            [("t", ASCENDING), ("voided", ASCENDING), ("k", ASCENDING)],
            name="statements_stored",
        ),
        *(
            IndexModel(
                [("t", ASCENDING), ("voided", ASCENDING), (f"m.{field}", ASCENDING),
                 ("k", ASCENDING)],
                name=f"statements_{name}",
            )
            for field, name in (
                (AGENTS, "agent"),
                (RELATED_AGENTS, "related_agent"),
                (VERB, "verb"),
                (ACTIVITIES, "activity"),
                (RELATED_ACTIVITIES, "related_activity"),
                (REGISTRATION, "registration"),
            )
        ),
        IndexModel(
            [("t", ASCENDING), ("voided", ASCENDING), ("w", ASCENDING), ("k", ASCENDING)],
            name="statements_writer",
        ),
        IndexModel([("t", ASCENDING), ("voids", ASCENDING)], name="statements_voids"),
        IndexModel([("t", ASCENDING), ("chain", ASCENDING)], name="statements_chain"),
        IndexModel(
            [("t", ASCENDING), ("h", ASCENDING)], name="statements_attachments",
            partialFilterExpression={"h": {"$exists": True}},
        ),
    ],
    "credentials": [
        IndexModel([("key", ASCENDING)], name="credentials_key", unique=True),
        IndexModel(
            [("tenant", ASCENDING), ("created", ASCENDING), ("_id", ASCENDING)],
            name="credentials_tenant",
        ),
    ],
    "documents": [
        IndexModel(
            [(field, ASCENDING) for field in _DOCUMENT_KEY], name="documents_key", unique=True
        ),
        IndexModel([("tenant", ASCENDING), ("agent", ASCENDING)], name="documents_agent"),
        IndexModel([("tenant", ASCENDING), ("updated", ASCENDING)], name="documents_updated"),
    ],
    "identities": [
        IndexModel(
            [("t", ASCENDING), ("agent", ASCENDING), ("digest", ASCENDING)],
            name="identities_key", unique=True,
        ),
    ],
    "erased": [
        IndexModel([("t", ASCENDING), ("m", ASCENDING)], name="erased_key", unique=True),
    ],
    "attachments": [
        IndexModel(
            [("tenant", ASCENDING), ("sha2", ASCENDING)], name="attachments_key", unique=True
        ),
    ],
    "activities": [
        IndexModel([("t", ASCENDING), ("id", ASCENDING)], name="activities_id", unique=True),
    ],
    "pending": [
        IndexModel([("t", ASCENDING), ("ids", ASCENDING)], name="pending_ids"),
    ],
    "tenants": [
        IndexModel([("name", ASCENDING)], name="tenants_name", unique=True),
    ],
    "audit": [
        IndexModel([("t", ASCENDING), ("seq", ASCENDING)], name="audit_seq", unique=True),
    ],
    "agreements": [
        IndexModel([("t", ASCENDING), ("id", ASCENDING)], name="agreements_id", unique=True),
        IndexModel(
            [("t", ASCENDING), ("created", ASCENDING), ("id", ASCENDING)],
            name="agreements_created",
        ),
    ],
    "sync": [
        IndexModel([("t", ASCENDING), ("target", ASCENDING)], name="sync_target", unique=True),
    ],
    "erasures": [
        IndexModel([("t", ASCENDING), ("seq", ASCENDING)], name="erasures_seq", unique=True),
        IndexModel(
            [("t", ASCENDING), ("agent", ASCENDING)], name="erasures_agent", unique=True
        ),
    ],
    "report_facts": [
        IndexModel(
            [("t", ASCENDING), ("c", ASCENDING), ("l", ASCENDING)], name="report_facts_course"
        ),
        IndexModel([("t", ASCENDING), ("ts", ASCENDING)], name="report_facts_time"),
        IndexModel([("t", ASCENDING), ("s", ASCENDING)], name="report_facts_statement"),
    ],
}

SCHEMA_VERSION = 4
_MIGRATION_BATCH = 1000
DEFAULT_TENANT = "default"


def client_options(uri: str) -> dict[str, Any]:
    """Short defaults for the timeouts the URI leaves unset (keyword arguments would
    override the URI's own values)."""
    given = {name.lower() for name in parse_qs(urlsplit(uri).query)}
    options: dict[str, Any] = {"appname": "lrs"}
    for name in ("serverSelectionTimeoutMS", "connectTimeoutMS"):
        if name.lower() not in given:
            options[name] = DEFAULT_TIMEOUT_MS
    return options


def _secrets(uri: str) -> list[str]:
    """The texts an error message must never show: the URI and its password, as written
    and decoded."""
    found = [uri]
    try:
        netloc = urlsplit(uri).netloc
    except ValueError:
        netloc = uri.partition("://")[2].partition("/")[0]
    userinfo, at, _hosts = netloc.rpartition("@")
    if at and ":" in userinfo:
        password = userinfo.split(":", 1)[1]
        found += [password, unquote(password)]
    return sorted({s for s in found if s}, key=len, reverse=True)


def is_duplicate_key(exc: BaseException | None) -> bool:
    """Whether a driver error is (only or also) a unique-index violation."""
    if isinstance(exc, DuplicateKeyError):
        return True
    return isinstance(exc, BulkWriteError) and any(
        e.get("code") == DUPLICATE_KEY for e in exc.details.get("writeErrors", ())
    )


def only_duplicate_keys(exc: BulkWriteError) -> bool:
    """Whether every failed write of a bulk write is a unique-index violation."""
    errors = exc.details.get("writeErrors", ())
    return not exc.details.get("writeConcernErrors") and all(
        e.get("code") == DUPLICATE_KEY for e in errors
    )


class Write:
    """One run of the work given to `Database.atomically`: its session (None without
    transactions), what it is doing (named in a driver error) and the `_id`s of the
    statements and report facts it inserted (deleted again if it fails without a
    transaction)."""

    __slots__ = ("action", "inserted", "inserted_facts", "session")

    def __init__(self, session: ClientSession | None) -> None:
        self.session = session
        self.action = "write"
        self.inserted: list[ObjectId] = []
        self.inserted_facts: list[ObjectId] = []

    def doing(self, action: str) -> ClientSession | None:
        """Record `action` as what this write is doing now; its session."""
        self.action = action
        return self.session


class Database:
    """The client, the database the URI names and its collections."""

    def __init__(self, uri: str, *, transactions: bool | None = None) -> None:
        """Connect, check the server answers, and create the indexes.

        `transactions` forces write transactions on or off; by default they are used when
        the server is a replica set member or a mongos (a standalone mongod has none).
        """
        self._secrets = _secrets(uri)
        try:
            self.client: MongoClient[dict[str, Any]] = MongoClient(uri, **client_options(uri))
        except (ConfigurationError, ValueError, TypeError) as exc:
            raise StorageError(f"invalid MongoDB URI: {self.redact(str(exc))}") from None
        try:
            with self.errors("connect"):
                hello = self.client.admin.command("hello")
                self.db = self.client.get_default_database(DEFAULT_DATABASE)
                self.statements: Collection[dict[str, Any]] = self.db["statements"]
                self.identities: Collection[dict[str, Any]] = self.db["identities"]
                self.erased: Collection[dict[str, Any]] = self.db["erased"]
                self.activities: Collection[dict[str, Any]] = self.db["activities"]
                self.documents: Collection[dict[str, Any]] = self.db["documents"]
                self.attachments: Collection[dict[str, Any]] = self.db["attachments"]
                self.credentials: Collection[dict[str, Any]] = self.db["credentials"]
                self.pending: Collection[dict[str, Any]] = self.db["pending"]
                self.tenants: Collection[dict[str, Any]] = self.db["tenants"]
                self.audit: Collection[dict[str, Any]] = self.db["audit"]
                self.agreements: Collection[dict[str, Any]] = self.db["agreements"]
                self.sync: Collection[dict[str, Any]] = self.db["sync"]
                self.erasures: Collection[dict[str, Any]] = self.db["erasures"]
                self.report_facts: Collection[dict[str, Any]] = self.db["report_facts"]
                for name, indexes in INDEXES.items():
                    self.db[name].create_indexes(indexes)
            self._migrate()
        except StorageError:
            self.client.close()
            raise
        if transactions is None:
            transactions = "setName" in hello or hello.get("msg") == "isdbgrid"
        self.transactions = transactions

    def _migrate(self) -> None:
        """Bring a database of an earlier layout to `SCHEMA_VERSION` (module docstring)."""
        meta = self.db["meta"]
        with self.errors("read the layout version"):
            found = meta.find_one({"_id": "schema"})
            version = 1 if found is None else int(found["version"])
        if version > SCHEMA_VERSION:
            self.client.close()
            raise StorageError(
                f"the MongoDB database {self.db.name} has layout {version}; this LRS reads"
                f" layout {SCHEMA_VERSION} and migrates the earlier ones"
            )
        if version == SCHEMA_VERSION:
            return
        if version < 2:
            self._add_tenants()
        if version < 3:
            with self.errors("migrate to layout 3"):
                self._index_attachments()
        with self.errors("migrate to layout 4"):
            reports.backfill(self)
            meta.update_one(
                {"_id": "schema"}, {"$set": {"version": SCHEMA_VERSION}}, upsert=True
            )

    def _add_tenants(self) -> None:
        """1 -> 2: a tenant document, following the configuration, for the default tenant
        and every tenant with data or credentials."""
        with self.errors("migrate to layout 2"):
            names = {DEFAULT_TENANT}
            for collection, field in (
                ("credentials", "tenant"), ("statements", "t"), ("documents", "tenant"),
                ("attachments", "tenant"), ("activities", "t"),
            ):
                names.update(self.db[collection].distinct(field))
            now = stored_timestamp(datetime.now(UTC))
            for name in sorted(names):  # following the configuration: an empty policy
                self.tenants.update_one(
                    {"name": name},
                    {"$setOnInsert": {"display_name": name, "policy": Binary(b"{}"),
                                      "created": now, "updated": now, "revision": 0}},
                    upsert=True,
                )

    def _index_attachments(self) -> None:
        """2 -> 3: `h` on the statements stored with attachments (a scan, once)."""
        updates = []
        for doc in self.statements.find({"h": {"$exists": False}}, {"_id": 1, "b": 1}):
            raw = bytes(doc["b"])
            hashes = attachment_hashes(orjson.loads(raw)) if b'"attachments"' in raw else []
            if hashes:
                updates.append(UpdateOne({"_id": doc["_id"]}, {"$set": {"h": sorted(hashes)}}))
            if len(updates) == _MIGRATION_BATCH:
                self.statements.bulk_write(updates, ordered=False)
                updates = []
        if updates:
            self.statements.bulk_write(updates, ordered=False)

    @property
    def name(self) -> str:
        return self.db.name

    def redact(self, text: str) -> str:
        """`text` without the URI or its password."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    @contextmanager
    def errors(self, action: str) -> Iterator[None]:
        """Turn driver exceptions into storage errors naming `action`."""
        try:
            yield
        except PyMongoError as exc:
            raise self.storage_error(exc, action) from exc
        except BSONError as exc:  # e.g. a document over 16 MB (DocumentTooLarge)
            raise StorageError(f"MongoDB cannot {action}: {self.redact(str(exc))}") from exc

    def storage_error(self, exc: PyMongoError, action: str) -> StorageError:
        message = self.redact(str(exc))
        if isinstance(exc, ConnectionFailure):
            return UnavailableError(f"MongoDB unreachable while trying to {action}: {message}")
        return StorageError(f"MongoDB failed to {action}: {message}")

    def atomically(self, work: Callable[[Write], T]) -> T:
        """Run `work` all or nothing (module docstring): in a transaction, retried on
        transient conflicts, or without one, its inserted statements deleted on failure."""
        attempts: list[Write] = []

        def attempt(session: ClientSession | None) -> T:
            write = Write(session)
            attempts.append(write)
            return work(write)

        try:
            if self.transactions:
                with self.client.start_session() as session:
                    return session.with_transaction(attempt)
            try:
                return attempt(None)
            except BaseException:
                self._undo(attempts[-1])
                raise
        except PyMongoError as exc:
            action = attempts[-1].action if attempts else "start a transaction"
            raise self.storage_error(exc, action) from exc
        except BSONError as exc:
            action = attempts[-1].action if attempts else "write"
            raise StorageError(f"MongoDB cannot {action}: {self.redact(str(exc))}") from exc

    def _undo(self, write: Write) -> None:
        """Delete the statements (and their report facts) a failed write without a
        transaction inserted."""
        if write.inserted:
            with self.errors("undo a failed batch"):
                self.statements.delete_many({"_id": {"$in": write.inserted}})
        if write.inserted_facts:
            with self.errors("undo a failed batch"):
                self.report_facts.delete_many({"_id": {"$in": write.inserted_facts}})

    def close(self) -> None:
        self.client.close()

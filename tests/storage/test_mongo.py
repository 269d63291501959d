"""What is MongoDB-specific in storage.mongo: index use, the on-disk layout (a store written by
earlier versions reads the same), all-or-nothing batches with and without transactions,
insert races, links settled after concurrent writers, connection errors. The behaviour every
backend shares is in test_contract.py and friends; the repair of a batch whose deferred step
failed is in test_repair.py."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from typing import Any

import orjson
import pytest
from pymongo import MongoClient
from pymongo.errors import PyMongoError

import storage.mongo.statements
from storage import DocumentScope, Identity, StatementFilter, StatementRecord, open_storage
from storage.commands import (
    document_etag,
    finish_statements,
    insert_statements,
    put_activities,
    put_document,
)
from storage.errors import DuplicateIdError, StorageError, UnavailableError
from storage.mongo import MongoStorage, paging_key
from tests.mongo_server import free_port, secantus_server, with_database

T = "tenant-a"
VERB = "http://adlnet.gov/expapi/verbs/completed"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
_clock = iter(range(1, 10**9))


def stamp() -> str:
    n = next(_clock)
    return f"2026-01-01T00:{n // 60_000_000 % 60:02d}:{n // 1_000_000 % 60:02d}.{n % 10**6:06d}Z"


def record(
    *, sid: str | None = None, agent: str = "mbox:mailto:a@example.com", verb: str = VERB,
    activity: str = "http://example.com/course", ref: str | None = None,
    voids: str | None = None, registration: str | None = None, body: dict | None = None,
) -> StatementRecord:
    sid = sid or str(uuid.uuid4())
    stored = stamp()
    statement = body or {"id": sid, "verb": {"id": verb}, "stored": stored}
    return StatementRecord(
        id=sid, statement=orjson.dumps(statement), stored=stored, verb=verb, writer="k",
        registration=registration, ref=ref, voids=voids,
        agents=frozenset({agent}), related_agents=frozenset({agent}),
        activities=frozenset() if ref else frozenset({activity}),
        related_activities=frozenset() if ref else frozenset({activity}),
    )


@pytest.fixture(scope="module")
def standalone_server(tmp_path_factory):
    """A private SecantusDB advertising a standalone topology (no transactions), also for
    tests that must not touch a real server's databases."""
    with secantus_server(tmp_path_factory.mktemp("standalone"), standalone=True) as uri:
        yield uri


@pytest.fixture
def mongo(mongo_database_uri: str):
    with MongoStorage(mongo_database_uri) as opened:
        yield opened


@pytest.fixture(params=[True, False], ids=["transaction", "compensation"])
def any_mode(request, mongo_database_uri: str):
    """The store with batch transactions forced on, then off (standalone-server path)."""
    with MongoStorage(mongo_database_uri, transactions=request.param) as opened:
        yield opened


def ids_in(store: MongoStorage, query: StatementFilter | None = None) -> list[str]:
    return [s.id for s in store.query_statements(T, query or StatementFilter(), 1000)]


def raw_count(store: MongoStorage) -> int:
    return store._db.statements.count_documents({})


# --- opening ----------------------------------------------------------------------------


def test_open_storage_dispatches_mongodb_uris(mongo_database_uri):
    with open_storage(mongo_database_uri) as opened:
        assert isinstance(opened, MongoStorage)
        assert opened.database_name == mongo_database_uri.split("/")[3].split("?")[0]


def test_database_defaults_to_lrs(standalone_server):
    with MongoStorage(with_database(standalone_server, "")) as opened:
        assert opened.database_name == "lrs"


def test_indexes_are_created_idempotently(mongo_database_uri):
    MongoStorage(mongo_database_uri).close()
    with MongoStorage(mongo_database_uri) as opened:
        names = set(opened._db.statements.index_information())
        info = opened._db.statements.index_information()
    assert {
        "statements_id", "statements_stored", "statements_agent", "statements_related_agent",
        "statements_verb", "statements_activity", "statements_related_activity",
        "statements_registration", "statements_writer", "statements_voids", "statements_chain",
    } <= names
    assert info["statements_id"]["unique"]
    for name, spec in info.items():
        if name != "_id_":
            assert spec["key"][0][0] == "t", f"{name} must lead with the tenant"


def test_unreachable_server_is_a_quick_unavailable_error():
    port = free_port()  # nothing listens there
    uri = f"mongodb://lrs:s3cret-pw@127.0.0.1:{port}/lrs?serverSelectionTimeoutMS=300"
    with pytest.raises(UnavailableError) as caught:
        MongoStorage(uri)
    assert "s3cret-pw" not in str(caught.value)


def test_invalid_uri_is_a_storage_error_without_the_password():
    with pytest.raises(StorageError) as caught:
        MongoStorage("mongodb://lrs:s3cret-pw@127.0.0.1:notaport/lrs")
    assert "s3cret-pw" not in str(caught.value)
    assert "s3cret-pw" not in repr(caught.value)


def test_transactions_are_detected_from_the_topology(mongo_database_uri, standalone_server):
    with MongoStorage(mongo_database_uri) as opened:
        hello = opened._db.client.admin.command("hello")
        assert opened.transactional == ("setName" in hello or hello.get("msg") == "isdbgrid")
    with MongoStorage(with_database(standalone_server, "detect")) as opened:
        assert opened.transactional is False


# --- storage shape ----------------------------------------------------------------------


def test_field_names_mongodb_forbids_round_trip_exactly(mongo):
    """Extension keys are IRIs and may hold "." or start with "$" (Data 2.4.4.2 extensions
    are any JSON); the statement is stored as bytes, so they never become field names."""
    sid = str(uuid.uuid4())
    body = {
        "id": sid,
        "result": {"extensions": {"http://example.com/a.b": {"$set": 1, "x.y": [{"$": None}]}}},
        "context": {"extensions": {"$where": "1", "http://e.com/\u00e9": "\u00e9\U0001f600"}},
    }
    written = record(sid=sid, body=body)
    insert_statements(mongo, T, [written])
    assert mongo.get_statements(T, [sid])[sid].statement == written.statement
    [found] = mongo.query_statements(T, StatementFilter(), 10)
    assert found.statement == written.statement


def test_paging_key_orders_like_stored_then_id():
    keys = [("2026-01-01T00:00:00.000001Z", "b"), ("2026-01-01T00:00:00.000001Z", "c"),
            ("2026-01-01T00:00:00.000002Z", "a")]
    assert sorted(keys) == sorted(keys, key=lambda k: paging_key(*k))


def _entry(agent: str, verb: str = VERB, activity: str | None = "http://example.com/course",
           ) -> dict[str, Any]:
    """An `m` entry exactly as the layout writes it (lists sorted, keys in this order)."""
    activities = [activity] if activity else []
    return {"agents": [agent], "related_agents": [agent], "verb": verb,
            "activities": activities, "related_activities": activities}


def test_a_store_written_by_the_earlier_layout_reads_and_grows_the_same(mongo_database_uri):
    """Documents as the single-module backend wrote them (no `p`, `chain` and `m` written
    at insert, activities with `r`) are read, linked, voided and merged like new ones."""
    from bson import Binary

    alice, bob, carol, dave = (f"mbox:mailto:{n}@example.com"
                               for n in ("alice", "bob", "carol", "dave"))
    a, b, c, v, d, x = (str(uuid.uuid4()) for _ in range(6))
    times = {sid: stamp() for sid in (a, b, c, v, d)}

    def old(sid: str, m: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
        return {"t": T, "id": sid, "stored": times[sid], "k": paging_key(times[sid], sid),
                "voided": False, "w": "k", "m": m, "b": Binary(orjson.dumps({"id": sid})),
                **more}

    client: MongoClient = MongoClient(mongo_database_uri, serverSelectionTimeoutMS=5000)
    try:
        db = client.get_default_database()
        db["statements"].insert_many([
            old(a, [_entry(alice)]),
            old(b, [_entry(bob, activity=None), _entry(alice)], ref=a, chain=[a]),
            old(c, [_entry(carol, activity=None)], ref=x, chain=[x]),
            old(v, [_entry(bob, VOIDED, None), _entry(carol)], ref=d, voids=d, chain=[d]),
            {**old(d, [_entry(carol)]), "voided": True},
        ])
        db["activities"].insert_many([
            {"t": T, "id": "http://example.com/course", "d": Binary(b'{"name":{"en":"Old"}}'),
             "r": 2},
            {"t": T, "id": "http://example.com/no-revision", "d": Binary(b"{}")},
        ])
        scope = DocumentScope("state", "http://example.com/course", alice)
        db["documents"].insert_one({
            "tenant": T, "resource": "state", "activity": "http://example.com/course",
            "agent": alice, "registration": "", "doc_id": "s", "content": Binary(b'{"a":1}'),
            "content_type": "application/json", "etag": document_etag(b'{"a":1}'),
            "updated": stamp(),
        })
        db["identities"].insert_one({"t": T, "agent": alice, "digest": "d1",
                                     "s": Binary(b"sealed")})
        with MongoStorage(mongo_database_uri) as store:
            assert ids_in(store, StatementFilter(agent=alice)) == [b, a]
            found = store.get_statements(T, [a, b, c, v, d])
            assert not any(s.pending for s in found.values())
            assert found[d].voided and not found[v].voided
            assert ids_in(store) == [v, c, b, a]
            # The target c waits for arrives; a new statement refers through b to a.
            insert_statements(store, T, [record(sid=x, agent=dave)])
            assert set(ids_in(store, StatementFilter(agent=dave))) == {x, c}
            e = record(agent=dave, ref=b)
            insert_statements(store, T, [e])
            assert ids_in(store, StatementFilter(agent=alice)) == [e.id, b, a]
            # A voiding statement for a stored (old) statement.
            insert_statements(store, T, [record(verb=VOIDED, ref=a, voids=a)])
            assert store.get_statements(T, [a])[a].voided
            put_activities(store, T, {"http://example.com/course": [{"name": {"fr": "Vieux"}}]})
            assert store.get_activities(T, ["http://example.com/course"]) == {
                "http://example.com/course": {"name": {"en": "Old", "fr": "Vieux"}}
            }
            put_activities(store, T, {"http://example.com/no-revision": [{"type": "t"}]})
            assert store.get_activities(T, ["http://example.com/no-revision"]) == {
                "http://example.com/no-revision": {"type": "t"}
            }
            assert store.get_identities(T, alice) == [Identity(alice, "d1", b"sealed")]
            put_document(store, T, scope, "s", b'{"b":2}', "application/json",
                         updated=stamp(), merge=True, if_match=[document_etag(b'{"a":1}')])
            merged = store.get_document(T, scope, "s")
            assert merged is not None and orjson.loads(merged.content) == {"a": 1, "b": 2}
        activity = db["activities"].find_one({"id": "http://example.com/course"})
        assert activity is not None and activity["r"] == 3
        activity = db["activities"].find_one({"id": "http://example.com/no-revision"})
        assert activity is not None and activity["r"] == 1
        raw = db["statements"].find_one({"id": e.id}, {"_id": 0})
        assert raw is not None
        assert set(raw) == {"t", "id", "stored", "k", "voided", "w", "m", "b", "ref", "chain"}
        assert raw["chain"] == [b, a]
        # Its own entry first, then each chain member's own entry.
        assert raw["m"] == [_entry(dave, activity=None), _entry(bob, activity=None),
                            _entry(alice)]
    finally:
        client.close()


def test_a_pending_marker_exists_only_until_the_deferred_step_is_done(mongo, monkeypatch):
    written = record()

    def fail(*args, **kwargs):
        raise PyMongoError("connection dropped")

    monkeypatch.setattr(storage.mongo.statements, "clear_pending", fail)
    with pytest.raises(StorageError):
        insert_statements(mongo, T, [written])
    assert mongo._db.pending.find_one({"t": T})["ids"] == [written.id]
    assert mongo.get_statements(T, [written.id])[written.id].pending
    monkeypatch.undo()
    finish_statements(mongo, T, [written])
    assert mongo._db.pending.count_documents({}) == 0
    assert not mongo.get_statements(T, [written.id])[written.id].pending


# --- index use --------------------------------------------------------------------------


def _plan(explained: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Every stage and index name in the winning plans of an explain (find or aggregate,
    classic or slot-based)."""
    stages: set[str] = set()
    indexes: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("stage"), str):
                stages.add(node["stage"])
            if isinstance(node.get("indexName"), str):
                indexes.add(node["indexName"])
            for key, value in node.items():
                if key != "rejectedPlans":
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(explained)
    return stages, indexes


AGENT = "mbox:mailto:agent-7@example.com"
ACTIVITY = "http://example.com/activity/7"
REGISTRATION = "0e1f5a4c-1b7b-4f4a-9f55-5a3b1c9e2d77"


@pytest.fixture
def populated(mongo):
    """Enough varied statements that each filter is selective."""
    records = [
        record(agent=f"mbox:mailto:agent-{i % 40}@example.com", verb=f"{VERB}/{i % 30}",
               activity=f"http://example.com/activity/{i % 50}",
               registration=REGISTRATION if i == 7 else None)
        for i in range(400)
    ]
    for start in range(0, len(records), 100):
        insert_statements(mongo, T, records[start:start + 100])
    return mongo


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (StatementFilter(), None),
        (StatementFilter(since="2026-01-01T00:00:00.000100Z"), "statements_stored"),
        (StatementFilter(agent=AGENT), "statements_agent"),
        (StatementFilter(agent=AGENT, related_agents=True), "statements_related_agent"),
        (StatementFilter(verb=f"{VERB}/7"), "statements_verb"),
        (StatementFilter(activity=ACTIVITY), "statements_activity"),
        (StatementFilter(activity=ACTIVITY, related_activities=True),
         "statements_related_activity"),
        (StatementFilter(registration=REGISTRATION), "statements_registration"),
        (StatementFilter(writer="k", until="2026-01-01T00:00:01.000000Z"), "statements_writer"),
        (StatementFilter(agent=AGENT, after=("2026-01-01T00:00:00.000300Z", "z")),
         "statements_agent"),
        (StatementFilter(agent=AGENT, verb=f"{VERB}/7", ascending=True), "statements_agent"),
        (StatementFilter(verb=f"{VERB}/7", writer="k", registration=REGISTRATION),
         "statements_registration"),
    ],
    ids=["all", "since", "agent", "related_agents", "verb", "activity", "related_activities",
         "registration", "writer", "agent-page", "agent+verb", "verb+writer+registration"],
)
def test_statement_queries_use_an_index(populated, query, index):
    """DESIGN.md decision 3: every query the API offers is served by an index."""
    stages, indexes = _plan(populated.explain_statement_query(T, query))
    assert "COLLSCAN" not in stages
    assert "IXSCAN" in stages
    if index is not None:
        assert index in indexes


def test_voiding_and_linking_lookups_use_an_index(populated):
    statements = populated._db.statements
    for flt in ({"t": T, "id": {"$in": ["x", "y"]}}, {"t": T, "voids": {"$in": ["x"]}},
                {"t": T, "chain": {"$in": ["x"]}}):
        stages, _ = _plan(statements.find(flt).explain())
        assert "COLLSCAN" not in stages, flt


# --- all or nothing ---------------------------------------------------------------------


def test_batch_with_a_stored_id_in_the_middle_leaves_nothing(any_mode):
    taken = record()
    insert_statements(any_mode, T, [taken])
    batch = [record(), record(), record(sid=taken.id), record()]
    with pytest.raises(DuplicateIdError) as caught:
        insert_statements(any_mode, T, batch)
    assert caught.value.ids == [taken.id]
    assert raw_count(any_mode) == 1
    assert ids_in(any_mode) == [taken.id]


def test_duplicate_error_lists_every_taken_id(any_mode):
    first, second = record(), record()
    insert_statements(any_mode, T, [first, second])
    with pytest.raises(DuplicateIdError) as caught:
        insert_statements(any_mode, T, [record(), record(sid=second.id), record(sid=first.id)])
    assert caught.value.ids == sorted([first.id, second.id])
    assert raw_count(any_mode) == 2


def test_a_failure_after_the_insert_leaves_nothing(any_mode, monkeypatch):
    """Any error while writing the batch (here: marking a voided target) undoes the batch:
    the transaction aborts, or without one the inserted documents are deleted again."""
    target = record()
    insert_statements(any_mode, T, [target])

    def broken(*args, **kwargs):
        raise PyMongoError("connection dropped")

    monkeypatch.setattr(storage.mongo.statements, "set_voided", broken)
    batch = [record(), record(verb=VOIDED, ref=target.id, voids=target.id), record()]
    with pytest.raises(StorageError):
        insert_statements(any_mode, T, batch)
    assert raw_count(any_mode) == 1
    assert not any_mode.get_statements(T, [target.id])[target.id].voided


def test_a_failed_batch_leaves_no_new_identity_behind(any_mode, monkeypatch):
    """Identity vault entries are written only once the batch is stored, so a failed batch
    leaves no new one; an entry stored before the failed batch stays."""
    agent = "account:https://lrs.test|pseudonym-1"
    kept, fresh = Identity(agent, "digest-1", b"sealed-1"), Identity(agent, "digest-2", b"s-2")
    target = dataclasses.replace(record(), identities=(kept,))
    insert_statements(any_mode, T, [target])

    def broken(*args, **kwargs):
        raise PyMongoError("connection dropped")

    monkeypatch.setattr(storage.mongo.statements, "set_voided", broken)
    voiding = record(verb=VOIDED, ref=target.id, voids=target.id)
    with pytest.raises(StorageError):
        insert_statements(any_mode, T, [dataclasses.replace(voiding, identities=(kept, fresh))])
    assert any_mode.get_identities(T, agent) == [kept]
    assert raw_count(any_mode) == 1


def test_standalone_server_batches_are_all_or_nothing(standalone_server):
    """The compensation path on a real standalone topology (no transactions)."""
    with MongoStorage(with_database(standalone_server, "batches")) as standalone:
        assert not standalone.transactional
        taken = record()
        insert_statements(standalone, T, [taken])
        with pytest.raises(DuplicateIdError):
            insert_statements(standalone, T, [record(), record(), record(sid=taken.id)])
        assert ids_in(standalone) == [taken.id]


# --- races ------------------------------------------------------------------------------


def test_concurrent_inserts_of_one_id_end_in_one_success_and_one_duplicate(mongo_database_uri):
    """Two workers (own clients) race to store the same id: one wins, the other gets
    DuplicateIdError, which storage.ingest turns into 204 or 409, never a 500."""
    for _ in range(5):
        shared = record()
        outcomes: list[str] = []
        barrier = threading.Barrier(2)

        def insert(
            store: MongoStorage, shared: StatementRecord = shared,
            barrier: threading.Barrier = barrier, outcomes: list[str] = outcomes,
        ) -> None:
            barrier.wait()
            try:
                insert_statements(store, T, [record(), shared, record()])
                outcomes.append("stored")
            except DuplicateIdError as exc:
                outcomes.append(f"duplicate {exc.ids}")

        stores = [MongoStorage(mongo_database_uri) for _ in range(2)]
        try:
            threads = [threading.Thread(target=insert, args=(s,)) for s in stores]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            for store in stores:
                store.close()
        assert sorted(outcomes) == [f"duplicate {[shared.id]}", "stored"]
    with MongoStorage(mongo_database_uri) as check:
        assert raw_count(check) == 15


def test_late_target_missed_inside_the_batch_is_settled_after_it(mongo, monkeypatch):
    """Simulates a concurrent writer: the in-batch link step sees no referrer, and the
    check after the commit still hands the target's fields to the statement waiting for
    it (Communication 2.1.3, Filter Conditions for StatementRefs)."""
    target = record(agent="mbox:mailto:late@example.com")
    referrer = record(agent="mbox:mailto:other@example.com", ref=target.id)
    insert_statements(mongo, T, [referrer])
    original = storage.mongo.statements.reference_sources
    calls: list[object] = []

    def blind_first(db, session, tenant, ids):
        calls.append(list(ids))
        return {} if len(calls) == 1 else original(db, session, tenant, ids)

    monkeypatch.setattr(storage.mongo.statements, "reference_sources", blind_first)
    insert_statements(mongo, T, [target])
    # In the batch (blind); after the commit: for the batch, then for the awaited target.
    assert calls == [[target.id]] * 3
    assert set(ids_in(mongo, StatementFilter(agent="mbox:mailto:late@example.com"))) == {
        target.id, referrer.id,
    }


def test_referrer_of_a_target_arriving_concurrently_is_settled(mongo, monkeypatch):
    """The mirror case: the referrer's batch cannot see its target yet when it is written,
    but the check after its commit finds the target and links to it."""
    target = record(agent="mbox:mailto:early@example.com")
    insert_statements(mongo, T, [target])
    referrer = record(agent="mbox:mailto:other@example.com", ref=target.id)
    original = storage.mongo.statements.own_entries
    calls: list[object] = []

    def blind_first(db, session, tenant, ids):
        calls.append(list(ids))
        return {} if len(calls) == 1 else original(db, session, tenant, ids)

    monkeypatch.setattr(storage.mongo.statements, "own_entries", blind_first)
    insert_statements(mongo, T, [referrer])
    assert calls == [[target.id]] * 2
    assert set(ids_in(mongo, StatementFilter(agent="mbox:mailto:early@example.com"))) == {
        target.id, referrer.id,
    }


def test_voiding_missed_inside_the_batch_is_settled_after_it(mongo, monkeypatch):
    """A voiding statement stored while its target is being stored by another worker."""
    target = record()
    voiding = record(verb=VOIDED, ref=target.id, voids=target.id)
    insert_statements(mongo, T, [voiding])
    original = storage.mongo.statements.voided_targets
    calls: list[object] = []

    def blind_first(db, session, tenant, ids):
        calls.append(list(ids))
        return set() if len(calls) == 1 else original(db, session, tenant, ids)

    monkeypatch.setattr(storage.mongo.statements, "voided_targets", blind_first)
    insert_statements(mongo, T, [target])
    assert calls == [[target.id]] * 2
    assert mongo.get_statements(T, [target.id])[target.id].voided
    assert ids_in(mongo) == [voiding.id]


# --- documents without transactions -----------------------------------------------------


def test_document_merges_without_transactions_lose_no_property(mongo_database_uri):
    """Compare-and-set on the ETag keeps concurrent merges atomic on a standalone server
    (Communication 2.2, JSON procedure)."""
    scope = DocumentScope("state", "http://example.com/a", "mbox:mailto:a@example.com")
    stores = [MongoStorage(mongo_database_uri, transactions=False) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def merge(store: MongoStorage, n: int) -> None:
        barrier.wait()
        try:
            for i in range(10):
                put_document(store, T, scope, "s", orjson.dumps({f"p{n}-{i}": i}),
                                   "application/json", updated=stamp(), merge=True)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=merge, args=(s, n)) for n, s in enumerate(stores)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        document = stores[0].get_document(T, scope, "s")
        assert document is not None
        assert len(orjson.loads(document.content)) == 40
    finally:
        for store in stores:
            store.close()


def test_documents_are_one_per_key(mongo):
    scope = DocumentScope("agent_profile", agent="mbox:mailto:a@example.com")
    for n in range(3):
        put_document(mongo, T, scope, "p", b"%d" % n, "text/plain", updated=stamp())
    client: MongoClient = mongo._db.client
    assert client[mongo.database_name]["documents"].count_documents({"doc_id": "p"}) == 1


@pytest.mark.parametrize("transactions", [True, False], ids=["transaction", "compensation"])
def test_concurrent_batches_sharing_learners_and_activities_all_finish(
    mongo_database_uri, transactions
):
    """The deferred step of concurrent batches naming the same new identities and
    activities: every batch ends stored and not pending, every vault entry once, every
    language of every definition merged (lost races are retried, not failed)."""
    from lrs.service.ingest import store_statements
    from statements import validate_statements

    pseudonym = "account:https://lrs.test|shared"
    stores = [MongoStorage(mongo_database_uri, transactions=transactions) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    errors: list[BaseException] = []
    sent: list[str] = []

    def write(store: MongoStorage, n: int) -> None:
        barrier.wait()
        try:
            for round_ in range(3):
                batch = validate_statements([
                    {"id": str(uuid.uuid4()),
                     "actor": {"account": {"homePage": "https://lrs.test", "name": "shared"}},
                     "verb": {"id": VERB},
                     "object": {"id": f"http://example.com/a{k}",
                                "definition": {"name": {f"x-w{n}r{round_}": "n"}}}}
                    for k in range(3)
                ])
                ids = [s["id"] for s in batch]
                store_statements(
                    store, T, batch, authority={"mbox": "mailto:k@example.com"}, writer="k",
                    define_activities=True,
                    identities={i: [Identity(pseudonym, f"d{k}", b"s")] for k, i in enumerate(ids)},
                    sealed={i: b"v" for i in ids},
                )
                sent.extend(ids)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=write, args=(s, n)) for n, s in enumerate(stores)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        check = stores[0]
        found = check.get_statements(T, sent)
        assert len(found) == len(sent) == 36
        assert not any(s.pending for s in found.values())
        assert [i.digest for i in check.get_identities(T, pseudonym)] == ["d0", "d1", "d2"]
        definitions = check.get_activities(T, [f"http://example.com/a{k}" for k in range(3)])
        for definition in definitions.values():
            assert sorted(definition["name"]) == sorted(
                f"x-w{n}r{r}" for n in range(4) for r in range(3)
            )
    finally:
        for store in stores:
            store.close()


# --- the statement feed -----------------------------------------------------------------


def test_the_feed_holds_statements_once_they_have_settled(mongo):
    """Writers are not serialized here: a statement enters the feed only `feed_delay` after
    its `stored` instant, when every write stamped before it has committed (or been undone)."""
    from datetime import UTC, datetime, timedelta

    from statements import stored_timestamp

    recent = dataclasses.replace(record(), stored=stored_timestamp(datetime.now(UTC)))
    insert_statements(mongo, T, [recent])
    assert mongo.read_feed(T, "", 10).statements == ()
    assert mongo.count_feed(T, "") == 1  # the backlog counts it already
    mongo.feed_delay = timedelta(0)
    [found] = mongo.read_feed(T, "", 10).statements
    assert found.id == recent.id

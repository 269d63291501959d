"""What is specific to the SQLite backend: the file format (WAL), concurrent writer
processes, threads, and that every query the API offers is an index seek in paging order."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import orjson
import pytest

from storage import StatementFilter, StatementRecord, open_storage
from storage.commands import insert_statements
from storage.errors import DuplicateIdError, StorageError
from storage.sqlite import SQLiteStorage
from storage.sqlite.schema import SCHEMA_VERSION
from storage.sqlite.statements import _FEED_SQL, _GET_SQL, _query_sql

ROOT = Path(__file__).resolve().parents[2]
T = "tenant-a"


@pytest.fixture
def sqlite_store(tmp_path):
    store = open_storage(f"sqlite:///{tmp_path / 'lrs.db'}")
    assert isinstance(store, SQLiteStorage)
    yield store
    store.close()


def test_database_file_is_in_wal_mode(sqlite_store):
    with sqlite3.connect(sqlite_store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_data_survives_reopening(tmp_path):
    uri = f"sqlite:///{tmp_path / 'lrs.db'}"
    with open_storage(uri) as store:
        ids = _ingest(store, 3)
    with open_storage(uri) as store:
        assert set(store.get_statements(T, ids)) == set(ids)


@pytest.mark.parametrize("version", [0, SCHEMA_VERSION + 1])
def test_a_file_of_another_layout_is_refused_not_misread(tmp_path, version):
    """A file written before the compact key table (unversioned, with a `statements` table)
    or by a later layout: opening it is a clear StorageError, before any statement table is
    created or read."""
    path = tmp_path / "lrs.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE statements (seq INTEGER PRIMARY KEY, id TEXT)")
        conn.execute(f"PRAGMA user_version = {version}")
    with pytest.raises(StorageError, match=f"another layout.*reads version {SCHEMA_VERSION}"):
        open_storage(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (version,)
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema")}
    assert "statement_keys" not in names


def test_a_new_file_records_its_layout_version(sqlite_store):
    with sqlite3.connect(sqlite_store.path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


TIE = "2024-05-01T10:00:05.000000Z"
ODD_BOUNDS = [
    # Canonical: compared in the key table as (microseconds, id bytes).
    (TIE, "abcdef00-0000-4000-8000-000000000000"),
    (TIE, "11111111-ffff-4000-8000-000000000000"),
    ("2024-05-01T10:00:04.999999Z", "ffffffff-ffff-4fff-bfff-ffffffffffff"),
    # Not: uppercase sorts after ids starting with a digit, before those with a letter.
    (TIE, "ABCDEF00-0000-4000-8000-000000000000"),
    (TIE, "8"),
    (TIE, ""),
    ("2024-05-01T10:00:05Z", "0"),  # not fixed-width: as text it sorts after every TIE row
    (TIE + "z", "0"),
    ("2024-13-01T00:00:00.000000Z", ""),  # fixed width, but no such instant
    ("0000-01-01T00:00:00.000000Z", "f"),
    ("zzz", ""),
    ("", "zzz"),
]


@pytest.mark.parametrize("ascending", [False, True])
@pytest.mark.parametrize(("stored", "last_id"), ODD_BOUNDS)
@pytest.mark.parametrize(
    "filters", [{}, {"agent": "mbox:mailto:a@example.com"}, {"verb": "http://v"}]
)
def test_a_cursor_or_bound_this_lrs_did_not_write_compares_as_text(
    sqlite_store, filters, stored, last_id, ascending
):
    """The key table holds `stored` as microseconds and ids as 16 bytes; a cursor or a time
    bound that has no exact counterpart there (a client can forge the `more` token) still
    selects exactly what the (stored, id) text comparison selects, on every filter path."""
    ids = [
        f"{prefix}-0000-4000-8000-000000000000"
        for prefix in ("00000000", "11111111", "80000000", "a0000000", "abcdef01", "ffffffff")
    ]
    insert_statements(sqlite_store, T, [_record(i, TIE) for i in ids])
    rows = sorted((TIE, i) for i in ids)
    if not ascending:
        rows.reverse()

    def expect(keep) -> list[str]:
        return [row[1] for row in rows if keep(row)]

    def run(**bounds: object) -> list[str]:
        query = StatementFilter(ascending=ascending, **filters, **bounds)
        return [r.id for r in sqlite_store.query_statements(T, query, 100)]

    cursor = (stored, last_id)
    assert run(after=cursor) == expect(
        lambda row: row > cursor if ascending else row < cursor
    )
    assert run(since=stored) == expect(lambda row: row[0] > stored)
    assert run(until=stored) == expect(lambda row: row[0] <= stored)


def _record(statement_id: str, stored: str) -> StatementRecord:
    return StatementRecord(
        id=statement_id, statement=orjson.dumps({"id": statement_id}), stored=stored,
        verb="http://v", writer="client-1", agents=frozenset({"mbox:mailto:a@example.com"}),
    )


def test_threads_each_use_their_own_connection(sqlite_store):
    ids = _ingest(sqlite_store, 2)
    seen: list[set[str]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            seen.append(set(sqlite_store.get_statements(T, ids)))
            _ingest(sqlite_store, 1)
        except BaseException as exc:  # reported below, not swallowed
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert seen == [set(ids)] * 4
    assert len(sqlite_store.query_statements(T, StatementFilter(), 100)) == 6


def test_a_read_sees_one_state_whatever_commits_meanwhile(sqlite_store):
    """`Database.read`, which the reports with several queries read in: a write committed
    by another thread between two of its queries shows in neither; inside a write, the
    write's own state."""
    db = sqlite_store._db
    _ingest(sqlite_store, 1)

    def count(conn: sqlite3.Connection) -> int:
        return int(conn.execute("SELECT COUNT(*) FROM statements").fetchone()[0])

    with db.read() as conn:
        before = count(conn)
        writer = threading.Thread(target=_ingest, args=(sqlite_store, 2))
        writer.start()
        writer.join(10)
        assert count(conn) == before == 1
    with db.read() as conn:
        assert count(conn) == 3
    with db.write() as conn:
        conn.execute("DELETE FROM statement_keys")
        conn.execute("DELETE FROM statements")
        with db.read() as inner:
            assert inner is conn and count(inner) == 0
    with db.read() as conn:
        assert count(conn) == 0


# -- group commit ------------------------------------------------------------------------------

STORED = "2024-01-01T00:00:00.000000Z"
IDS = [f"00000000-0000-4000-8000-{n:012d}" for n in range(4)]


def _grouped(store: SQLiteStorage, works: list) -> tuple[dict, set[int]]:
    """Run each (name, work) through `atomically` on its own thread, all queued while
    another writer holds the turn, so that they share one transaction; their outcomes (the
    result or the exception) and the threads the works ran on."""
    db = store._db
    holding, release = threading.Event(), threading.Event()
    outcomes: dict = {}
    ran_on: set[int] = set()

    def hold() -> None:
        with db.write():
            holding.set()
            release.wait(10)

    def call(name, work) -> None:
        def recorded(tx):
            ran_on.add(threading.get_ident())
            return work(tx)

        try:
            outcomes[name] = store.atomically(recorded)
        except Exception as exc:  # the outcome under test
            outcomes[name] = exc

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    threads = []
    for name, work in works:  # queued in this order
        threads.append(threading.Thread(target=call, args=(name, work)))
        threads[-1].start()
        for _ in range(1000):
            if len(db._queued) == len(threads):
                break
            threading.Event().wait(0.005)
    assert len(db._queued) == len(works)
    release.set()
    for thread in [holder, *threads]:
        thread.join(10)
    return outcomes, ran_on


def test_concurrent_writes_share_one_transaction_and_a_failing_one_fails_alone(sqlite_store):
    sqlite_store.atomically(lambda tx: tx.insert_statements(T, [_record(IDS[0], STORED)]))

    def good(tx):
        tx.insert_statements(T, [_record(IDS[1], STORED)])
        return "stored"

    def half(tx):  # its first statements written, then a duplicate id: none may remain
        tx.insert_statements(T, [_record(IDS[2], STORED)])
        tx.insert_statements(T, [_record(IDS[0], STORED)])

    outcomes, ran_on = _grouped(sqlite_store, [("good", good), ("half", half)])
    assert outcomes["good"] == "stored"
    assert isinstance(outcomes["half"], DuplicateIdError)
    assert len(ran_on) == 1  # one thread ran both works: one transaction
    assert set(sqlite_store.get_statements(T, IDS)) == {IDS[0], IDS[1]}


def test_a_write_that_ends_the_shared_transaction_fails_alone(sqlite_store):
    def good(tx):
        tx.insert_statements(T, [_record(IDS[1], STORED)])
        return "stored"

    def ending(tx):  # stands for an error after which SQLite rolled everything back
        tx.insert_statements(T, [_record(IDS[2], STORED)])
        tx._conn.execute("ROLLBACK")
        raise StorageError("disk full")

    outcomes, ran_on = _grouped(sqlite_store, [("good", good), ("ending", ending)])
    assert outcomes == {"good": "stored", "ending": outcomes["ending"]}
    assert isinstance(outcomes["ending"], StorageError)
    assert len(ran_on) == 1
    assert set(sqlite_store.get_statements(T, IDS)) == {IDS[1]}


def test_a_failed_shared_commit_fails_every_write_in_it(sqlite_store):
    def good(tx):
        tx.insert_statements(T, [_record(IDS[1], STORED)])
        return "stored"

    def lost(tx):  # returns with the transaction gone: the commit fails
        tx.insert_statements(T, [_record(IDS[2], STORED)])
        tx._conn.execute("ROLLBACK")

    outcomes, _ = _grouped(sqlite_store, [("good", good), ("lost", lost)])
    assert isinstance(outcomes["good"], StorageError)  # never acknowledged, not stored
    assert isinstance(outcomes["lost"], StorageError)
    assert sqlite_store.get_statements(T, IDS) == {}
    sqlite_store.atomically(lambda tx: tx.insert_statements(T, [_record(IDS[3], STORED)]))
    assert set(sqlite_store.get_statements(T, IDS)) == {IDS[3]}


WRITER = textwrap.dedent(
    """
    import sys, uuid
    from lrs.service.ingest import store_statements
    from storage import open_storage
    from statements import validate_statements

    uri, name, shared = sys.argv[1], sys.argv[2], sys.argv[3]
    with open_storage(uri) as store:
        for batch in range(20):
            raw = [
                {"id": str(uuid.uuid4()), "actor": {"mbox": f"mailto:{name}@example.com"},
                 "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                 "object": {"id": f"http://example.com/{batch}/{n}"}}
                for n in range(10)
            ]
            # Both processes also send the same statement each batch: one stores it,
            # the other finds it already stored (or loses the race) and succeeds too.
            raw.append({"id": str(uuid.UUID(shared[:-2] + f"{batch:02d}")),
                        "actor": {"mbox": "mailto:both@example.com"},
                        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                        "object": {"id": "http://example.com/shared"}})
            store_statements(store, "tenant-a", validate_statements(raw),
                             authority={"mbox": "mailto:client@example.com"}, writer=name)
    """
)


@pytest.mark.slow
def test_concurrent_writer_processes_both_succeed(tmp_path):
    uri = f"sqlite:///{tmp_path / 'lrs.db'}"
    open_storage(uri).close()
    shared = "7d7a5c3e-1f2b-4c5d-8e9f-0a1b2c3d4e00"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, uri, name, shared],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name in ("alice", "bob")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with open_storage(uri) as store:
        for name in ("alice", "bob"):
            mine = store.query_statements(T, StatementFilter(writer=name), 1000)
            own = [s for s in mine if b"both@" not in s.statement]
            assert len(own) == 200
        both = store.query_statements(T, StatementFilter(agent="mbox:mailto:both@example.com"), 100)
        assert len(both) == 20
        assert len(store.query_statements(T, StatementFilter(), 1000)) == 420


# -- query plans ------------------------------------------------------------------------------

FILTERS = {
    "none": {},
    "agent": {"agent": "mbox:mailto:a@example.com"},
    "related_agents": {"agent": "mbox:mailto:a@example.com", "related_agents": True},
    "verb": {"verb": "http://adlnet.gov/expapi/verbs/completed"},
    "activity": {"activity": "http://example.com/a"},
    "related_activities": {"activity": "http://example.com/a", "related_activities": True},
    "registration": {"registration": "ab2fea8e-cb2c-4a1b-a0c7-2c7fc5b0e16d"},
    "writer": {"writer": "client-1"},
    "agent+verb+activity+registration": {
        "agent": "mbox:mailto:a@example.com",
        "verb": "http://adlnet.gov/expapi/verbs/completed",
        "activity": "http://example.com/a",
        "registration": "ab2fea8e-cb2c-4a1b-a0c7-2c7fc5b0e16d",
    },
    "agent+writer": {"agent": "mbox:mailto:a@example.com", "writer": "client-1"},
}
BOUNDS = {
    "unbounded": {},
    "since+until": {"since": "2024-01-01T00:00:00.000000Z", "until": "2024-02-01T00:00:00.000000Z"},
    "page 2": {"after": ("2024-01-01T00:00:00.000000Z", "ab2fea8e-cb2c-4a1b-a0c7-2c7fc5b0e16d")},
}


def _plan(store: SQLiteStorage, sql: str, params: list | tuple) -> list[str]:
    with sqlite3.connect(store.path) as conn:
        return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]


@pytest.mark.parametrize("ascending", [False, True])
@pytest.mark.parametrize("bounds", sorted(BOUNDS))
@pytest.mark.parametrize("name", sorted(FILTERS))
def test_every_filter_is_an_index_seek_in_paging_order(sqlite_store, name, bounds, ascending):
    """Every Communication 2.1.3 filter starts with a seek on an index leading with tenant
    and the filter value (a key's number stands for both), and needs no sort: a page costs
    its own size, not the store's."""
    query = StatementFilter(ascending=ascending, **FILTERS[name], **BOUNDS[bounds])
    plan = _plan(sqlite_store, *_query_sql(T, query))
    if plan[0] == "MERGE (UNION ALL)":
        # related_*: two index ranges merged in order, each arm its own seek.
        assert query.related_agents or query.related_activities
        drivers = [plan[plan.index("LEFT") + 1], plan[plan.index("RIGHT") + 1]]
    else:
        drivers = [plan[0]]
    for driver in drivers:
        assert driver.startswith("SEARCH "), plan
        if query.agent or query.verb or query.activity or query.registration:
            assert "USING PRIMARY KEY (key_id=?" in driver, plan
        elif query.writer:
            assert "USING INDEX statements_writer (tenant=? AND writer=?" in driver, plan
        else:
            assert "USING INDEX statements_stored (tenant=?" in driver, plan
        if bounds == "page 2":
            assert "(stored,id)" in driver, plan
    assert not [step for step in plan if step.startswith("SCAN") or "TEMP B-TREE" in step], plan
    key_lookups = [step for step in plan if "filter_keys" in step]
    assert all("(tenant=? AND key=?)" in step for step in key_lookups), plan


def test_lookups_by_id_are_index_seeks(sqlite_store):
    plan = _plan(sqlite_store, _GET_SQL, (T, "[]"))
    assert plan[0] == "SEARCH s USING INDEX statements_id (tenant=? AND id=?)"


def _ingest(store: SQLiteStorage, count: int) -> list[str]:
    from lrs.service.ingest import store_statements
    from statements import validate_statements

    raw = [
        {"actor": {"mbox": "mailto:a@example.com"},
         "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
         "object": {"id": f"http://example.com/{n}"}}
        for n in range(count)
    ]
    return store_statements(
        store, T, validate_statements(raw), authority={"mbox": "mailto:c@example.com"},
        writer="client-1",
    )


def test_driver_errors_of_documents_become_storage_errors(sqlite_store, monkeypatch):
    """A `sqlite3.Error` in a document read or write surfaces as StorageError (logged as a
    storage failure), never as an unexpected exception."""
    import storage.sqlite.documents as documents
    from storage import DocumentScope
    from storage.commands import put_document

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    scope = DocumentScope("state", activity="http://example.com/a", agent="mbox:mailto:a@b.c")
    monkeypatch.setattr(documents, "write", broken)
    with pytest.raises(StorageError):
        put_document(sqlite_store, T, scope, "s", b"{}", "application/json",
                     updated="2024-01-01T00:00:00.000000Z")
    monkeypatch.setattr(documents, "get", broken)
    with pytest.raises(StorageError):
        sqlite_store.get_document(T, scope, "s")
    monkeypatch.setattr(documents, "list_ids", broken)
    with pytest.raises(StorageError):
        sqlite_store.list_documents(T, scope)


def test_the_feed_is_in_commit_order_and_never_gives_a_number_twice(sqlite_store):
    """An edge forwards from the feed: a statement committed later, even one stamped earlier
    (another worker's clock, a clock set back), must come after the last one forwarded; and
    after the newest statements are deleted (erasure, retention), a new one must not get a
    number the forwarder has passed already."""
    from tests.storage.test_contract import rec

    insert_statements(sqlite_store, T, [rec(50), rec(51)])
    first = sqlite_store.read_feed(T, "", 10)
    insert_statements(sqlite_store, T, [rec(1)])  # stamped before both
    late = sqlite_store.read_feed(T, first.position, 10)
    assert [s.stored for s in late.statements] == [rec(1).stored]
    with sqlite3.connect(sqlite_store.path) as conn:
        conn.execute("DELETE FROM statements WHERE stored = ?", (rec(1).stored,))
    insert_statements(sqlite_store, T, [rec(2)])
    again = sqlite_store.read_feed(T, late.position, 10)
    assert [s.stored for s in again.statements] == [rec(2).stored]
    with pytest.raises(StorageError, match="not a position"):
        sqlite_store.read_feed(T, "2026-01-01T00:00:00.000000Z x", 10)


def test_the_feed_is_an_index_seek_in_feed_order(sqlite_store):
    plan = _plan(sqlite_store, _FEED_SQL, (T, 0, 10))
    assert plan == ["SEARCH s USING INDEX statements_feed (tenant=? AND seq>?)"]

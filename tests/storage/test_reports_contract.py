"""The report queries of `storage.protocol` on every backend: each figure of the seeded store
(`reports_data`, computed by hand there) from progress, modules and indicators, and the
same figures after voiding and after deleting statements' facts (erasure, retention)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from reports_data import (
    ADL,
    DIMENSIONS,
    GENDER,
    M1,
    M2,
    M3,
    N1,
    Q1,
    REGION,
    VOIDED_ID,
    C,
    D,
    Stamper,
    learner_key,
    micros,
    seeded_statements,
    voiding,
)

from statements import bucket_of
from storage import IndicatorQuery, ModuleRow, ProgressRow, ReportFilter
from storage.commands import delete_before, erase_agent, insert_statements

W1 = bucket_of("week", datetime(2024, 1, 1, tzinfo=UTC))
W2, W6 = W1 + 1, W1 + 5
JAN = bucket_of("month", datetime(2024, 1, 1, tzinfo=UTC))
DAY1 = bucket_of("day", datetime(2024, 1, 1, tzinfo=UTC))
VERBS = tuple(ADL + v for v in ("attempted", "completed", "passed", "failed", "experienced"))


@pytest.fixture(params=["unread", "read", "folded_at_ingest"])
def seeded(store, request, monkeypatch):
    """The seeded store; on SQLite, whose facts and summaries are folded from the
    statements' report fields after ingest (storage.sqlite.reports), in each state a later
    write or deletion can find them: not folded yet, folded by a read of the indicators,
    folded inside every write."""
    if request.param == "folded_at_ingest":
        monkeypatch.setattr("storage.sqlite.reports.FOLD_BACKLOG", 0)
    stamper = Stamper()
    statements = seeded_statements()
    insert_statements(store, "default", stamper.records(statements))
    insert_statements(store, "default", stamper.records([voiding(VOIDED_ID)]))
    # Another tenant's statements never count.
    insert_statements(store, "other", stamper.records(seeded_statements()))
    if request.param == "read":
        store.report_indicators("default", IndicatorQuery("week", W1, W6))
    store.stamper = stamper
    store.ids = [s["id"] for s in statements]
    return store


def progress(store, **conditions):
    modules, rows = store.report_progress(
        "default", ReportFilter(course=C, **conditions), after=None, limit=100
    )
    return modules, {row.learner: row for row in rows}


def cells(store, interval="week", first=W1, last=W6, tenant="default", **kwargs):
    filter_args = kwargs.pop("filter", {})
    found = store.report_indicators(tenant, IndicatorQuery(
        interval=interval, first=first, last=last, filter=ReportFilter(**filter_args), **kwargs
    ))
    return {
        (cell.bucket, cell.course, *cell.dimensions): (
            cell.active, cell.new, cell.statements, cell.completers, cell.scorers,
            None if cell.average_score is None else round(cell.average_score, 9),
        )
        for cell in found
    }


def row(learner, first, last, statements, attempted, completed, passed, cc, cp, best, duration):
    return ProgressRow(learner_key(learner), micros(first), micros(last), statements,
                       attempted, completed, passed, cc, cp, best, duration)


def test_progress_of_each_learner(seeded):
    modules, rows = progress(seeded)
    assert modules == 4  # M1, M2, M3, Q1
    assert rows == {
        learner_key("a"): row("a", "2024-01-01T10:00", "2024-01-09T09:30", 4, 2, 1, 1,
                              True, False, 0.9, 900.0),
        learner_key("b"): row("b", "2024-01-02T08:00", "2024-02-05T12:00", 3, 2, 0, 0,
                              False, False, 0.4, 1200.0),
        learner_key("c"): row("c", "2024-01-03T12:00", "2024-01-10T15:00", 2, 2, 0, 0,
                              False, False, 0.5, 1800.0),
    }


def test_progress_filters_and_pages(seeded):
    _, rows = progress(seeded, since=micros("2024-01-09T00:00"), until=micros("2024-02-01T00:00"))
    assert set(rows) == {learner_key("a"), learner_key("c")}
    assert rows[learner_key("a")].statements == 2 and rows[learner_key("a")].attempted == 1
    _, rows = progress(seeded, verbs=(ADL + "attempted",))
    assert {k: r.statements for k, r in rows.items()} == {
        learner_key("a"): 1, learner_key("b"): 2, learner_key("c"): 1}
    _, rows = progress(seeded, dimensions=((REGION, "north"), (GENDER, "m")))
    assert set(rows) == {learner_key("b")}
    _, rows = progress(seeded, dimensions=((REGION, "east"),))
    assert rows == {}
    # Pages in the backend's order, each learner once.
    seen, after = [], None
    while True:
        _, page = seeded.report_progress("default", ReportFilter(course=C), after=after, limit=2)
        if not page:
            break
        seen += [r.learner for r in page]
        after = page[-1].learner
    assert sorted(seen) == [learner_key(n) for n in "abc"] and len(seen) == 3
    assert seeded.report_progress("default", ReportFilter(course="http://x.org/none"),
                                  after=None, limit=10) == (0, [])


def test_modules_in_the_order_first_seen(seeded):
    assert seeded.report_modules("default", ReportFilter(course=C)) == [
        ModuleRow(M1, 2, 1, 0, 2, pytest.approx(0.6), 2, 1050.0),
        ModuleRow(M2, 2, 0, 1, 1, 0.9, 1, 1800.0),
        ModuleRow(M3, 1, 0, 0, 0, None, 0, None),
        ModuleRow(Q1, 1, 0, 0, 1, 0.5, 0, None),
    ]
    assert [m.module for m in seeded.report_modules("default", ReportFilter(course=D))] == [
        N1, Q1]
    north = seeded.report_modules("default", ReportFilter(course=C,
                                                          dimensions=((REGION, "north"),)))
    assert [(m.module, m.attempted) for m in north] == [(M1, 2), (M2, 1), (M3, 1)]


def test_weekly_indicators_by_course(seeded):
    assert cells(seeded, by_course=True) == {
        (W1, C): (3, 3, 5, 0, 2, 0.6),
        (W1, D): (1, 1, 2, 1, 0, None),
        (W2, C): (2, 0, 3, 1, 2, 0.7),
        (W2, D): (1, 0, 1, 0, 1, 0.5),
        (W6, C): (1, 0, 1, 0, 0, None),
    }


def test_tenant_wide_indicators_count_each_statement_once(seeded):
    assert cells(seeded) == {
        (W1, None): (3, 3, 7, 1, 2, 0.6),
        (W2, None): (2, 0, 3, 1, 2, 0.7),
        (W6, None): (1, 0, 1, 0, 0, None),
    }
    assert cells(seeded, interval="month", first=JAN, last=JAN + 1) == {
        (JAN, None): (3, 3, 10, 2, 3, 0.65),
        (JAN + 1, None): (1, 0, 1, 0, 0, None),
    }


def test_indicators_by_dimensions(seeded):
    assert cells(seeded, by_dimensions=(REGION,)) == {
        (W1, None, "north"): (2, 2, 4, 0, 2, 0.6),
        (W1, None, "south"): (1, 1, 3, 1, 0, None),
        (W2, None, "north"): (1, 0, 2, 1, 1, 0.9),
        (W2, None, "south"): (1, 0, 1, 0, 1, 0.5),
        (W6, None, "north"): (1, 0, 1, 0, 0, None),
    }
    assert cells(seeded, by_course=True, by_dimensions=(REGION,)) == {
        (W1, C, "north"): (2, 2, 4, 0, 2, 0.6),
        (W1, C, "south"): (1, 1, 1, 0, 0, None),
        (W1, D, "south"): (1, 1, 2, 1, 0, None),
        (W2, C, "north"): (1, 0, 2, 1, 1, 0.9),
        (W2, C, "south"): (1, 0, 1, 0, 1, 0.5),
        (W2, D, "south"): (1, 0, 1, 0, 1, 0.5),
        (W6, C, "north"): (1, 0, 1, 0, 0, None),
    }
    assert cells(seeded, by_course=True, filter={"dimensions": ((REGION, "south"),)}) == {
        (W1, C): (1, 1, 1, 0, 0, None),
        (W1, D): (1, 1, 2, 1, 0, None),
        (W2, C): (1, 0, 1, 0, 1, 0.5),
        (W2, D): (1, 0, 1, 0, 1, 0.5),
    }
    unrecorded = cells(seeded, by_dimensions=("http://example.org/ext/none",))
    assert set(unrecorded) == {(W1, None, None), (W2, None, None), (W6, None, None)}


def test_daily_indicators_of_one_course(seeded):
    assert cells(seeded, interval="day", first=DAY1, last=DAY1 + 2, filter={"course": C}) == {
        (DAY1, None): (1, 1, 2, 0, 1, 0.8),
        (DAY1 + 1, None): (1, 1, 2, 0, 1, 0.4),
        (DAY1 + 2, None): (1, 1, 1, 0, 0, None),
    }


def test_a_verb_condition_counts_only_those_statements(seeded):
    attempted = {"verbs": (ADL + "attempted",)}
    assert cells(seeded, by_course=True, filter=attempted) == {
        (W1, C): (3, 3, 3, 0, 0, None),
        (W1, D): (1, 1, 1, 0, 0, None),
        (W6, C): (1, 0, 1, 0, 0, None),
    }
    assert cells(seeded, filter=attempted) == {
        (W1, None): (3, 3, 4, 0, 0, None),
        (W6, None): (1, 0, 1, 0, 0, None),
    }
    # Every verb: the facts give what the summaries give.
    for grouping in ({}, {"by_course": True}, {"by_dimensions": (REGION, GENDER)}):
        assert cells(seeded, filter={"verbs": VERBS}, **grouping) == cells(seeded, **grouping)


def test_voiding_takes_a_statement_out_of_every_report(seeded):
    insert_statements(seeded, "default", seeded.stamper.records([voiding(seeded.ids[5])]))
    _, rows = progress(seeded)
    assert rows[learner_key("b")] == row("b", "2024-01-02T08:00", "2024-02-05T12:00", 2, 2, 0,
                                         0, False, False, None, 1200.0)
    m1 = seeded.report_modules("default", ReportFilter(course=C))[0]
    assert (m1.module, m1.scorers, m1.average_score) == (M1, 1, 0.8)
    assert cells(seeded)[(W1, None)] == (3, 3, 6, 1, 1, 0.8)


def test_deleted_facts_leave_every_summary_exact(seeded):
    """What erasure and retention do before deleting statements: b's first two statements
    go, so b is new in week 6; a's all go, so a counts nowhere."""
    seeded.atomically(lambda tx: tx.delete_report_facts("default", seeded.ids[4:6]))
    assert cells(seeded, by_course=True)[(W6, C)] == (1, 1, 1, 0, 0, None)
    seeded.atomically(lambda tx: tx.delete_report_facts("default", seeded.ids[0:4]))
    seeded.atomically(lambda tx: tx.delete_report_facts("default", seeded.ids[0:4]))  # again
    _, rows = progress(seeded)
    assert set(rows) == {learner_key("b"), learner_key("c")}
    assert cells(seeded) == {
        (W1, None): (1, 1, 3, 1, 0, None),
        (W2, None): (1, 0, 1, 0, 1, 0.5),
        (W6, None): (1, 1, 1, 0, 0, None),
    }
    assert cells(seeded, filter={"verbs": VERBS}) == cells(seeded)
    assert [(m.module, m.attempted) for m in seeded.report_modules(
        "default", ReportFilter(course=C))] == [(M3, 1), (M2, 1), (Q1, 1)]
    other = seeded.report_indicators("other", IndicatorQuery("week", W1, W6))
    assert sum(cell.statements for cell in other) == 12  # the other tenant's, untouched


def figures(store, tenant):
    """Every report of a tenant, learners by key, for comparing two tenants."""
    _, learners = store.report_progress(tenant, ReportFilter(course=C), after=None, limit=100)
    return (
        {row.learner: row for row in learners},
        store.report_modules(tenant, ReportFilter(course=C)),
        *(cells(store, tenant=tenant, **grouping)
          for grouping in ({}, {"by_course": True}, {"by_dimensions": (REGION, GENDER)})),
    )


def test_an_erased_learner_counts_in_no_report(seeded):
    """After erasure (storage.commands.erase_agent) every figure is what it would be had
    learner a never been recorded."""
    statements = seeded_statements()
    without_a = [s for s in statements if s["actor"]["account"]["name"] != "a"]
    insert_statements(seeded, "twin", seeded.stamper.records(without_a))
    erase_agent(seeded, "default", [learner_key("a")], now="2024-07-01T00:00:00.000000Z")
    assert learner_key("a") not in figures(seeded, "default")[0]
    assert figures(seeded, "default") == figures(seeded, "twin")


def test_expired_statements_count_in_no_report(seeded):
    """Retention (storage.commands.delete_before) of the first four statements stored: the
    figures of a store that never had them."""
    rows = seeded.atomically(lambda tx: tx.statements_before("default", "9999", 5))
    cut_off = rows[4].stored
    insert_statements(seeded, "twin", seeded.stamper.records(seeded_statements()[4:]))
    insert_statements(seeded, "twin", seeded.stamper.records([voiding(VOIDED_ID)]))
    delete_before(seeded, "default", cut_off)
    assert figures(seeded, "default") == figures(seeded, "twin")


def test_a_learners_first_moves_only_to_an_earlier_statement_stored_later(store):
    """A learner is new in the bucket of their earliest statement in the course, whatever
    the order of storing: a statement stored after the first was read (folded, on SQLite)
    moves it when dated earlier and leaves it when dated later."""
    from reports_data import report_statement

    stamper = Stamper()

    def store_and_read(when):
        insert_statements(store, "default", stamper.records(
            [report_statement("a", "attempted", M1, when, parent=C)]))
        return {key: figures[1] for key, figures in cells(store, by_course=True).items()}

    assert store_and_read("01-09T09:00") == {(W2, C): 1}
    assert store_and_read("01-01T10:00") == {(W1, C): 1, (W2, C): 0}
    assert store_and_read("02-05T12:00") == {(W1, C): 1, (W2, C): 0, (W6, C): 0}


def test_report_fields_given_with_a_record_count_as_given(store):
    """A library caller may build a record's report fields apart from its statement: they
    count as given, even naming a learner, object or verb that is none of the statement's
    own keys (SQLite numbers those as the batch waits, not only the statement's)."""
    import dataclasses

    from reports_data import report_statement

    stamper = Stamper()
    record, other = stamper.records([
        report_statement("a", "attempted", M1, "01-01T10:00", parent=C),
        report_statement("b", "attempted", M2, "01-02T10:00", parent=C),
    ])
    given = record.report._replace(
        learner=learner_key("z"), activity=M3, verb=ADL + "passed", passed=True)
    insert_statements(store, "default", [dataclasses.replace(record, report=given), other])
    _, rows = progress(store)
    assert set(rows) == {learner_key("z"), learner_key("b")}
    assert rows[learner_key("z")].passed == 1
    assert set(progress(store, verbs=(ADL + "passed",))[1]) == {learner_key("z")}
    assert [module.module for module in store.report_modules(
        "default", ReportFilter(course=C))] == [M3, M2]


def test_dimensions_not_kept_count_as_not_recorded(store):
    stamper = Stamper()
    statements = seeded_statements()[:1]
    record = stamper.records(statements)[0]
    from storage import build_record
    bare = build_record({**statements[0], "stored": record.stored}, writer="key")
    insert_statements(store, "default", [bare])
    [cell] = store.report_indicators("default", IndicatorQuery(
        "week", W1, W1, by_dimensions=(REGION,)))
    assert cell.dimensions == (None,) and cell.active == 1
    assert DIMENSIONS  # the seeded store keeps both


def test_grouping_by_two_dimensions_gives_each_its_own_value_or_none(store):
    """A statement carrying one of two grouped dimensions counts in the cell of its value
    and of no value for the other (not in a cell of the other's values, not dropped)."""
    stamper = Stamper()
    first, second = seeded_statements()[:2]
    del first["context"]["extensions"][GENDER]
    second["actor"] = {**second["actor"], "account": {**second["actor"]["account"], "name": "c"}}
    second["context"]["extensions"][REGION] = "south"
    insert_statements(store, "default", stamper.records([first, second]))
    assert cells(store, first=W1, last=W1, by_dimensions=(REGION, GENDER)) == {
        (W1, None, "north", None): (1, 1, 1, 0, 0, None),
        (W1, None, "south", "f"): (1, 1, 1, 0, 1, 0.8),
    }
    assert cells(store, first=W1, last=W1, by_dimensions=(GENDER, REGION)) == {
        (W1, None, None, "north"): (1, 1, 1, 0, 0, None),
        (W1, None, "f", "south"): (1, 1, 1, 0, 1, 0.8),
    }


def test_rebuilding_gives_the_same_figures_and_takes_new_dimensions(seeded):
    before = (progress(seeded), cells(seeded, by_course=True, by_dimensions=(REGION,)),
              seeded.report_modules("default", ReportFilter(course=C)))
    assert seeded.rebuild_report_facts("default", DIMENSIONS) == 11  # the 12 less the voided
    assert before == (progress(seeded), cells(seeded, by_course=True, by_dimensions=(REGION,)),
                      seeded.report_modules("default", ReportFilter(course=C)))
    seeded.rebuild_report_facts("default", (GENDER,))
    assert set(cells(seeded, by_dimensions=(REGION,))) == {(W1, None, None), (W2, None, None),
                                                          (W6, None, None)}
    assert cells(seeded, by_dimensions=(GENDER,))[(W1, None, "m")][0] == 1
    other = seeded.report_indicators("other", IndicatorQuery("week", W1, W6))
    assert sum(cell.statements for cell in other) == 12


def test_an_sqlite_file_of_the_layout_before_reports_gets_its_facts(tmp_path):
    """Opening a file written before the report facts (layout 3) computes them from its
    statements, with the dimensions of each tenant's stored policy."""
    import sqlite3

    from storage import open_storage
    from storage.sqlite.schema import SCHEMA_VERSION

    path = tmp_path / "lrs.db"
    with open_storage(f"sqlite:///{path}") as store:
        stamper = Stamper()
        insert_statements(store, "default", stamper.records(seeded_statements()))
        insert_statements(store, "default", stamper.records([voiding(VOIDED_ID)]))
        expected = cells(store, by_course=True)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE tenants SET policy = ? WHERE name = 'default'",
                      (f'{{"dimensions": {{"region": "{REGION}"}}}}',))
        for table in ("report_facts", "report_days", "report_firsts", "report_folded"):
            conn.execute(f"DELETE FROM {table}")
        conn.execute("PRAGMA user_version = 4")
    with open_storage(f"sqlite:///{path}") as store:
        assert cells(store, by_course=True) == expected
        assert set(cells(store, by_dimensions=(REGION,))) == {
            (W1, None, "north"), (W1, None, "south"), (W2, None, "north"),
            (W2, None, "south"), (W6, None, "north")}
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


def _fold_state(path):
    """(the seq folded up to, statements waiting, fact rows, summary rows) of an SQLite file."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT (SELECT COALESCE(MAX(seq), 0) FROM report_folded WHERE tenant = 'default'),"
            " (SELECT COALESCE(SUM(statements), 0) FROM report_pending),"
            " (SELECT COUNT(*) FROM report_facts), (SELECT COUNT(*) FROM report_days)"
        ).fetchone()


def test_sqlite_folds_waiting_statements_past_the_backlog_in_chunks_or_before_a_read(
    tmp_path, monkeypatch
):
    """SQLite keeps a batch's report fields waiting and makes them facts and summaries
    later: a write folds a chunk (whole batches) once FOLD_BACKLOG statements went by since
    the last fold, and every report folds all that waits before reading; a waiting
    statement voided is taken out of its batch."""
    from storage import open_storage

    path = tmp_path / "lrs.db"
    statements = seeded_statements()
    monkeypatch.setattr("storage.sqlite.reports.FOLD_BACKLOG", 8)
    monkeypatch.setattr("storage.sqlite.reports.FOLD_CHUNK", 4)
    with open_storage(f"sqlite:///{path}") as store:
        stamper = Stamper()
        for statement in statements[:7]:
            insert_statements(store, "default", stamper.records([statement]))
        assert _fold_state(path) == (0, 7, 0, 0)  # nothing of the reports written at ingest
        insert_statements(store, "default", stamper.records([statements[7]]))
        seq, waiting, facts, days = _fold_state(path)
        assert (seq, waiting) == (4, 4) and facts >= 4 and days > 0
        insert_statements(store, "default", stamper.records(statements[8:]))  # seq 12
        assert _fold_state(path)[:2] == (8, 4)
        insert_statements(store, "default", stamper.records([voiding(VOIDED_ID)]))
        assert _fold_state(path)[:2] == (8, 3)  # the voided one (seq 11) left its batch
        expected = cells(store, by_course=True)
        assert _fold_state(path)[:2] == (len(statements), 0)
        insert_statements(store, "twin", stamper.records(statements))
        insert_statements(store, "twin", stamper.records([voiding(VOIDED_ID)]))
        assert cells(store, tenant="twin", by_course=True) == expected


@pytest.mark.parametrize("report", ["progress", "modules"])
def test_sqlite_progress_and_modules_fold_what_waits_first(tmp_path, report):
    from storage import open_storage

    path = tmp_path / "lrs.db"
    with open_storage(f"sqlite:///{path}") as store:
        insert_statements(store, "default", Stamper().records(seeded_statements()))
        assert _fold_state(path)[1] == len(seeded_statements())
        if report == "progress":
            modules, rows = progress(store)
            assert modules and rows
        else:
            assert store.report_modules("default", ReportFilter(course=C))
        assert _fold_state(path)[1] == 0


def test_sqlite_folds_when_quiet_only_after_a_call_that_saw_no_new_statement(tmp_path):
    """`fold_when_quiet` (what `lrs serve` calls every `report_fold_quiet_ms`) folds only
    when no statement was stored since its previous call, and `limit` statements rounded
    up to whole batches."""
    from storage import open_storage

    path = tmp_path / "lrs.db"
    statements = seeded_statements()
    with open_storage(f"sqlite:///{path}") as store:
        stamper = Stamper()
        insert_statements(store, "default", stamper.records(statements[:3]))
        insert_statements(store, "default", stamper.records(statements[3:6]))
        assert store.fold_when_quiet(2) == 0  # the first call only notes the last statement
        assert store.fold_when_quiet(2) == 3
        insert_statements(store, "default", stamper.records(statements[6:]))
        assert store.fold_when_quiet(100) == 0  # a statement came since: not quiet
        assert store.fold_when_quiet(100) == len(statements) - 3
        assert store.fold_when_quiet(100) == 0  # nothing waits
        assert _fold_state(path)[:2] == (len(statements), 0)
        assert cells(store, by_course=True)


def test_an_sqlite_file_of_layout_7_gets_its_waiting_fields_numbered(tmp_path):
    """Layout 7 kept the waiting report fields as texts and the facts keyed by day: opened
    at layout 8, the fields are numbered in place and the facts keyed by seq, and the
    reports equal those of the same statements stored at layout 8 (a waiting voided
    statement still leaves its batch)."""
    import sqlite3

    import orjson

    from statements import stored_report_fields
    from storage import open_storage
    from storage.sqlite.schema import SCHEMA_VERSION

    statements = seeded_statements()
    expected_path, path = tmp_path / "expected.db", tmp_path / "lrs.db"
    for target in (expected_path, path):
        with open_storage(f"sqlite:///{target}") as store:
            stamper = Stamper()
            insert_statements(store, "default", stamper.records(statements[:5]))
            cells(store, by_course=True)  # folds these five
            insert_statements(store, "default", stamper.records(statements[5:7]))
            insert_statements(store, "default", stamper.records(statements[7:]))
    with sqlite3.connect(path) as conn:
        (table,) = conn.execute(
            "SELECT sql FROM sqlite_schema WHERE name = 'report_facts'").fetchone()
        conn.execute("ALTER TABLE report_facts RENAME TO keyed_by_seq")
        conn.execute(table.replace("(tenant, course, seq)", "(tenant, course, day, seq)"))
        conn.execute("INSERT INTO report_facts SELECT * FROM keyed_by_seq")
        conn.execute("DROP TABLE keyed_by_seq")
        conn.execute("CREATE INDEX report_facts_tenant_seq ON report_facts (tenant, seq)")
        texts = {
            seq: orjson.dumps([seq, *stored_report_fields(raw, DIMENSIONS)])
            for seq, raw in conn.execute("SELECT seq, statement FROM statements")
        }
        for first, fields in conn.execute("SELECT seq, fields FROM report_pending").fetchall():
            items = b",".join(texts[item[0]] for item in orjson.loads(fields))
            conn.execute("UPDATE report_pending SET fields = ? WHERE seq = ?",
                         (b"[" + items + b"]", first))
        conn.execute("PRAGMA user_version = 7")
    for target in (expected_path, path):
        with open_storage(f"sqlite:///{target}") as store:
            insert_statements(store, "default", Stamper().records([voiding(VOIDED_ID)]))
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        (table,) = conn.execute(
            "SELECT sql FROM sqlite_schema WHERE name = 'report_facts'").fetchone()
        assert "PRIMARY KEY (tenant, course, seq)" in table
        assert conn.execute("SELECT COUNT(*) FROM report_facts").fetchone()[0] >= 5
        assert conn.execute("SELECT 1 FROM sqlite_schema WHERE name ="
                            " 'report_facts_tenant_seq'").fetchone()
        items = [item for (fields,) in conn.execute("SELECT fields FROM report_pending")
                 for item in orjson.loads(fields)]
        assert len(items) == len(statements) - 5 - 1  # the voided one left its batch
        assert all(isinstance(item[1], int) for item in items)
    with open_storage(f"sqlite:///{expected_path}") as expected, \
            open_storage(f"sqlite:///{path}") as store:
        for by in ({"by_course": True}, {"by_dimensions": (REGION,)}):
            assert cells(store, **by) == cells(expected, **by)
        assert progress(store) == progress(expected)
        assert (store.report_modules("default", ReportFilter(course=C))
                == expected.report_modules("default", ReportFilter(course=C)))


def test_an_sqlite_file_of_layout_6_gets_its_unfolded_facts_folded(tmp_path):
    """Layout 6 wrote the facts at ingest and folded them later: opened at layout 8, its
    facts not folded yet are folded (once: the summaries equal those folded before)."""
    import sqlite3

    from storage import open_storage
    from storage.sqlite.schema import SCHEMA_VERSION

    path = tmp_path / "lrs.db"
    with open_storage(f"sqlite:///{path}") as store:
        insert_statements(store, "default", Stamper().records(seeded_statements()))
        expected = cells(store, by_course=True)
    with sqlite3.connect(path) as conn:
        for table in ("report_days", "report_firsts", "report_folded"):
            conn.execute(f"DELETE FROM {table}")
        conn.execute("PRAGMA user_version = 6")
    with open_storage(f"sqlite:///{path}") as store:
        assert _fold_state(path)[0] == len(seeded_statements())
        assert cells(store, by_course=True) == expected
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


def test_an_sqlite_file_of_layout_5_keeps_its_summaries_as_folded(tmp_path):
    """Layout 5 kept the summaries at ingest: opened at layout 6, its facts count as folded
    (never added twice), and the facts' old index by seq alone is dropped."""
    import sqlite3

    from storage import open_storage
    from storage.sqlite.schema import SCHEMA_VERSION

    path = tmp_path / "lrs.db"
    with open_storage(f"sqlite:///{path}") as store:
        stamper = Stamper()
        insert_statements(store, "default", stamper.records(seeded_statements()))
        expected = cells(store, by_course=True)
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM report_folded")
        conn.execute("DROP INDEX report_facts_tenant_seq")
        conn.execute("CREATE INDEX report_facts_seq ON report_facts (seq)")
        conn.execute("PRAGMA user_version = 5")
    with open_storage(f"sqlite:///{path}") as store:
        assert cells(store, by_course=True) == expected
    with sqlite3.connect(path) as conn:
        indexes = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'report_facts'")}
        assert "report_facts_seq" not in indexes and "report_facts_tenant_seq" in indexes
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


def test_an_sqlite_file_of_layout_8_gets_the_starts_of_its_first_facts(tmp_path):
    """Layout 8 counted a course's new learners from `report_firsts` alone: opened at
    layout 9, `report_days` gains `starts`, set on the row of every first fact and kept
    from then on (a statement dated before a learner's first, and the voiding of a first,
    move it), so the figures equal those of the same statements stored at layout 9."""
    import sqlite3

    from reports_data import report_statement

    from storage import open_storage
    from storage.sqlite.schema import SCHEMA_VERSION

    expected_path, path = tmp_path / "expected.db", tmp_path / "lrs.db"
    stampers = {}
    for target in (expected_path, path):
        with open_storage(f"sqlite:///{target}") as store:
            stampers[target] = Stamper()
            insert_statements(store, "default", stampers[target].records(seeded_statements()))
            cells(store, by_course=True)  # folds them
    with sqlite3.connect(path) as conn:
        for name in ("in", "moved", "out"):
            conn.execute(f"DROP TRIGGER report_firsts_{name}")
        conn.execute("ALTER TABLE report_days DROP COLUMN starts")
        conn.execute("PRAGMA user_version = 8")

    def figures_by_course(store):
        return [cells(store, **by) for by in (
            {"by_course": True}, {"by_course": True, "by_dimensions": (REGION,)},
            {"filter": {"course": C}}, {"interval": "day", "first": 19723, "last": 19760,
                                         "by_course": True},
        )]

    earlier = report_statement("c", "attempted", M1, "01-01T07:00", parent=C)
    for step in (None, [earlier], [voiding(seeded_statements()[0]["id"])]):
        with open_storage(f"sqlite:///{expected_path}") as expected, \
                open_storage(f"sqlite:///{path}") as store:
            if step is not None:
                for target, each in ((expected_path, expected), (path, store)):
                    insert_statements(each, "default", stampers[target].records(step))
            assert figures_by_course(store) == figures_by_course(expected)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert conn.execute("SELECT SUM(starts) FROM report_days").fetchone() == \
            conn.execute("SELECT COUNT(*) FROM report_firsts").fetchone()

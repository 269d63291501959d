"""Report facts and the summaries kept from them in SQLite, and the reports SQL computes
from them (`Storage.report_*`); nothing is computed in Python but the rows' own fields.

Tables (learners, activities, verbs and registrations are numbered in `filter_keys`, by the
same key texts the statement filters use: "a|", "o|", "v|", "r|"):

- `report_facts`: one row per statement and course it counts for (`statements.report`),
  primary key (tenant, course, seq): one course's facts are one range (progress and
  module reports read only it), and new facts land at the end of their course's range
  whatever their time (a fold dirties a few pages per course, not one per fact: the write
  cost that matters here). With the day after the course (layouts 5-7), statements dated
  across a year put each fact on a page of its own: inserting 500 such facts at a time into
  a table of 200,000 cost 20.8 µs CPU per fact (13.1 of it the commit's page writes)
  against 6.3 (1.4) keyed by seq (a throwaway measurement of the inserts alone). A time
  window within a course is then a filter on its range, not a seek.
  `flags`: 1 the statement's first course (tenant-wide figures count each statement once),
  2 completed, 4 passed. Index `report_facts_tenant_seq`: a statement's facts, for deleting
  them, and the facts a fold just wrote (one range, whatever other tenants store).
- `report_profiles`, `report_profile_values`: each distinct set of dimension values a
  tenant's statements carried, numbered once; facts and summaries hold the number.
- `report_days`: per day, course, profile and learner, the counts the indicators need
  (statements; of them first-course ones; course completions; scores and their sum, of all
  and of first-course facts), with the day's week and month. A year of weekly indicators
  reads one row per learner, course and day (about a quarter of the statements in
  bench/passport.py's store) instead of one per statement (grouping a million facts took
  SQLite several seconds). `starts` is 1 on the row holding a learner's first fact in the
  course (its `report_firsts` row), kept by triggers on `report_firsts`: the new learners
  per course are counted in the same grouping as the active ones (for bench/passport.py's
  weekly indicators by course and region, a grouping of `report_firsts` of its own took
  178 ms and the sum takes 85, on a machine where a 10M-step Python loop takes 2.4 s).
  Partial index `report_days_completions`: the rows with a course completion (at most a
  few per learner and course), through which the learners who completed are counted.
- `report_firsts`: per learner and course, the first fact (time, seq, buckets, profile):
  the `starts`, and the tenant-wide new learners of a bucket (each learner's earliest).
- `report_folded`: per tenant, the seq up to which its statements are in the facts and
  summaries.
- `report_pending`: per batch stored since, its statements' report fields (one JSON
  array of `Waiting` items: key and profile numbers, not texts), waiting; numbered by the
  batch's first seq.

Off the write path: a batch stores its statements' report fields with them, in their
transaction, as one row appended to `report_pending` (a row per statement cost 14 µs per
statement); `fold` makes the waiting fields facts (numbered, sorted by the facts' primary
key, so each course's range gets its new rows together) and adds them to the summaries,
grouped from the rows it just wrote (`_summarize`).
Writing the two facts of a statement with its batch cost about 30 µs CPU per statement and
folding them another 30 (bench/profile_ingest.py's shape, on a machine where the whole
write path took 600): each batch dirtied a page at the end of every course's range, and the
fold inside a write stalled every writer. Folding runs before any report reads (so reports
are exact), inside a write once `FOLD_BACKLOG` statements were stored since the tenant's
last fold (a chunk at a time, so no write stalls long and a report never folds much), and
when the store is quiet (`SQLiteStorage.fold_when_quiet`, which `lrs serve` calls when
`report_fold_quiet_ms` is set): a burst of statements pays only the pending rows.
Upserting the summaries per batch instead rewrote most of the day's summary pages at every
commit (28 µs per statement).

Exactness: a statement counts in the reports once folded, and a report folds everything
waiting before it reads. `delete_facts` takes waiting statements out of their batch's row,
and the facts of folded ones out of every table (counts of folded facts decremented, rows
left at zero removed, a first fact that goes replaced by the next one), in the caller's
transaction. Voiding calls it
(`Transaction.delete_report_facts`), and so must every deletion of statements (erasure,
retention), before their rows are deleted. A waiting item numbers only its statement's own
keys (numbered as the statement was stored, so the fold looks none up), which live as long
as the statement; its courses stay IRIs, numbered by the fold: a key no row uses is
deleted (`statements._drop_unused_keys`), and a course named only in context is no key of
its statement. Numbers, not texts, made the waiting rows a quarter of their size (115 bytes
of JSON per bench/passport.py statement instead of 465) and the fold about a quarter
cheaper (no key lookups, less JSON); the write path pays about 1 µs per statement more
(numbering the batch's profiles, building the items).
"""

from __future__ import annotations

import operator
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from statements import ReportFields, bucket_bounds, stored_report_fields
from storage.records import (
    IndicatorCell,
    IndicatorQuery,
    ModuleRow,
    ProgressRow,
    ReportFilter,
)
from storage.sqlite.statements import key_ids

_LEARNER, _ACTIVITY, _VERB, _REGISTRATION = "a|", "o|", "v|", "r|"
MICROS_PER_DAY = 86_400_000_000
_FIRST, _COMPLETED, _PASSED = 1, 2, 4

# `report_days.starts`, 1 on the row holding a `report_firsts` row's fact, kept by triggers
# on `report_firsts` (so every path that changes a first fact, folding, deletion and
# rebuilding, moves it).
_STARTS = (
    "UPDATE report_days SET starts = {0} WHERE tenant = {1}.tenant AND day = {1}.day"
    " AND course = {1}.course AND profile = {1}.profile AND learner = {1}.learner;"
)

DDL = (
    """CREATE TABLE IF NOT EXISTS report_facts (
        tenant TEXT NOT NULL,
        course INTEGER NOT NULL,
        learner INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        object INTEGER NOT NULL,
        verb INTEGER NOT NULL,
        registration INTEGER,
        t INTEGER NOT NULL,
        day INTEGER NOT NULL,
        week INTEGER NOT NULL,
        month INTEGER NOT NULL,
        flags INTEGER NOT NULL,
        score REAL,
        duration REAL,
        profile INTEGER NOT NULL,
        PRIMARY KEY (tenant, course, seq)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS report_facts_tenant_seq ON report_facts (tenant, seq)",
    """CREATE TABLE IF NOT EXISTS report_profiles (
        profile INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        dims TEXT NOT NULL,
        UNIQUE (tenant, dims)
    )""",
    """CREATE TABLE IF NOT EXISTS report_profile_values (
        tenant TEXT NOT NULL,
        iri TEXT NOT NULL,
        profile INTEGER NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (tenant, iri, profile)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS report_days (
        tenant TEXT NOT NULL,
        day INTEGER NOT NULL,
        course INTEGER NOT NULL,
        profile INTEGER NOT NULL,
        learner INTEGER NOT NULL,
        week INTEGER NOT NULL,
        month INTEGER NOT NULL,
        statements INTEGER NOT NULL,
        firsts INTEGER NOT NULL,
        completions INTEGER NOT NULL,
        scores INTEGER NOT NULL,
        score_sum REAL NOT NULL,
        first_scores INTEGER NOT NULL,
        first_score_sum REAL NOT NULL,
        starts INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant, day, course, profile, learner)
    ) WITHOUT ROWID""",
    # The few rows with a course completion, for counting the learners who completed
    # (`_active_from_days`).
    "CREATE INDEX IF NOT EXISTS report_days_completions ON report_days (tenant, day)"
    " WHERE completions > 0",
    """CREATE TABLE IF NOT EXISTS report_firsts (
        tenant TEXT NOT NULL,
        learner INTEGER NOT NULL,
        course INTEGER NOT NULL,
        t INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        day INTEGER NOT NULL,
        week INTEGER NOT NULL,
        month INTEGER NOT NULL,
        profile INTEGER NOT NULL,
        PRIMARY KEY (tenant, learner, course)
    ) WITHOUT ROWID""",
    *(
        f"CREATE TRIGGER IF NOT EXISTS report_firsts_{name} AFTER {event} ON report_firsts"
        f" BEGIN {body} END"
        for name, event, body in (
            ("in", "INSERT", _STARTS.format(1, "NEW")),
            ("moved", "UPDATE", _STARTS.format(0, "OLD") + _STARTS.format(1, "NEW")),
            ("out", "DELETE", _STARTS.format(0, "OLD")),
        )
    ),
    """CREATE TABLE IF NOT EXISTS report_folded (
        tenant TEXT PRIMARY KEY,
        seq INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS report_pending (
        seq INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        statements INTEGER NOT NULL,
        fields BLOB NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS report_pending_tenant ON report_pending (tenant, seq)",
)
# Statements stored (of every tenant) since a tenant's last fold past which each write of
# the tenant's statements folds `FOLD_CHUNK` of them: about the most a report's first
# request has to fold, and the most statements a burst stores before any folding. A chunk
# holds the writer's turn while it folds, which every other write then waits for (about
# 10 ms for 500 here, 40 for 2,000; the sustained rate is the same either way).
FOLD_BACKLOG = 20_000
FOLD_CHUNK = 500

_FACT_COLUMNS = (
    "tenant, course, learner, seq, object, verb, registration, t, day, week, month, flags,"
    " score, duration, profile"
)
# A summary row's counts plus a fold's (`_summarize`).
_ADD_DAY = (
    "INSERT INTO report_days (tenant, day, course, profile, learner, week, month, statements,"
    " firsts, completions, scores, score_sum, first_scores, first_score_sum)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT (tenant, day, course, profile, learner) DO UPDATE SET"
    " statements = statements + excluded.statements, firsts = firsts + excluded.firsts,"
    " completions = completions + excluded.completions, scores = scores + excluded.scores,"
    " score_sum = score_sum + excluded.score_sum,"
    " first_scores = first_scores + excluded.first_scores,"
    " first_score_sum = first_score_sum + excluded.first_score_sum"
)
# A learner's first fact in a course, unless the one kept is earlier.
_ADD_FIRST = (
    "INSERT INTO report_firsts (tenant, learner, course, t, seq, day, week, month, profile)"
    " VALUES (?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT (tenant, learner, course) DO UPDATE SET t = excluded.t,"
    " seq = excluded.seq, day = excluded.day, week = excluded.week, month = excluded.month,"
    " profile = excluded.profile WHERE (excluded.t, excluded.seq) < (t, seq)"
)
# A summary row's counts less the deleted facts' (sums reset when their count reaches 0, so
# no float remainder outlives the scores it came from); rows left at 0 are deleted next.
_TAKE_DAY = (
    "UPDATE report_days SET statements = statements - ?, firsts = firsts - ?,"
    " completions = completions - ?,"
    " score_sum = CASE WHEN scores = ? THEN 0 ELSE score_sum - ? END, scores = scores - ?,"
    " first_score_sum = CASE WHEN first_scores = ? THEN 0 ELSE first_score_sum - ? END,"
    " first_scores = first_scores - ?"
    " WHERE tenant = ? AND day = ? AND course = ? AND profile = ? AND learner = ?"
)

def _json(values: Iterable[object]) -> bytes:
    return orjson.dumps(list(values))


# -- writes ---------------------------------------------------------------------------------


# A statement waiting to be folded, as a `report_pending` item holds it: its seq, the key
# numbers (`filter_keys`) of its learner, object, verb and registration (or None), its
# courses' IRIs, its time, day, week and month, its flags (`_COMPLETED`, `_PASSED`), score,
# duration and profile number.
Waiting = Sequence[Any]
_FACT_ORDER = operator.itemgetter(1, 3)  # course, seq: the primary key after tenant


def _own_keys(counted: Iterable[tuple[int, ReportFields]]) -> set[str]:
    """The `filter_keys` texts of what a waiting item numbers: its statement's own keys
    (`statements.record_keys`)."""
    keys: set[str] = set()
    for _, fields in counted:
        keys.update((_LEARNER + fields.learner, _ACTIVITY + fields.activity,
                     _VERB + fields.verb))
        if fields.registration is not None:
            keys.add(_REGISTRATION + fields.registration)
    return keys


def waiting_items(
    conn: sqlite3.Connection, tenant: str, counted: Sequence[tuple[int, ReportFields]],
    numbers: dict[str, int],
) -> list[tuple[Any, ...]]:
    """The `Waiting` items of statements (by their seq), their keys numbered by `numbers`
    (KeyError for a key it lacks) and their dimension values by profile. Courses stay
    IRIs: a course named only in context is no key of its statement, and a key no row
    uses can be deleted while the statement waits (`statements._drop_unused_keys`)."""
    profiles = _profile_ids(conn, tenant, {fields.dimensions for _, fields in counted})
    return [
        (seq, numbers[_LEARNER + learner], numbers[_ACTIVITY + activity],
         numbers[_VERB + verb],
         None if registration is None else numbers[_REGISTRATION + registration], courses,
         time, day, week, month, (_COMPLETED if completed else 0) | (_PASSED if passed else 0),
         score, duration, profiles[dimensions])
        for seq, (learner, activity, courses, verb, registration, time, day, week, month,
                  completed, passed, score, duration, dimensions) in counted
    ]


def _numbered_items(
    conn: sqlite3.Connection, tenant: str, counted: Sequence[tuple[int, ReportFields]]
) -> list[tuple[Any, ...]]:
    """`waiting_items` with the keys looked up in `filter_keys` (numbering new ones)."""
    return waiting_items(conn, tenant, counted, key_ids(conn, tenant, _own_keys(counted)))


def add_pending(
    conn: sqlite3.Connection, tenant: str, counted: Sequence[tuple[int, ReportFields]],
    numbers: dict[str, int],
) -> None:
    """Keep the report fields of a batch of statements just stored (by their seq) until
    `fold` makes them facts (module docstring), numbered by `numbers`, the batch's own keys
    as `statements.insert` numbered them; past `FOLD_BACKLOG` statements since the
    tenant's last fold, fold the oldest `FOLD_CHUNK` of them now."""
    if not counted:
        return
    try:
        items = waiting_items(conn, tenant, counted, numbers)
    except KeyError:  # report fields not made with the record (`build_record`) name others
        items = _numbered_items(conn, tenant, counted)
    conn.execute(
        "INSERT INTO report_pending (seq, tenant, statements, fields) VALUES (?, ?, ?, ?)",
        (counted[0][0], tenant, len(counted), orjson.dumps(items)),
    )
    if counted[-1][0] - folded(conn, tenant) >= FOLD_BACKLOG:
        fold(conn, tenant, limit=FOLD_CHUNK)


def insert_facts(
    conn: sqlite3.Connection, tenant: str, items: Sequence[Waiting]
) -> list[tuple[Any, ...]]:
    """Write the report facts of waiting statements, in their primary key's order: each
    course's new facts go to the end of its range together; the rows written (in
    `_FACT_COLUMNS` order)."""
    if not items:
        return []
    names = {course for item in items for course in item[5]}
    numbers = key_ids(conn, tenant, {_ACTIVITY + name for name in names})
    course_ids = {name: numbers[_ACTIVITY + name] for name in names}
    facts: list[tuple[Any, ...]] = []
    append = facts.append
    for (seq, learner, activity, verb, registration, courses, time, day, week, month, flags,
         score, duration, profile) in items:
        first = flags | _FIRST
        for course in courses:
            append((tenant, course_ids[course], learner, seq, activity, verb, registration,
                    time, day, week, month, first, score, duration, profile))
            first = flags
    facts.sort(key=_FACT_ORDER)
    conn.executemany(
        f"INSERT INTO report_facts ({_FACT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        facts,
    )
    return facts


def folded(conn: sqlite3.Connection, tenant: str) -> int:
    """The seq up to which the tenant's statements are in its facts and summaries."""
    found = conn.execute(
        "SELECT seq FROM report_folded WHERE tenant = ?", (tenant,)
    ).fetchone()
    return 0 if found is None else int(found[0])


def pending(conn: sqlite3.Connection, tenant: str | None = None) -> bool:
    """Whether statements of the tenant (of any tenant: None) wait to be folded (a read:
    reports fold first when so)."""
    if tenant is None:
        return conn.execute("SELECT 1 FROM report_pending LIMIT 1").fetchone() is not None
    return conn.execute(
        "SELECT 1 FROM report_pending WHERE tenant = ? LIMIT 1", (tenant,)
    ).fetchone() is not None


def fold(conn: sqlite3.Connection, tenant: str, *, limit: int | None = None) -> int:
    """Make the report fields of the tenant's oldest waiting batches (all, or `limit`
    statements' worth, rounded up to whole batches) facts, and add those to `report_days`
    and `report_firsts`, in the caller's write transaction (module docstring); how many
    statements were folded."""
    cursor = conn.execute(
        "SELECT seq, statements, fields FROM report_pending WHERE tenant = ? ORDER BY seq",
        (tenant,),
    )
    batches, count = [], 0
    for batch in cursor:
        batches.append(batch)
        count += batch[1]
        if limit is not None and count >= limit:
            break
    cursor.close()
    if not batches:
        return 0
    items = [item for _, _, text in batches for item in orjson.loads(text)]
    facts = insert_facts(conn, tenant, items)
    conn.execute(
        "DELETE FROM report_pending WHERE tenant = ? AND seq <= ?", (tenant, batches[-1][0])
    )
    _summarize(conn, tenant, facts, items[-1][0])
    return count


def fold_any(conn: sqlite3.Connection, limit: int) -> int:
    """`fold` up to `limit` statements of the tenant whose statements waited longest."""
    found = conn.execute("SELECT tenant FROM report_pending ORDER BY seq LIMIT 1").fetchone()
    return 0 if found is None else fold(conn, found[0], limit=limit)


def _summarize(
    conn: sqlite3.Connection, tenant: str, facts: Iterable[Sequence[Any]], last: int
) -> None:
    """Add these facts of the tenant (rows in `_FACT_COLUMNS` order), its statements up to
    seq `last`, to the summaries. Grouped here, from the rows at hand: a `GROUP BY` reading
    the facts just written back through their seq index cost 12 µs per bench/passport.py
    statement, these upserts 4."""
    days: dict[tuple[int, int, int, int], list[Any]] = {}
    firsts: dict[tuple[int, int], tuple[int, ...]] = {}
    for (_, course, learner, seq, activity, _, _, t, day, week, month, flags, score, _,
         profile) in facts:
        key = (day, course, profile, learner)
        row = days.get(key)
        if row is None:
            row = days[key] = [week, month, 0, 0, 0, 0, 0.0, 0, 0.0]
        # `_count`'s rules, inlined (a call per fact cost 3 µs per statement).
        first = flags & _FIRST
        row[2] += 1
        if first:
            row[3] += 1
        if activity == course and flags & _COMPLETED:
            row[4] += 1
        if score is not None:
            row[5] += 1
            row[6] += score
            if first:
                row[7] += 1
                row[8] += score
        kept = firsts.get((learner, course))
        if kept is None or (t, seq) < kept[:2]:
            firsts[(learner, course)] = (t, seq, day, week, month, profile)
    # The days first: `report_firsts`' triggers mark the rows of its first facts.
    conn.executemany(_ADD_DAY, [(tenant, *key, *row) for key, row in days.items()])
    conn.executemany(
        _ADD_FIRST, [(tenant, *pair, *first) for pair, first in firsts.items()]
    )
    conn.execute(
        "INSERT INTO report_folded (tenant, seq) VALUES (?, ?)"
        " ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq",
        (tenant, last),
    )


def mark_folded(conn: sqlite3.Connection) -> None:
    """Layout 5 -> 6: the summaries of a file of layout 5 were kept at ingest, so every
    tenant's facts are folded up to their last; the facts' index by seq alone gives way to
    `report_facts_tenant_seq`."""
    conn.execute("DROP INDEX IF EXISTS report_facts_seq")
    conn.execute(
        "INSERT INTO report_folded (tenant, seq) SELECT tenant, MAX(seq) FROM report_facts"
        " GROUP BY tenant ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq"
    )


def fold_facts(conn: sqlite3.Connection) -> None:
    """Layout 6 -> 7: a file of layout 6 wrote the facts at ingest and folded them into the
    summaries later; its facts not folded yet are folded now (nothing waits in
    `report_pending` in such a file)."""
    for (tenant,) in conn.execute("SELECT DISTINCT tenant FROM report_facts").fetchall():
        facts = conn.execute(
            f"SELECT {_FACT_COLUMNS} FROM report_facts INDEXED BY report_facts_tenant_seq"
            " WHERE tenant = ? AND seq > ? ORDER BY seq",
            (tenant, folded(conn, tenant)),
        ).fetchall()
        if facts:
            _summarize(conn, tenant, facts, facts[-1][3])


def add_starts(conn: sqlite3.Connection) -> None:
    """Layouts 5-8 -> 9, before anything is folded: `report_days` gains `starts` (0 until
    `mark_starts`), unless it has it."""
    if not any(row[1] == "starts" for row in conn.execute("PRAGMA table_info(report_days)")):
        conn.execute("ALTER TABLE report_days ADD COLUMN starts INTEGER NOT NULL DEFAULT 0")


def mark_starts(conn: sqlite3.Connection) -> None:
    """Layouts 5-8 -> 9, after the other steps: `starts` set on the row of every first
    fact (the triggers keep it from then on)."""
    conn.execute(
        "UPDATE report_days SET starts = 1 FROM report_firsts AS f"
        " WHERE report_days.tenant = f.tenant AND report_days.day = f.day"
        " AND report_days.course = f.course AND report_days.profile = f.profile"
        " AND report_days.learner = f.learner"
    )


def key_facts_by_seq(conn: sqlite3.Connection) -> None:
    """Layouts 5-7 -> 8: the facts' primary key loses its day (module docstring): the
    table is copied into one keyed (tenant, course, seq) and takes its place."""
    conn.execute(DDL[0].replace("IF NOT EXISTS report_facts", "report_facts_by_seq"))
    conn.execute(
        f"INSERT INTO report_facts_by_seq ({_FACT_COLUMNS}) SELECT {_FACT_COLUMNS}"
        " FROM report_facts ORDER BY tenant, course, seq"
    )
    conn.execute("DROP TABLE report_facts")
    conn.execute("ALTER TABLE report_facts_by_seq RENAME TO report_facts")
    conn.execute(DDL[1])


def number_pending(conn: sqlite3.Connection) -> None:
    """Layout 7 -> 8: the waiting items of a file of layout 7 hold their report fields as
    texts (the seq, then `ReportFields` in its order); they are numbered in place."""
    rows = conn.execute("SELECT seq, tenant, fields FROM report_pending").fetchall()
    for seq, tenant, text in rows:
        counted = []
        for item in orjson.loads(text):
            fields = ReportFields(*item[1:])
            pairs = tuple((iri, value) for iri, value in fields.dimensions)
            counted.append((item[0], fields._replace(dimensions=pairs)))
        conn.execute(
            "UPDATE report_pending SET fields = ? WHERE seq = ?",
            (orjson.dumps(_numbered_items(conn, tenant, counted)), seq),
        )


def _count(
    counts: list[float], activity: int, course: int, flags: int, score: float | None, sign: int
) -> None:
    """Add (`sign` 1) or take away (-1) one fact from a summary row's counts."""
    first = flags & _FIRST
    counts[0] += sign
    counts[1] += sign if first else 0
    counts[2] += sign if activity == course and flags & _COMPLETED else 0
    if score is not None:
        counts[3] += sign
        counts[4] += sign * score
        if first:
            counts[5] += sign
            counts[6] += sign * score


def _profile_ids(
    conn: sqlite3.Connection, tenant: str, profiles: set[tuple[tuple[str, str], ...]]
) -> dict[tuple[tuple[str, str], ...], int]:
    """The number of each set of dimension values (its (IRI, value) pairs), numbering the
    new ones."""
    pairs = {profile: sorted(profile) for profile in profiles}
    texts = {profile: orjson.dumps(values).decode() for profile, values in pairs.items()}
    known = dict(
        conn.execute(
            "SELECT dims, profile FROM report_profiles WHERE tenant = ?"
            " AND dims IN (SELECT value FROM json_each(?))",
            (tenant, _json(texts.values())),
        )
    )
    numbers = {}
    for profile, text in texts.items():
        number = known.get(text)
        if number is None:
            (number,) = conn.execute(
                "INSERT INTO report_profiles (tenant, dims) VALUES (?, ?) RETURNING profile",
                (tenant, text),
            ).fetchone()
            conn.executemany(
                "INSERT INTO report_profile_values (tenant, iri, profile, value)"
                " VALUES (?,?,?,?)",
                [(tenant, iri, number, value) for iri, value in pairs[profile]],
            )
        numbers[profile] = number
    return numbers


def backfill(conn: sqlite3.Connection) -> None:
    """Layout 2 -> 3: `rebuild` every tenant with the dimensions its stored policy names (a
    tenant whose dimensions follow the configuration gets none kept until
    `Storage.rebuild_report_facts` runs for it). Runs inside the migration's transaction."""
    dimensions = {
        name: list(orjson.loads(policy).get("dimensions", {}).values())
        for name, policy in conn.execute("SELECT name, policy FROM tenants")
    }
    for (tenant,) in conn.execute("SELECT DISTINCT tenant FROM statements").fetchall():
        rebuild(conn, tenant, dimensions.get(tenant, ()))


def rebuild(
    conn: sqlite3.Connection, tenant: str, dimensions: Sequence[str], *, chunk: int = 2000
) -> int:
    """`Storage.rebuild_report_facts`: drop the tenant's facts and summaries and compute
    them again from its live statements, in the caller's transaction; how many statements
    count."""
    for table in (
        "report_facts", "report_days", "report_firsts", "report_folded", "report_pending"
    ):
        conn.execute(f"DELETE FROM {table} WHERE tenant = ?", (tenant,))
    last = 0
    counted = 0
    while True:
        rows = conn.execute(
            "SELECT seq, statement FROM statements WHERE tenant = ? AND seq > ? AND voided = 0"
            " ORDER BY seq LIMIT ?",
            (tenant, last, chunk),
        ).fetchall()
        if not rows:
            return counted
        last = rows[-1][0]
        facts = [(seq, stored_report_fields(raw, dimensions)) for seq, raw in rows]
        found = [(seq, fields) for seq, fields in facts if fields is not None]
        _summarize(
            conn, tenant, insert_facts(conn, tenant, _numbered_items(conn, tenant, found)), last
        )
        counted += len(found)


def delete_facts(conn: sqlite3.Connection, tenant: str, ids: Sequence[str]) -> None:
    """Delete the report facts of the stored statements among `ids` and take them out of
    the summaries (`Transaction.delete_report_facts`). Statement deletions (erasure,
    retention) must call this before deleting the statement rows: the facts are found
    through them."""
    if not ids:
        return
    seqs = [
        row[0]
        for row in conn.execute(
            "SELECT seq FROM statements WHERE tenant = ?"
            " AND id IN (SELECT value FROM json_each(?))",
            (tenant, _json(ids)),
        )
    ]
    if not seqs:
        return
    summarized = folded(conn, tenant)
    _drop_pending(conn, tenant, {seq for seq in seqs if seq > summarized})
    facts: list[tuple[Any, ...]] = conn.execute(
        "SELECT course, learner, seq, object, day, week, month, flags, score, profile"
        " FROM report_facts INDEXED BY report_facts_tenant_seq"
        " WHERE tenant = ? AND seq IN (SELECT value FROM json_each(?))",
        (tenant, _json(seqs)),
    ).fetchall()
    if not facts:
        return
    conn.execute(
        "DELETE FROM report_facts WHERE tenant = ? AND seq IN (SELECT value FROM json_each(?))",
        (tenant, _json(seqs)),
    )
    taken: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [0, 0, 0, 0, 0.0, 0, 0.0])
    for course, learner, seq, activity, day, _, _, flags, score, profile in facts:
        if seq <= summarized:
            _count(taken[(day, course, profile, learner)], activity, course, flags, score, -1)
    rows = []
    for key, counts in taken.items():
        statements, firsts, completions, scores, score_sum, first_scores, first_sum = (
            -c for c in counts
        )
        rows.append((
            statements, firsts, completions, scores, score_sum, scores, first_scores,
            first_sum, first_scores, tenant, *key,
        ))
    conn.executemany(_TAKE_DAY, rows)
    conn.executemany(
        "DELETE FROM report_days WHERE tenant = ? AND day = ? AND course = ? AND profile = ?"
        " AND learner = ? AND statements <= 0",
        [(tenant, *key) for key in taken],
    )
    _replace_firsts(conn, tenant, {(f[1], f[0]) for f in facts}, set(seqs))


def _drop_pending(conn: sqlite3.Connection, tenant: str, seqs: set[int]) -> None:
    """Take these statements' waiting report fields out of their batches' rows."""
    batches: dict[int, bytes] = {}
    for seq in seqs:
        found = conn.execute(
            "SELECT seq, fields FROM report_pending WHERE tenant = ? AND seq <= ?"
            " ORDER BY seq DESC LIMIT 1",
            (tenant, seq),
        ).fetchone()
        if found is not None:
            batches[found[0]] = found[1]
    for first, text in batches.items():
        items = orjson.loads(text)
        kept = [item for item in items if item[0] not in seqs]
        if len(kept) == len(items):
            continue
        if kept:
            conn.execute(
                "UPDATE report_pending SET statements = ?, fields = ? WHERE seq = ?",
                (len(kept), orjson.dumps(kept), first),
            )
        else:
            conn.execute("DELETE FROM report_pending WHERE seq = ?", (first,))


def _replace_firsts(
    conn: sqlite3.Connection, tenant: str, pairs: set[tuple[int, int]], gone: set[int]
) -> None:
    """For each (learner, course) whose first fact was deleted, the next one (or none)."""
    for learner, course in pairs:
        found = conn.execute(
            "SELECT seq FROM report_firsts WHERE tenant = ? AND learner = ? AND course = ?",
            (tenant, learner, course),
        ).fetchone()
        if found is None or found[0] not in gone:
            continue
        # The learner's own statements, through the agent key rows of the statement index
        # (the learner's number is its "a|" key's): a few, where the course has thousands.
        following = conn.execute(
            "SELECT f.t, f.seq, f.day, f.week, f.month, f.profile FROM statement_keys AS k"
            " CROSS JOIN report_facts AS f INDEXED BY report_facts_tenant_seq"
            " ON f.tenant = ? AND f.seq = k.seq WHERE k.key_id = ? AND f.course = ?"
            " AND f.learner = ?"
            " ORDER BY f.t, f.seq LIMIT 1",
            (tenant, learner, course, learner),
        ).fetchone()
        if following is None:
            conn.execute(
                "DELETE FROM report_firsts WHERE tenant = ? AND learner = ? AND course = ?",
                (tenant, learner, course),
            )
        else:
            conn.execute(
                "UPDATE report_firsts SET t = ?, seq = ?, day = ?, week = ?, month = ?,"
                " profile = ? WHERE tenant = ? AND learner = ? AND course = ?",
                (*following, tenant, learner, course),
            )


# -- queries --------------------------------------------------------------------------------


def _number(conn: sqlite3.Connection, tenant: str, key: str) -> int | None:
    found = conn.execute(
        "SELECT key_id FROM filter_keys WHERE tenant = ? AND key = ?", (tenant, key)
    ).fetchone()
    return None if found is None else int(found[0])


class _Conditions:
    """The WHERE clause of a ReportFilter on a table aliased `alias` (facts, summaries or
    firsts: only the columns each has are asked for)."""

    def __init__(self, alias: str, tenant: str, *, scoped: bool = True) -> None:
        """`scoped`: the table has a tenant column (a derived table of one tenant's rows
        does not)."""
        self.alias = alias
        self.tenant = tenant
        self.sql = [f"{alias}.tenant = ?"] if scoped else []
        self.params: list[object] = [tenant] if scoped else []

    def add(self, condition: str, *params: object) -> None:
        self.sql.append(condition.replace("@", self.alias + "."))
        self.params.extend(params)

    def dimensions(self, values: Sequence[tuple[str, str]]) -> None:
        for iri, value in values:
            self.add(
                "@profile IN (SELECT profile FROM report_profile_values WHERE tenant = ?"
                " AND iri = ? AND value = ?)",
                self.tenant, iri, value,
            )

    def facts(self, query: ReportFilter, *, times: bool = True, dims: bool = True) -> None:
        """The conditions on a fact row: verbs, registration, time, dimensions."""
        if query.verbs:
            self.add(
                "@verb IN (SELECT key_id FROM filter_keys WHERE tenant = ?"
                " AND key IN (SELECT value FROM json_each(?)))",
                self.tenant, _json(_VERB + verb for verb in query.verbs),
            )
        if query.registration is not None:
            self.add(
                "@registration = (SELECT key_id FROM filter_keys WHERE tenant = ? AND key = ?)",
                self.tenant, _REGISTRATION + query.registration,
            )
        if times and query.since is not None:
            self.add("@t >= ?", query.since)
        if times and query.until is not None:
            self.add("@t < ?", query.until)
        if dims:
            self.dimensions(query.dimensions)

    @property
    def where(self) -> str:
        return " AND ".join(self.sql)


def progress(
    conn: sqlite3.Connection, tenant: str, query: ReportFilter, after: str | None, limit: int
) -> tuple[int, list[ProgressRow]]:
    """`Storage.report_progress`: learners in the order of their numbers in filter_keys."""
    assert query.course is not None
    course = _number(conn, tenant, _ACTIVITY + query.course)
    if course is None or limit <= 0:
        return 0, []
    (modules,) = conn.execute(
        "SELECT COUNT(DISTINCT object) FROM report_facts WHERE tenant = ? AND course = ?"
        " AND object != course",
        (tenant, course),
    ).fetchone()
    where = _Conditions("f", tenant)
    where.add("@course = ?", course)
    if after is not None:
        # A learner no longer numbered cannot be: numbers are never taken back.
        where.add(
            "@learner > COALESCE((SELECT key_id FROM filter_keys WHERE tenant = ? AND key = ?),"
            " -1)",
            tenant, _LEARNER + after,
        )
    where.facts(query)
    rows = conn.execute(
        "SELECT (SELECT key FROM filter_keys WHERE key_id = f.learner), MIN(f.t), MAX(f.t),"
        " COUNT(*),"
        " COUNT(DISTINCT CASE WHEN f.object != f.course THEN f.object END),"
        " COUNT(DISTINCT CASE WHEN f.object != f.course AND (f.flags & 2) THEN f.object END),"
        " COUNT(DISTINCT CASE WHEN f.object != f.course AND (f.flags & 4) THEN f.object END),"
        " MAX(f.object = f.course AND (f.flags & 2) != 0),"
        " MAX(f.object = f.course AND (f.flags & 4) != 0), MAX(f.score), SUM(f.duration)"
        f" FROM report_facts AS f WHERE {where.where}"
        " GROUP BY f.learner ORDER BY f.learner LIMIT ?",
        [*where.params, limit],
    ).fetchall()
    return modules, [
        ProgressRow(
            learner=key[len(_LEARNER):], first=first, last=last, statements=count,
            attempted=attempted, completed=completed, passed=passed,
            course_completed=bool(course_completed), course_passed=bool(course_passed),
            best_score=best, duration=duration,
        )
        for (key, first, last, count, attempted, completed, passed, course_completed,
             course_passed, best, duration) in rows
    ]


def modules(conn: sqlite3.Connection, tenant: str, query: ReportFilter) -> list[ModuleRow]:
    """`Storage.report_modules`: the median is the middle one of the learners' total
    durations on the module (the mean of the middle two for an even number)."""
    assert query.course is not None
    course = _number(conn, tenant, _ACTIVITY + query.course)
    if course is None:
        return []
    where = _Conditions("f", tenant)
    where.add("@course = ?", course)
    where.add("@object != @course")
    where.facts(query)
    # One grouping per module and learner, which the counts, the average and the median
    # all read (a count of distinct learners per measure cost a sort each: 568 against 519
    # ms for bench/passport.py's largest course on a machine where the scan alone took 50).
    rows = conn.execute(
        "WITH per AS (SELECT f.object, f.learner, MIN(f.seq) AS first,"
        " MAX(f.flags & 2) AS completed, MAX(f.flags & 4) AS passed, COUNT(f.score) AS scores,"
        " TOTAL(f.score) AS score_sum, SUM(f.duration) AS d"
        f" FROM report_facts AS f WHERE {where.where} GROUP BY f.object, f.learner),"
        " agg AS (SELECT object, MIN(first) AS first, COUNT(*) AS attempted,"
        " COUNT(NULLIF(completed, 0)) AS completed, COUNT(NULLIF(passed, 0)) AS passed,"
        " COUNT(NULLIF(scores, 0)) AS scorers, SUM(score_sum) / SUM(scores) AS average,"
        " COUNT(d) AS timed FROM per GROUP BY object),"
        " ranked AS (SELECT object, d, ROW_NUMBER() OVER (PARTITION BY object ORDER BY d) AS i"
        " FROM per WHERE d IS NOT NULL),"
        " med AS (SELECT ranked.object, AVG(d) AS median FROM ranked JOIN agg"
        " ON agg.object = ranked.object WHERE i IN ((timed + 1) / 2, (timed + 2) / 2)"
        " GROUP BY ranked.object)"
        " SELECT (SELECT key FROM filter_keys WHERE key_id = agg.object), attempted, completed,"
        " passed, scorers, average, timed, median"
        " FROM agg LEFT JOIN med ON med.object = agg.object ORDER BY agg.first",
        where.params,
    ).fetchall()
    return [
        ModuleRow(
            module=key[len(_ACTIVITY):], attempted=attempted, completed=completed,
            passed=passed, scorers=scorers, average_score=average, timed=timed,
            median_duration=median,
        )
        for key, attempted, completed, passed, scorers, average, timed, median in rows
    ]


def indicators(
    conn: sqlite3.Connection, tenant: str, query: IndicatorQuery
) -> list[IndicatorCell]:
    """`Storage.report_indicators`: from `report_days`, or from the facts when a verb or
    registration condition asks for what the days do not keep."""
    course = None
    if query.filter.course is not None:
        course = _number(conn, tenant, _ACTIVITY + query.filter.course)
        if course is None:
            return []
    from_facts = bool(query.filter.verbs) or query.filter.registration is not None
    per_course = query.by_course or course is not None
    active = (_active_from_facts if from_facts else _active_from_days)(
        conn, tenant, query, course, per_course
    )
    # Per course from the summaries, the new learners came with the active ones.
    new = (
        None if per_course and not from_facts
        else _new_learners(conn, tenant, query, course, from_facts=from_facts)
    )
    # Grouped by the course's number (a key looked up per group, not per row).
    courses = dict(
        conn.execute(
            "SELECT key_id, key FROM filter_keys WHERE key_id IN (SELECT value FROM json_each(?))",
            (_json({key[1] for key in active if key[1] is not None}),),
        )
    ) if query.by_course else {}
    cells = []
    for key, (learners, statements, completers, scorers, average, starts) in active.items():
        bucket, course_number, *values = key
        cells.append(IndicatorCell(
            bucket=bucket,
            course=(
                courses[course_number][len(_ACTIVITY):] if course_number is not None else None
            ),
            dimensions=tuple(values), active=learners,
            new=starts if new is None else new.get(key, 0),
            statements=statements, completers=completers, scorers=scorers,
            average_score=average,
        ))
    return cells


def _groups(
    query: IndicatorQuery, alias: str, tenant: str
) -> tuple[list[str], str, list[object]]:
    """The grouping columns (bucket, course key or NULL, one value per dimension) and the
    join giving the dimension values of `alias`'s profile (NULL where not recorded): one
    row per profile with a column per dimension, so each row of `alias` makes one lookup
    whatever the number of dimensions (a join per dimension cost a lookup each: 790 ms
    against 535 for bench/passport.py's monthly indicators by three dimensions)."""
    columns = [
        f"{alias}.{query.interval}",
        f"{alias}.course" if query.by_course else "NULL",
    ]
    if not query.by_dimensions:
        return columns, "", []
    values = ", ".join(
        f"MAX(CASE WHEN iri = ? THEN value END) AS d{index}"
        for index in range(len(query.by_dimensions))
    )
    columns += [f"pv.d{index}" for index in range(len(query.by_dimensions))]
    join = (
        f" LEFT JOIN (SELECT profile, {values} FROM report_profile_values WHERE tenant = ?"
        f" GROUP BY profile) AS pv ON pv.profile = {alias}.profile"
    )
    return columns, join, [*query.by_dimensions, tenant]


def _by_position(columns: Sequence[str]) -> str:
    """A GROUP BY list naming the result's first columns by position ("1, 2, 3")."""
    return ", ".join(str(i + 1) for i in range(len(columns)))


def _days(query: IndicatorQuery) -> tuple[int, int]:
    """The first and last day of the query's buckets."""
    start, end = bucket_bounds(query.interval, query.first, query.last)
    return start // MICROS_PER_DAY, end // MICROS_PER_DAY - 1


def _cells(
    conn: sqlite3.Connection, sql: str, params: list[object]
) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """A cell's grouping columns, then its six figures (the last the new learners, or 0
    where `_new_learners` counts them)."""
    return {tuple(row[:-6]): tuple(row[-6:]) for row in conn.execute(sql, params)}


def _active_from_days(
    conn: sqlite3.Connection,
    tenant: str,
    query: IndicatorQuery,
    course: int | None,
    per_course: bool,
) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    columns, joins, join_params = _groups(query, "s", tenant)
    where = _Conditions("s", tenant)
    where.add("@day BETWEEN ? AND ?", *_days(query))
    if course is not None:
        where.add("@course = ?", course)
    where.dimensions(query.filter.dimensions)
    # Per course every fact counts; tenant-wide only a statement's first course's.
    statements, scores, score_sum, starts = (
        ("statements", "scores", "score_sum", "SUM(s.starts)") if per_course
        else ("firsts", "first_scores", "first_score_sum", "0")
    )
    group = ", ".join(columns)
    numbers = _by_position(columns)
    params = [*join_params, *where.params]
    cells = _cells(
        conn,
        f"SELECT {group}, COUNT(DISTINCT s.learner), SUM(s.{statements}), 0,"
        f" COUNT(DISTINCT CASE WHEN s.{scores} > 0 THEN s.learner END),"
        f" SUM(s.{score_sum}) / SUM(s.{scores}), {starts}"
        f" FROM report_days AS s{joins} WHERE {where.where} GROUP BY {numbers}",
        params,
    )
    # The learners who completed the course, from the few rows with a completion (through
    # their index) in the same read: a distinct count over all the rows cost 76 ms of
    # bench/passport.py's weekly indicators by course and region, this one 4.
    for *key, completers in conn.execute(
        f"SELECT {group}, COUNT(DISTINCT s.learner)"
        f" FROM report_days AS s INDEXED BY report_days_completions{joins}"
        f" WHERE {where.where} AND s.completions > 0 GROUP BY {numbers}",
        params,
    ):
        figures = cells[tuple(key)]
        cells[tuple(key)] = (*figures[:2], completers, *figures[3:])
    return cells


def _active_from_facts(
    conn: sqlite3.Connection,
    tenant: str,
    query: IndicatorQuery,
    course: int | None,
    per_course: bool,
) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    columns, joins, join_params = _groups(query, "f", tenant)
    where = _Conditions("f", tenant)
    if course is not None:
        where.add("@course = ?", course)
    where.add("@day BETWEEN ? AND ?", *_days(query))
    if not per_course:
        where.add("(@flags & 1)")
    where.facts(query.filter, times=False)
    return _cells(
        conn,
        f"SELECT {', '.join(columns)}, COUNT(DISTINCT f.learner), COUNT(*),"
        " COUNT(DISTINCT CASE WHEN f.object = f.course AND (f.flags & 2) THEN f.learner END),"
        " COUNT(DISTINCT CASE WHEN f.score IS NOT NULL THEN f.learner END), AVG(f.score), 0"
        f" FROM report_facts AS f{joins} WHERE {where.where}"
        f" GROUP BY {_by_position(columns)}",
        [*join_params, *where.params],
    )


def _new_learners(
    conn: sqlite3.Connection,
    tenant: str,
    query: IndicatorQuery,
    course: int | None,
    *,
    from_facts: bool,
) -> dict[tuple[Any, ...], int]:
    """Per cell, the learners whose first fact (per course when grouped or filtered by
    course, else tenant-wide) is in it: tenant-wide from `report_firsts` (each learner's
    earliest), or, under a verb or registration condition, the first of the facts it
    selects (per course from the summaries, `report_days.starts` counts them)."""
    per_course = query.by_course or course is not None
    inner = _Conditions("x", tenant)
    if course is not None:
        inner.add("@course = ?", course)
    if from_facts:
        source = "report_facts"
        inner.facts(query.filter, times=False, dims=False)
        if not per_course:
            inner.add("(@flags & 1)")
    else:
        source = "report_firsts"
    # Ties in time go to the statement stored first: the same one on every run. The bare
    # columns come from the row holding the minimum (SQLite's rule for one min() aggregate).
    firsts = (
        f"(SELECT x.learner, {'x.course' if per_course else 'NULL AS course'},"
        " MIN(printf('%020d%020d', x.t, x.seq)) AS o, x.day, x.week, x.month, x.profile"
        f" FROM {source} AS x WHERE {inner.where}"
        f" GROUP BY x.learner{', x.course' if per_course else ''})"
    )
    params = inner.params
    columns, joins, join_params = _groups(query, "n", tenant)
    outer = _Conditions("n", tenant, scoped=False)
    outer.add(f"@{query.interval} BETWEEN ? AND ?", query.first, query.last)
    outer.dimensions(query.filter.dimensions)
    return {
        tuple(row[:-1]): row[-1]
        for row in conn.execute(
            f"SELECT {', '.join(columns)}, COUNT(*) FROM {firsts} AS n{joins}"
            f" WHERE {outer.where}"
            f" GROUP BY {_by_position(columns)}",
            [*params, *join_params, *outer.params],
        )
    }

"""Statements in SQLite: the JSON as written, plus one compact key table serving every filter.

Every filter of Communication 2.1.3 (`agent`, `verb`, `activity`, `registration`, with the
`related_*` variants) is a typed key. A key's text is stored once, in `filter_keys`, which
numbers it per tenant; `statement_keys` holds one small row per (key, statement, chain
member), all integers and 16 bytes of id: its primary key (key_id, stored, id, via) is at once
the filter index and the keyset paging order. There `stored` is microseconds since the epoch
and `id` the UUID's 16 bytes, which sort exactly like the fixed-width `stored` text and the
lowercase id text they stand for; `seq` points at the statement row. Keeping these rows small
matters: they are most of the pages a batch writes inside SQLite's single write lock.

The StatementRef rule ("Filter Conditions for StatementRefs") says a statement matches when
it, or a statement its object refers to (recursively), meets all non-time filters. So a
statement owns its own keys (`via` = 0) and a copy of the keys of every statement in its
reference chain (`via` = that statement's seq); all filters of one query must hold for the
same `via`. `statement_refs` keeps the transitive closure of the chains, so that a target
arriving after the statements that refer to it can hand its keys to all of them.

Identity vault: a statement's sealed original agents are a column of its row (the sealed
originals behind each pseudonym are rows of `storage.sqlite.identities`).

`statement_attachments` names the attachment data (by sha2) each statement refers to, so
that data no remaining statement needs is found without reading statements.

Deleting statements (`delete`: erasure, retention) deletes every row derived from them, and
is the one function that must: their key rows, the copies of their keys in the statements
referring to them (rows whose `via` is theirs; a chain passes only through stored
statements, so those also lose what they reached through them), their own `statement_refs`
chains (the rows naming them as a target stay: stored again, they are linked again), their
attachment references, and the `filter_keys` texts no row uses any more (an agent key text
is a pseudonym). A table a later feature derives from statements is cleaned there too.

The statement feed (`Storage.read_feed`) is `seq`, the row number: writers are serialized and
each batch numbers its rows after the highest number ever given (`statement_seq` remembers
it, so that deleting the newest statements never lets a number be given twice), so a
statement committed later always has a higher number. Positions are that number as 20
digits, which sorts as text in feed order.

Functions here take the connection to use: the backend (`storage.sqlite.backend`) passes its
write transaction's or the thread's reading one. The voiding and chain rules are not here:
they are `storage.commands`, made of these primitives. The layout is versioned
(`storage.sqlite.database.SCHEMA_VERSION`).
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from statements import attachment_hashes
from storage.errors import DuplicateIdError, StorageError
from storage.records import FeedPage, StatementFilter, StatementRecord, StoredStatement

# Key prefixes. An agent or activity the filter matches without `related_*` ("a|", "o|") is
# stored once; the `related_*` filters read those plus the related-only positions ("A|", "O|").
_REGISTRATION, _AGENT, _ACTIVITY, _RELATED_AGENT, _RELATED_ACTIVITY, _VERB = (
    "r|", "a|", "o|", "A|", "O|", "v|",
)

_SELECT = "SELECT s.id, s.statement, s.stored, s.voided, s.voids, s.writer, s.sealed"
_GET_SQL = (
    "SELECT s.id, s.statement, s.stored, s.voided, s.voids, s.writer, s.sealed"
    " FROM statements AS s WHERE s.tenant = ? AND s.id IN (SELECT value FROM json_each(?))"
)

# Another filter holding for the same chain member (`via`) of the same statement: a point
# lookup in the key table's primary key. By number of alternative keys.
_SAME_MEMBER_HOLDS = {
    1: (
        " AND EXISTS (SELECT 1 FROM statement_keys AS k2 WHERE k2.key_id ="
        " (SELECT key_id FROM filter_keys WHERE tenant = ? AND key = ?)"
        " AND k2.stored = k.stored AND k2.id = k.id AND k2.via = k.via)"
    ),
    2: (
        " AND EXISTS (SELECT 1 FROM statement_keys AS k2 WHERE k2.key_id IN ("
        "(SELECT key_id FROM filter_keys WHERE tenant = ? AND key = ?),"
        " (SELECT key_id FROM filter_keys WHERE tenant = ? AND key = ?))"
        " AND k2.stored = k.stored AND k2.id = k.id AND k2.via = k.via)"
    ),
}

# The fixed-width `stored` text (statements.timestamps.stored_timestamp) and a canonical id:
# only these convert to key-table values that compare exactly as the text does.
_STORED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(stored: str) -> int:
    return (datetime.fromisoformat(stored) - _EPOCH) // _MICROSECOND


def _bound_micros(stored: str) -> int | None:
    """A bound's key-table value, or None if it has none that compares as its text does."""
    if not _STORED.fullmatch(stored):
        return None
    try:
        return _micros(stored)
    except ValueError:  # fixed width but no instant, e.g. month 13 in a forged cursor
        return None


def _id_bytes(statement_id: str) -> bytes:
    return bytes.fromhex(statement_id.replace("-", ""))


def record_keys(record: StatementRecord) -> list[str]:
    """The filter keys a statement matches by its own content."""
    keys = [_VERB + record.verb]
    if record.registration is not None:
        keys.append(_REGISTRATION + record.registration)
    keys.extend(_AGENT + a for a in record.agents)
    keys.extend(_RELATED_AGENT + a for a in record.related_agents - record.agents)
    keys.extend(_ACTIVITY + a for a in record.activities)
    keys.extend(_RELATED_ACTIVITY + a for a in record.related_activities - record.activities)
    return keys


def filter_keys(query: StatementFilter) -> list[tuple[str, ...]]:
    """Per filter, the keys of which one chain member must hold one; all filters must hold
    for the same member. The most selective filter comes first: it drives the scan."""
    keys: list[tuple[str, ...]] = []
    if query.registration is not None:
        keys.append((_REGISTRATION + query.registration,))
    if query.agent is not None and not query.related_agents:
        keys.append((_AGENT + query.agent,))
    if query.activity is not None and not query.related_activities:
        keys.append((_ACTIVITY + query.activity,))
    if query.agent is not None and query.related_agents:
        keys.append((_AGENT + query.agent, _RELATED_AGENT + query.agent))
    if query.activity is not None and query.related_activities:
        keys.append((_ACTIVITY + query.activity, _RELATED_ACTIVITY + query.activity))
    if query.verb is not None:
        keys.append((_VERB + query.verb,))
    return keys


def _json(values: Iterable[object]) -> bytes:
    """A list as one JSON parameter, expanded in SQL by `json_each` (no SQL is built)."""
    return orjson.dumps(list(values))


# The versioned statements layout (see `storage.sqlite.database.SCHEMA_VERSION`); the
# identity vault's table is `storage.sqlite.identities`.
DDL = (
    """CREATE TABLE IF NOT EXISTS statements (
        seq INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        stored TEXT NOT NULL,
        verb TEXT NOT NULL,
        registration TEXT,
        ref TEXT,
        voids TEXT,
        voided INTEGER NOT NULL DEFAULT 0,
        writer TEXT NOT NULL,
        keys BLOB NOT NULL,
        statement BLOB NOT NULL,
        sealed BLOB
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS statements_id ON statements (tenant, id)",
    "CREATE INDEX IF NOT EXISTS statements_stored ON statements (tenant, stored, id)",
    "CREATE INDEX IF NOT EXISTS statements_writer ON statements (tenant, writer, stored, id)",
    """CREATE INDEX IF NOT EXISTS statements_voids ON statements (tenant, voids)
        WHERE voids IS NOT NULL""",
    """CREATE TABLE IF NOT EXISTS filter_keys (
        key_id INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        key TEXT NOT NULL,
        UNIQUE (tenant, key)
    )""",
    """CREATE TABLE IF NOT EXISTS statement_keys (
        key_id INTEGER NOT NULL,
        stored INTEGER NOT NULL,
        id BLOB NOT NULL,
        via INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (key_id, stored, id, via)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS statement_refs (
        tenant TEXT NOT NULL,
        target TEXT NOT NULL,
        source TEXT NOT NULL,
        PRIMARY KEY (tenant, target, source)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS statement_refs_source ON statement_refs (tenant, source)",
    # Only statements with attachments have rows: the index on seq costs the others nothing.
    """CREATE TABLE IF NOT EXISTS statement_attachments (
        tenant TEXT NOT NULL,
        sha2 TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (tenant, sha2, seq)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS statement_attachments_seq ON statement_attachments (seq)",
    "CREATE INDEX IF NOT EXISTS statements_feed ON statements (tenant, seq)",
    """CREATE TABLE IF NOT EXISTS statement_seq (
        one INTEGER PRIMARY KEY CHECK (one = 1),
        high INTEGER NOT NULL
    )""",
)
_POSITION_DIGITS = 20
_FEED_SQL = (
    _SELECT + ", s.seq FROM statements AS s INDEXED BY statements_feed"
    " WHERE s.tenant = ? AND s.seq > ? ORDER BY s.seq LIMIT ?"
)


def insert(
    conn: sqlite3.Connection,
    tenant: str,
    records: Sequence[StatementRecord],
) -> tuple[Sequence[int], dict[str, int]]:
    """Write the statement rows and their own filter keys (`Transaction.insert_statements`):
    the rows' seq numbers, in the order of `records`, and the keys' numbers (which the
    report fields waiting with them hold: `reports.add_pending`)."""
    if not records:
        return (), {}
    ids = [r.id for r in records]
    existing = _existing_ids(conn, tenant, ids)
    if existing:
        raise DuplicateIdError(existing)
    own_keys = [record_keys(r) for r in records]
    numbers = key_ids(conn, tenant, {k for keys in own_keys for k in keys})
    own_ids = [[numbers[k] for k in keys] for keys in own_keys]
    last = highest_seq(conn)
    seqs = range(last + 1, last + 1 + len(records))
    conn.execute(
        "INSERT INTO statement_seq (one, high) VALUES (1, ?)"
        " ON CONFLICT (one) DO UPDATE SET high = excluded.high",
        (seqs[-1],),
    )
    try:
        conn.executemany(
            "INSERT INTO statements (seq, tenant, id, stored, verb, registration,"
            " ref, voids, writer, keys, statement, sealed)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (seq, tenant, r.id, r.stored, r.verb, r.registration, r.ref, r.voids,
                 r.writer, orjson.dumps(keys), r.statement, r.sealed)
                for seq, r, keys in zip(seqs, records, own_ids, strict=True)
            ],
        )
    except sqlite3.IntegrityError as exc:
        # Only an id repeated inside `records` itself can get here.
        raise DuplicateIdError(_repeated(ids)) from exc
    rows = []
    try:
        for seq, r, keys in zip(seqs, records, own_ids, strict=True):
            stored, id_bytes = _micros(r.stored), _id_bytes(r.id)
            rows += [(key, stored, id_bytes, seq) for key in keys]
    except ValueError as exc:  # a `stored` or id not in canonical form: a caller's bug
        raise StorageError(f"cannot store statements: {exc}") from exc
    conn.executemany(
        "INSERT OR IGNORE INTO statement_keys (key_id, stored, id, via, seq)"
        " VALUES (?,?,?,0,?)",
        rows,
    )
    _add_attachments(
        conn, tenant, [(seq, r.attachments) for seq, r in zip(seqs, records, strict=True)]
    )
    return seqs, numbers


def highest_seq(conn: sqlite3.Connection) -> int:
    """The highest statement number ever given (0 before the first): unchanged while no
    statement is stored."""
    (last,) = conn.execute(
        "SELECT MAX(COALESCE((SELECT MAX(seq) FROM statements), 0),"
        " COALESCE((SELECT high FROM statement_seq), 0))"
    ).fetchone()
    return int(last)


def _add_attachments(
    conn: sqlite3.Connection, tenant: str, statements: Iterable[tuple[int, Iterable[str]]]
) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO statement_attachments (tenant, sha2, seq) VALUES (?,?,?)",
        [(tenant, sha2, seq) for seq, hashes in statements for sha2 in hashes],
    )


def index_attachments(conn: sqlite3.Connection) -> None:
    """Layout 3: the attachment references of the statements stored before it."""
    rows = conn.execute(
        "SELECT seq, tenant, statement FROM statements"
        " WHERE instr(statement, CAST('\"attachments\"' AS BLOB)) > 0"
    )
    for seq, tenant, statement in rows.fetchall():
        _add_attachments(conn, tenant, [(seq, attachment_hashes(orjson.loads(statement)))])


def agent_statement_ids(
    conn: sqlite3.Connection,
    tenant: str,
    agents: Sequence[str],
    since: str | None,
    limit: int | None,
    chains: bool,
) -> list[str]:
    """One seek per key ("a|" and "A|" of each agent: all positions), own rows and, with
    `chains`, copied ones."""
    keys = [prefix + agent for agent in agents for prefix in (_AGENT, _RELATED_AGENT)]
    sql = (
        "SELECT DISTINCT s.id FROM statement_keys AS k CROSS JOIN statements AS s"
        " WHERE k.key_id IN (SELECT key_id FROM filter_keys WHERE tenant = ?"
        " AND key IN (SELECT value FROM json_each(?))) AND s.seq = k.seq"
    )
    params: list[object] = [tenant, _json(keys)]
    if not chains:
        sql += " AND k.via = 0"
    if since is not None:
        sql += " AND k.stored >= ?"
        params.append(_micros(since))
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [row[0] for row in conn.execute(sql, params)]


def before(
    conn: sqlite3.Connection,
    tenant: str,
    stored: str,
    limit: int,
    after: tuple[str, str] | None,
) -> list[StoredStatement]:
    """The oldest statements, by the `statements_stored` index."""
    sql = _SELECT + " FROM statements AS s WHERE s.tenant = ? AND s.stored < ?"
    params: list[object] = [tenant, stored]
    if after is not None:
        sql += " AND (s.stored, s.id) > (?, ?)"
        params += list(after)
    sql += " ORDER BY s.stored, s.id LIMIT ?"
    return [_stored(row) for row in conn.execute(sql, [*params, limit])]


def delete(conn: sqlite3.Connection, tenant: str, ids: Sequence[str]) -> int:
    """`Transaction.delete_statements`: the statements and every row derived from them
    (module docstring); the one place that deletes statement rows."""
    gone = _members(conn, tenant, set(ids))
    if not gone:
        return 0
    chains = reference_targets(conn, tenant, list(gone))
    targets = _members(conn, tenant, {t for chain in chains.values() for t in chain})
    waiting = reference_sources(conn, tenant, list(gone))
    sources = _members(conn, tenant, {s for found in waiting.values() for s in found} - set(gone))
    rows = []
    for statement_id, (seq, stored, id_bytes, keys) in gone.items():
        # Its own keys, and the copies of its chain's keys it holds.
        chain = [targets[t] for t in chains.get(statement_id, ()) if t in targets]
        rows += [(key, stored, id_bytes, 0) for key in keys]
        rows += [(key, stored, id_bytes, t_seq) for t_seq, _, _, t_keys in chain for key in t_keys]
        # A remaining statement referring to it reaches nothing through it any more: it
        # loses the copies of its keys and of its chain's (a chain is one path).
        for source in waiting.get(statement_id, ()):
            if source in sources:
                _, s_stored, s_id, _ = sources[source]
                for m_seq, _, _, m_keys in [(seq, stored, id_bytes, keys), *chain]:
                    rows += [(key, s_stored, s_id, m_seq) for key in m_keys]
    conn.executemany(
        "DELETE FROM statement_keys WHERE key_id = ? AND stored = ? AND id = ? AND via = ?",
        rows,
    )
    seqs = _json(member[0] for member in gone.values())
    conn.execute(
        "DELETE FROM statement_refs WHERE tenant = ?"
        " AND source IN (SELECT value FROM json_each(?))",
        (tenant, _json(gone)),
    )
    conn.execute(
        "DELETE FROM statement_attachments WHERE seq IN (SELECT value FROM json_each(?))", (seqs,)
    )
    conn.execute("DELETE FROM statements WHERE seq IN (SELECT value FROM json_each(?))", (seqs,))
    _drop_unused_keys(conn, {key for member in gone.values() for key in member[3]})
    return len(gone)


def replace(conn: sqlite3.Connection, tenant: str, records: Sequence[StatementRecord]) -> None:
    """`Transaction.replace_statements`: new JSON and keys in place (same seq), the copies in
    statements referring to each one renewed."""
    found = _members(conn, tenant, {r.id for r in records})
    records = [r for r in records if r.id in found]
    if not records:
        return
    new_keys = [record_keys(r) for r in records]
    numbers = key_ids(conn, tenant, {key for keys in new_keys for key in keys})
    waiting = reference_sources(conn, tenant, [r.id for r in records])
    sources = _members(conn, tenant, {s for found in waiting.values() for s in found})
    old: set[int] = set()
    removed, added = [], []
    for record, keys in zip(records, new_keys, strict=True):
        seq, stored, id_bytes, old_keys = found[record.id]
        keys_now = [numbers[key] for key in keys]
        old.update(old_keys)
        holders = [(stored, id_bytes, 0, seq)] + [
            (sources[s][1], sources[s][2], seq, sources[s][0])
            for s in waiting.get(record.id, ()) if s in sources
        ]
        for h_stored, h_id, via, h_seq in holders:
            removed += [(key, h_stored, h_id, via) for key in old_keys]
            added += [(key, h_stored, h_id, via, h_seq) for key in keys_now]
        conn.execute(
            "UPDATE statements SET statement = ?, sealed = ?, keys = ?, verb = ?,"
            " registration = ? WHERE seq = ?",
            (record.statement, record.sealed, orjson.dumps(keys_now), record.verb,
             record.registration, seq),
        )
        conn.execute("DELETE FROM statement_attachments WHERE seq = ?", (seq,))
        _add_attachments(conn, tenant, [(seq, record.attachments)])
    conn.executemany(
        "DELETE FROM statement_keys WHERE key_id = ? AND stored = ? AND id = ? AND via = ?",
        removed,
    )
    conn.executemany(
        "INSERT OR IGNORE INTO statement_keys (key_id, stored, id, via, seq) VALUES (?,?,?,?,?)",
        added,
    )
    _drop_unused_keys(conn, old)


def _drop_unused_keys(conn: sqlite3.Connection, key_ids: Iterable[int]) -> None:
    """Delete the key texts no row uses any more: an agent key's text is its pseudonym.
    Report facts number a course by its object key ("o|"), which a statement naming the
    course only in its context does not hold, so a course key a fact still names stays
    (every other key of a fact is one of its own statement's)."""
    conn.executemany(
        "DELETE FROM filter_keys WHERE key_id = ?1"
        " AND NOT EXISTS (SELECT 1 FROM statement_keys WHERE key_id = ?1)"
        " AND NOT EXISTS (SELECT 1 FROM report_facts WHERE tenant = filter_keys.tenant"
        " AND course = ?1)",
        [(key,) for key in key_ids],
    )


def _existing_ids(conn: sqlite3.Connection, tenant: str, ids: Sequence[str]) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT id FROM statements WHERE tenant = ?"
            " AND id IN (SELECT value FROM json_each(?))",
            (tenant, _json(ids)),
        )
    ]


def voided_targets(conn: sqlite3.Connection, tenant: str, ids: Sequence[str]) -> set[str]:
    if not ids:
        return set()
    return {
        row[0]
        for row in conn.execute(
            "SELECT voids FROM statements WHERE tenant = ? AND voids IS NOT NULL"
            " AND voids IN (SELECT value FROM json_each(?))",
            (tenant, _json(ids)),
        )
    }


def set_voided(conn: sqlite3.Connection, tenant: str, ids: Iterable[str]) -> None:
    wanted = list(ids)
    if wanted:
        conn.execute(
            "UPDATE statements SET voided = 1 WHERE tenant = ?"
            " AND id IN (SELECT value FROM json_each(?))",
            (tenant, _json(wanted)),
        )


def reference_targets(
    conn: sqlite3.Connection, tenant: str, ids: Sequence[str]
) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for source, target in conn.execute(
        "SELECT source, target FROM statement_refs WHERE tenant = ?"
        " AND source IN (SELECT value FROM json_each(?))",
        (tenant, _json(ids)),
    ):
        found.setdefault(source, []).append(target)
    return found


def reference_sources(
    conn: sqlite3.Connection, tenant: str, ids: Sequence[str]
) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for target, source in conn.execute(
        "SELECT target, source FROM statement_refs WHERE tenant = ?"
        " AND target IN (SELECT value FROM json_each(?)) AND source != target",
        (tenant, _json(ids)),
    ):
        found.setdefault(target, []).append(source)
    return found


def add_references(
    conn: sqlite3.Connection, tenant: str, pairs: Sequence[tuple[str, str]]
) -> None:
    """Each source gets a copy of the stored target's own keys (`via` = the target's seq) and
    a `statement_refs` row, so that a target arriving later finds the sources waiting."""
    members = _members(conn, tenant, {m for pair in pairs for m in pair})
    conn.executemany(
        "INSERT OR IGNORE INTO statement_keys (key_id, stored, id, via, seq)"
        " VALUES (?,?,?,?,?)",
        [
            (key, members[a][1], members[a][2], members[x][0], members[a][0])
            for a, x in pairs
            if a in members and x in members
            for key in members[x][3]
        ],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO statement_refs (tenant, target, source) VALUES (?,?,?)",
        [(tenant, x, a) for a, x in pairs],
    )


def get(conn: sqlite3.Connection, tenant: str, ids: Sequence[str]) -> dict[str, StoredStatement]:
    if not ids:
        return {}
    return {row[0]: _stored(row) for row in conn.execute(_GET_SQL, (tenant, _json(ids)))}


def query(
    conn: sqlite3.Connection, tenant: str, query: StatementFilter, limit: int
) -> list[StoredStatement]:
    if limit <= 0:
        return []
    sql, params = _query_sql(tenant, query)
    results: list[StoredStatement] = []
    cursor = conn.execute(sql, params)
    try:
        last = None
        for row in cursor:
            # Rows of one statement found through several chain members are adjacent.
            if row[0] == last:
                continue
            last = row[0]
            results.append(_stored(row))
            if len(results) == limit:
                break
    finally:
        cursor.close()
    return results


def feed(conn: sqlite3.Connection, tenant: str, after: str, limit: int) -> FeedPage:
    """`Storage.read_feed`: by `seq` (module docstring)."""
    rows = conn.execute(_FEED_SQL, (tenant, _feed_seq(after), max(limit, 0))).fetchall()
    if not rows:
        return FeedPage((), after)
    return FeedPage(tuple(_stored(row) for row in rows), str(rows[-1][7]).zfill(_POSITION_DIGITS))


def count_feed(conn: sqlite3.Connection, tenant: str, after: str) -> int:
    (count,) = conn.execute(
        "SELECT COUNT(*) FROM statements INDEXED BY statements_feed WHERE tenant = ? AND seq > ?",
        (tenant, _feed_seq(after)),
    ).fetchone()
    return int(count)


def _feed_seq(position: str) -> int:
    """The row number of a feed position; StorageError for text this backend never gave."""
    if not position:
        return 0
    if len(position) != _POSITION_DIGITS or not (position.isascii() and position.isdigit()):
        raise StorageError(f"{position!r} is not a position of this store's feed")
    return int(position)


def key_ids(conn: sqlite3.Connection, tenant: str, keys: set[str]) -> dict[str, int]:
    """The number of each key, numbering the new ones (few, once the store is warm). The
    report facts (`storage.sqlite.reports`) number their learners, activities, verbs and
    registrations here too."""
    numbers = dict(
        conn.execute(
            "SELECT key, key_id FROM filter_keys WHERE tenant = ?"
            " AND key IN (SELECT value FROM json_each(?))",
            (tenant, _json(keys)),
        )
    )
    for key in keys - numbers.keys():
        (numbers[key],) = conn.execute(
            "INSERT INTO filter_keys (tenant, key) VALUES (?, ?) RETURNING key_id", (tenant, key)
        ).fetchone()
    return numbers


def _members(
    conn: sqlite3.Connection, tenant: str, ids: set[str]
) -> dict[str, tuple[int, int, bytes, list[int]]]:
    """Stored statements by id: their seq, key-table `stored` and id, and own key numbers."""
    return {
        row[0]: (row[1], _micros(row[2]), _id_bytes(row[0]), orjson.loads(row[3]))
        for row in conn.execute(
            "SELECT id, seq, stored, keys FROM statements WHERE tenant = ?"
            " AND id IN (SELECT value FROM json_each(?))",
            (tenant, _json(ids)),
        )
    }


def _query_sql(tenant: str, query: StatementFilter) -> tuple[str, list[object]]:
    """One SQL statement streaming matches in paging order; each filter is an index seek.

    A filter with two keys (`related_*`) drives the scan with two index ranges merged in
    order by SQLite (a compound SELECT ordered like both its parts needs no sort).
    """
    keys = filter_keys(query)
    order = "ASC" if query.ascending else "DESC"
    if not keys:
        sql, params = _statements_scan(tenant, query)
        return sql + f" ORDER BY s.stored {order}, s.id {order}", params
    arms = [_keys_scan(tenant, query, key, keys[1:]) for key in keys[0]]
    params = [p for _, arm_params in arms for p in arm_params]
    if len(arms) == 1:
        return arms[0][0] + f" ORDER BY k.stored {order}, k.id {order}, k.via {order}", params
    sql = " UNION ALL ".join(arm for arm, _ in arms)
    return sql + f" ORDER BY 8 {order}, 9 {order}, 10 {order}", params


def _bounds(query: StatementFilter, *, keyed: bool) -> tuple[list[str], list[object]]:
    """Time, paging and permission conditions on the statements row `s` or, when the bounds
    are in canonical form and a key row `k` is `keyed`, on it (an index range). They apply to
    the statement itself, never to the chain member that matched (Communication 2.1.3, Filter
    Conditions for StatementRefs)."""
    where: list[str] = []
    params: list[object] = []
    for bound, op in ((query.since, ">"), (query.until, "<=")):
        if bound is None:
            continue
        micros = _bound_micros(bound) if keyed else None
        if micros is not None:
            where.append(f"k.stored {op} ?")
            params.append(micros)
        else:
            where.append(f"s.stored {op} ?")
            params.append(bound)
    if query.after is not None:
        op = ">" if query.ascending else "<"
        stored, last_id = query.after
        micros = _bound_micros(stored) if keyed and _ID.fullmatch(last_id) else None
        if micros is not None:
            where.append(f"(k.stored, k.id) {op} (?, ?)")
            params += [micros, _id_bytes(last_id)]
        else:
            # A cursor this LRS did not write: compared as text, exactly, without a seek.
            where.append(f"(s.stored, s.id) {op} (?, ?)")
            params += [stored, last_id]
    if query.writer is not None:
        where.append("s.writer = ?")
        params.append(query.writer)
    where.append("s.voided = 0")
    return where, params


def _statements_scan(tenant: str, query: StatementFilter) -> tuple[str, list[object]]:
    where, params = _bounds(query, keyed=False)
    if query.writer is not None:
        sql = _SELECT + " FROM statements AS s INDEXED BY statements_writer WHERE s.tenant = ? AND "
    else:
        sql = _SELECT + " FROM statements AS s INDEXED BY statements_stored WHERE s.tenant = ? AND "
    return sql + " AND ".join(where), [tenant, *params]


def _keys_scan(
    tenant: str, query: StatementFilter, key: str, others: list[tuple[str, ...]]
) -> tuple[str, list[object]]:
    # CROSS JOIN pins the key table as the outer loop: its primary key gives the order. Key
    # numbers belong to one tenant, so the key row alone scopes the statement row.
    sql = (
        "SELECT s.id, s.statement, s.stored, s.voided, s.voids, s.writer, s.sealed, k.stored,"
        " k.id, k.via FROM statement_keys AS k CROSS JOIN statements AS s"
        " WHERE k.key_id = (SELECT key_id FROM filter_keys WHERE tenant = ? AND key = ?)"
        " AND s.seq = k.seq"
    )
    params: list[object] = [tenant, key]
    for alternatives in others:
        sql += _SAME_MEMBER_HOLDS[len(alternatives)]
        for alternative in alternatives:
            params += [tenant, alternative]
    where, bound_params = _bounds(query, keyed=True)
    return sql + " AND " + " AND ".join(where), params + bound_params


def _stored(row: tuple[Any, ...]) -> StoredStatement:
    return StoredStatement(
        id=row[0], statement=row[1], stored=row[2], voided=bool(row[3]), voids=row[4],
        writer=row[5], sealed=row[6],
    )


def _repeated(ids: Sequence[str]) -> list[str]:
    counts = Counter(ids)
    return sorted(i for i, n in counts.items() if n > 1)

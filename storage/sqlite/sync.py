"""Forwarding to a central LRS in SQLite: one row per (tenant, target) of forwarding state
(`storage.records.SyncState`, compare-and-set on its revision), and the erasure list, rows
keyed by (tenant, seq) with each agent listed once per tenant."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import orjson

from storage.errors import ConcurrentUpdateError
from storage.records import Erasure, SyncState

DDL = (
    """CREATE TABLE IF NOT EXISTS sync_state (
        tenant TEXT NOT NULL,
        target TEXT NOT NULL,
        position TEXT NOT NULL,
        erasures_pulled INTEGER NOT NULL,
        erasures_applied INTEGER NOT NULL,
        last_success TEXT NOT NULL,
        last_error TEXT NOT NULL,
        last_error_at TEXT NOT NULL,
        revision INTEGER NOT NULL,
        PRIMARY KEY (tenant, target)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS erasures (
        tenant TEXT NOT NULL,
        seq INTEGER NOT NULL,
        agent TEXT NOT NULL,
        time TEXT NOT NULL,
        PRIMARY KEY (tenant, seq)
    ) WITHOUT ROWID""",
    "CREATE UNIQUE INDEX IF NOT EXISTS erasures_agent ON erasures (tenant, agent)",
)
_STATE = (
    "SELECT tenant, target, position, erasures_pulled, erasures_applied, last_success,"
    " last_error, last_error_at, revision FROM sync_state"
)
_ERASURE = "SELECT tenant, seq, agent, time FROM erasures"


def get_state(conn: sqlite3.Connection, tenant: str, target: str) -> SyncState | None:
    row = conn.execute(_STATE + " WHERE tenant = ? AND target = ?", (tenant, target)).fetchone()
    return None if row is None else SyncState(*row)


def list_states(conn: sqlite3.Connection, tenant: str | None) -> list[SyncState]:
    rows = conn.execute(
        _STATE + " WHERE ? IS NULL OR tenant = ? ORDER BY tenant, target", (tenant, tenant)
    )
    return [SyncState(*row) for row in rows]


def write_state(conn: sqlite3.Connection, state: SyncState, replaces: int | None) -> None:
    values = (
        state.position, state.erasures_pulled, state.erasures_applied, state.last_success,
        state.last_error, state.last_error_at, state.revision, state.tenant, state.target,
    )
    if replaces is None:
        done = conn.execute(
            "INSERT OR IGNORE INTO sync_state (position, erasures_pulled, erasures_applied,"
            " last_success, last_error, last_error_at, revision, tenant, target)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            values,
        ).rowcount
    else:
        done = conn.execute(
            "UPDATE sync_state SET position = ?, erasures_pulled = ?, erasures_applied = ?,"
            " last_success = ?, last_error = ?, last_error_at = ?, revision = ?"
            " WHERE tenant = ? AND target = ? AND revision = ?",
            (*values, replaces),
        ).rowcount
    if done != 1:
        raise ConcurrentUpdateError(f"the forwarding state of {state.tenant} changed")


def last_erasure(conn: sqlite3.Connection, tenant: str) -> Erasure | None:
    row = conn.execute(
        _ERASURE + " WHERE tenant = ? ORDER BY seq DESC LIMIT 1", (tenant,)
    ).fetchone()
    return None if row is None else Erasure(*row)


def erased(conn: sqlite3.Connection, tenant: str, agents: Sequence[str]) -> set[str]:
    if not agents:
        return set()
    return {
        row[0]
        for row in conn.execute(
            "SELECT agent FROM erasures WHERE tenant = ?"
            " AND agent IN (SELECT value FROM json_each(?))",
            (tenant, orjson.dumps(list(agents))),
        )
    }


def append_erasure(conn: sqlite3.Connection, entry: Erasure) -> None:
    try:
        conn.execute(
            "INSERT INTO erasures (tenant, seq, agent, time) VALUES (?,?,?,?)",
            (entry.tenant, entry.seq, entry.agent, entry.time),
        )
    except sqlite3.IntegrityError as exc:
        raise ConcurrentUpdateError(f"erasure list entry {entry.seq} is taken") from exc


def read_erasures(
    conn: sqlite3.Connection, tenant: str, after: int, limit: int
) -> list[Erasure]:
    rows = conn.execute(
        _ERASURE + " WHERE tenant = ? AND seq > ? ORDER BY seq LIMIT ?",
        (tenant, after, max(limit, 0)),
    )
    return [Erasure(*row) for row in rows]

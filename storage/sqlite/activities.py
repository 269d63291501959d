"""Activities in SQLite (Data 2.4.4.1, Communication 2.5): one row per (tenant, activity id)
holding the canonical definition as JSON (`{}` for an activity known without one).

Writes run inside `BEGIN IMMEDIATE`, so no other writer changes a row between the read and
the write of a merge; the compare-and-set of `write` still checks it, as the contract says.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from storage.errors import ConcurrentUpdateError

# A rowid table: a definition with interaction components can be large.
DDL = (
    """CREATE TABLE IF NOT EXISTS activities (
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        definition BLOB NOT NULL,
        PRIMARY KEY (tenant, id)
    )""",
)
_SELECT = (
    "SELECT id, definition FROM activities WHERE tenant = ?"
    " AND id IN (SELECT value FROM json_each(?))"
)


def get(conn: sqlite3.Connection, tenant: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    rows = conn.execute(_SELECT, (tenant, orjson.dumps(list(ids)))).fetchall()
    return {activity_id: orjson.loads(definition) for activity_id, definition in rows}


def record(conn: sqlite3.Connection, tenant: str, ids: Iterable[str]) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO activities (tenant, id, definition) VALUES (?, ?, ?)",
        [(tenant, activity_id, b"{}") for activity_id in ids],
    )


def write(
    conn: sqlite3.Connection,
    tenant: str,
    activity_id: str,
    definition: Mapping[str, Any],
    replaces: Mapping[str, Any] | None,
) -> None:
    body = orjson.dumps(definition)
    if replaces is None:
        done = conn.execute(
            "INSERT OR IGNORE INTO activities (tenant, id, definition) VALUES (?, ?, ?)",
            (tenant, activity_id, body),
        ).rowcount
    else:
        # Definitions are written by orjson and read back in the same key order, so the
        # stored bytes equal the re-serialized definition that was read (files written
        # before held `{}` as text: compared as bytes).
        done = conn.execute(
            "UPDATE activities SET definition = ? WHERE tenant = ? AND id = ?"
            " AND CAST(definition AS BLOB) = ?",
            (body, tenant, activity_id, orjson.dumps(replaces)),
        ).rowcount
    if done != 1:
        raise ConcurrentUpdateError(f"activity {activity_id} changed since it was read")

"""The audit log in SQLite: append-only rows keyed by (tenant, seq)."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from storage.errors import ConcurrentUpdateError
from storage.records import AuditEntry

DDL = (
    """CREATE TABLE IF NOT EXISTS audit (
        tenant TEXT NOT NULL,
        seq INTEGER NOT NULL,
        time TEXT NOT NULL,
        credential TEXT NOT NULL,
        action TEXT NOT NULL,
        resource TEXT NOT NULL,
        filters BLOB NOT NULL,
        count INTEGER NOT NULL,
        request_id TEXT NOT NULL,
        previous TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (tenant, seq)
    ) WITHOUT ROWID""",
)
_SELECT = (
    "SELECT tenant, seq, time, credential, action, resource, filters, count, request_id,"
    " previous, hash FROM audit"
)


def last(conn: sqlite3.Connection, tenant: str) -> AuditEntry | None:
    row = conn.execute(
        _SELECT + " WHERE tenant = ? ORDER BY seq DESC LIMIT 1", (tenant,)
    ).fetchone()
    return None if row is None else _entry(row)


def append(conn: sqlite3.Connection, entry: AuditEntry) -> None:
    try:
        conn.execute(
            "INSERT INTO audit (tenant, seq, time, credential, action, resource, filters,"
            " count, request_id, previous, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                entry.tenant, entry.seq, entry.time, entry.credential, entry.action,
                entry.resource, orjson.dumps(entry.filters), entry.count, entry.request_id,
                entry.previous, entry.hash,
            ),
        )
    except sqlite3.IntegrityError as exc:
        raise ConcurrentUpdateError(f"audit entry {entry.seq} is taken") from exc


def read(
    conn: sqlite3.Connection,
    tenant: str,
    after: int,
    since: str | None,
    action: str | None,
    limit: int,
) -> list[AuditEntry]:
    rows = conn.execute(
        _SELECT + " WHERE tenant = ? AND seq > ? AND (? IS NULL OR time >= ?)"
        " AND (? IS NULL OR action = ?) ORDER BY seq LIMIT ?",
        (tenant, after, since, since, action, action, max(limit, 0)),
    )
    return [_entry(row) for row in rows]


def _entry(row: tuple[Any, ...]) -> AuditEntry:
    tenant, seq, time, credential, action, resource, filters, count, request_id, previous, \
        digest = row
    return AuditEntry(
        tenant, seq, time, credential, action, resource, orjson.loads(filters), count,
        request_id, previous, digest,
    )

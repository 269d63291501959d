"""Attachment data in SQLite (Data 2.4.11): one row per (tenant, sha2), never in the
statement rows, so data sent with many statements is stored once; `attachment_writers`
records which credentials sent it (empty for data stored before it was kept)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import orjson

from storage.records import AttachmentItems

# A rowid table: attachment rows can be large, which WITHOUT ROWID tables handle badly.
DDL = (
    """CREATE TABLE IF NOT EXISTS attachments (
        tenant TEXT NOT NULL,
        sha2 TEXT NOT NULL,
        content_type TEXT NOT NULL,
        content BLOB NOT NULL
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS attachments_key ON attachments (tenant, sha2)",
    """CREATE TABLE IF NOT EXISTS attachment_writers (
        tenant TEXT NOT NULL,
        sha2 TEXT NOT NULL,
        writer TEXT NOT NULL,
        PRIMARY KEY (tenant, sha2, writer)
    ) WITHOUT ROWID""",
)
_INSERT = (
    "INSERT INTO attachments (tenant, sha2, content_type, content) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (tenant, sha2) DO NOTHING"
)
_SELECT = (
    "SELECT sha2, content_type, content FROM attachments WHERE tenant = ?"
    " AND sha2 IN (SELECT value FROM json_each(?))"
)
_SELECT_SENT_BY = (
    "SELECT sha2, content_type, content FROM attachments WHERE tenant = ?"
    " AND sha2 IN (SELECT value FROM json_each(?))"
    " AND sha2 IN (SELECT sha2 FROM attachment_writers WHERE tenant = ? AND writer = ?)"
)


def put(conn: sqlite3.Connection, tenant: str, items: AttachmentItems, writer: str) -> None:
    conn.executemany(
        _INSERT, [(tenant, sha2.lower(), ct, data) for sha2, (ct, data) in items.items()]
    )
    conn.executemany(
        "INSERT OR IGNORE INTO attachment_writers (tenant, sha2, writer) VALUES (?, ?, ?)",
        [(tenant, sha2.lower(), writer) for sha2 in items],
    )


def unreferenced(
    conn: sqlite3.Connection, tenant: str, sha2s: Sequence[str], excluding: Sequence[str]
) -> list[str]:
    """Stored hashes among `sha2s` no statement outside `excluding` refers to
    (`statement_attachments`, `storage.sqlite.statements`)."""
    rows = conn.execute(
        "SELECT a.sha2 FROM attachments AS a WHERE a.tenant = ?1"
        " AND a.sha2 IN (SELECT value FROM json_each(?2)) AND NOT EXISTS ("
        "SELECT 1 FROM statement_attachments AS r JOIN statements AS s ON s.seq = r.seq"
        " WHERE r.tenant = ?1 AND r.sha2 = a.sha2"
        " AND s.id NOT IN (SELECT value FROM json_each(?3))) ORDER BY a.sha2",
        (tenant, orjson.dumps([s.lower() for s in sha2s]), orjson.dumps(list(excluding))),
    )
    return [row[0] for row in rows]


def remove(conn: sqlite3.Connection, tenant: str, sha2s: Sequence[str]) -> int:
    """Delete the data and who sent it."""
    wanted = (tenant, orjson.dumps([s.lower() for s in sha2s]))
    conn.execute(
        "DELETE FROM attachment_writers WHERE tenant = ?"
        " AND sha2 IN (SELECT value FROM json_each(?))",
        wanted,
    )
    return conn.execute(
        "DELETE FROM attachments WHERE tenant = ? AND sha2 IN (SELECT value FROM json_each(?))",
        wanted,
    ).rowcount


def get(
    conn: sqlite3.Connection, tenant: str, sha2s: Sequence[str], writer: str | None
) -> dict[str, tuple[str, bytes]]:
    if not sha2s:
        return {}
    wanted = orjson.dumps([s.lower() for s in sha2s])
    if writer is None:
        rows = conn.execute(_SELECT, (tenant, wanted)).fetchall()
    else:
        rows = conn.execute(_SELECT_SENT_BY, (tenant, wanted, tenant, writer)).fetchall()
    return {sha2: (content_type, bytes(content)) for sha2, content_type, content in rows}

"""Attachment data in SQLite (Data 2.4.11): one row per (tenant, sha2), never in the
statement rows, so data sent with many statements is stored once."""

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
)
_INSERT = (
    "INSERT INTO attachments (tenant, sha2, content_type, content) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (tenant, sha2) DO NOTHING"
)
_SELECT = (
    "SELECT sha2, content_type, content FROM attachments WHERE tenant = ?"
    " AND sha2 IN (SELECT value FROM json_each(?))"
)


def put(conn: sqlite3.Connection, tenant: str, items: AttachmentItems) -> None:
    conn.executemany(
        _INSERT, [(tenant, sha2.lower(), ct, data) for sha2, (ct, data) in items.items()]
    )


def get(
    conn: sqlite3.Connection, tenant: str, sha2s: Sequence[str]
) -> dict[str, tuple[str, bytes]]:
    if not sha2s:
        return {}
    rows = conn.execute(_SELECT, (tenant, orjson.dumps([s.lower() for s in sha2s]))).fetchall()
    return {sha2: (content_type, bytes(content)) for sha2, content_type, content in rows}

"""Attachment data in SQLite (Data 2.4.11): one row per (tenant, sha2), never in the
statement rows, so data sent with many statements is stored once."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, ClassVar

import orjson

from storage.errors import StorageError

_INSERT = (
    "INSERT INTO attachments (tenant, sha2, content_type, content) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (tenant, sha2) DO NOTHING"
)
_SELECT = (
    "SELECT sha2, content_type, content FROM attachments WHERE tenant = ?"
    " AND sha2 IN (SELECT value FROM json_each(?))"
)


class SQLiteAttachments:
    """Mixin for `SQLiteBase`: the `AttachmentStore` part of the storage Protocol."""

    # A rowid table: attachment rows can be large, which WITHOUT ROWID tables handle badly.
    DDL: ClassVar[tuple[str, ...]] = (
        """CREATE TABLE IF NOT EXISTS attachments (
            tenant TEXT NOT NULL,
            sha2 TEXT NOT NULL,
            content_type TEXT NOT NULL,
            content BLOB NOT NULL
        )""",
        "CREATE UNIQUE INDEX IF NOT EXISTS attachments_key ON attachments (tenant, sha2)",
    )

    if TYPE_CHECKING:  # provided by SQLiteBase
        _conn: sqlite3.Connection

        def _transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def put_attachments(self, tenant: str, items: Mapping[str, tuple[str, bytes]]) -> None:
        if not items:
            return
        try:
            with self._transaction() as conn:
                conn.executemany(
                    _INSERT,
                    [(tenant, sha2.lower(), ct, data) for sha2, (ct, data) in items.items()],
                )
        except sqlite3.Error as exc:
            raise StorageError(f"cannot store attachments: {exc}") from exc

    def get_attachments(
        self, tenant: str, sha2s: Sequence[str]
    ) -> dict[str, tuple[str, bytes]]:
        if not sha2s:
            return {}
        wanted = orjson.dumps([s.lower() for s in sha2s])
        try:
            rows = self._conn.execute(_SELECT, (tenant, wanted)).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read attachments: {exc}") from exc
        return {sha2: (content_type, bytes(content)) for sha2, content_type, content in rows}

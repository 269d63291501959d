"""Activities in SQLite (Data 2.4.4.1, Communication 2.5): one row per (tenant, activity id)
holding the canonical definition as JSON (`{}` for an activity known without one).

Definitions are merged in the transaction that stores their statements: the write lock
`BEGIN IMMEDIATE` takes makes the read-merge-write atomic against other writers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from storage.base import ActivityDefinitions, StatementRecord, merge_definitions
from storage.errors import StorageError

_SELECT = (
    "SELECT id, definition FROM activities WHERE tenant = ?"
    " AND id IN (SELECT value FROM json_each(?))"
)
_UPSERT = (
    "INSERT INTO activities (tenant, id, definition) VALUES (?, ?, ?)"
    " ON CONFLICT (tenant, id) DO UPDATE SET definition = excluded.definition"
)
_RECORD = "INSERT OR IGNORE INTO activities (tenant, id, definition) VALUES (?, ?, '{}')"


class SQLiteActivities:
    """Mixin for `SQLiteBase`: the `ActivityStore` part of the storage Protocol."""

    # A rowid table: a definition with interaction components can be large.
    DDL: ClassVar[tuple[str, ...]] = (
        """CREATE TABLE IF NOT EXISTS activities (
            tenant TEXT NOT NULL,
            id TEXT NOT NULL,
            definition BLOB NOT NULL,
            PRIMARY KEY (tenant, id)
        )""",
    )

    if TYPE_CHECKING:  # provided by SQLiteBase and SQLiteStatements
        _conn: sqlite3.Connection

        def _transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def insert_statements(self, tenant: str, records: Sequence[StatementRecord]) -> None: ...

    def insert_statements_with_activities(
        self, tenant: str, records: Sequence[StatementRecord], activities: ActivityDefinitions
    ) -> None:
        try:
            with self._transaction() as conn:
                self.insert_statements(tenant, records)
                _put(conn, tenant, activities)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot store activities: {exc}") from exc

    def put_activities(self, tenant: str, activities: ActivityDefinitions) -> None:
        if not activities:
            return
        try:
            with self._transaction() as conn:
                _put(conn, tenant, activities)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot store activities: {exc}") from exc

    def get_activities(self, tenant: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        try:
            rows = self._conn.execute(_SELECT, (tenant, orjson.dumps(list(ids)))).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read activities: {exc}") from exc
        return {activity_id: orjson.loads(definition) for activity_id, definition in rows}


def _put(conn: sqlite3.Connection, tenant: str, activities: ActivityDefinitions) -> None:
    """Merge and record inside the caller's transaction; rows whose canonical definition
    does not change are not written."""
    defined = [activity_id for activity_id, definitions in activities.items() if definitions]
    if defined:
        current = {
            activity_id: orjson.loads(definition)
            for activity_id, definition in conn.execute(
                _SELECT, (tenant, orjson.dumps(defined))
            )
        }
        changed = []
        for activity_id in defined:
            before = current.get(activity_id)
            after = merge_definitions(before or {}, activities[activity_id])
            if after != before:
                changed.append((tenant, activity_id, orjson.dumps(after)))
        if changed:
            conn.executemany(_UPSERT, changed)
    recorded = [
        (tenant, activity_id)
        for activity_id, definitions in activities.items()
        if not definitions
    ]
    if recorded:
        conn.executemany(_RECORD, recorded)

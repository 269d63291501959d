"""The embedded SQLite backend: one file, WAL, stdlib `sqlite3`.

`database` owns the file and the write transaction, one module per resource holds its
table's SQL, and `backend` composes them into the `Storage` of `storage.protocol`.
"""

from __future__ import annotations

from storage.sqlite.backend import SQLiteStorage, SQLiteTransaction

__all__ = ["SQLiteStorage", "SQLiteTransaction"]

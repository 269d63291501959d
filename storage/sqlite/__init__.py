"""The embedded SQLite backend: one file, WAL, stdlib `sqlite3`."""

from __future__ import annotations

from storage.sqlite.activities import SQLiteActivities
from storage.sqlite.attachments import SQLiteAttachments
from storage.sqlite.connection import SQLiteBase
from storage.sqlite.credentials import SQLiteCredentials
from storage.sqlite.documents import SQLiteDocumentStore
from storage.sqlite.statements import SQLiteStatements

__all__ = ["SQLiteStorage"]


class SQLiteStorage(
    SQLiteStatements,
    SQLiteDocumentStore,
    SQLiteCredentials,
    SQLiteAttachments,
    SQLiteActivities,
    SQLiteBase,
):
    """Every resource store on one SQLite database file."""

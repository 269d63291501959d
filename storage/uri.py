"""Choosing a backend by one URI, the way the service configuration names it."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from storage.errors import StorageError
from storage.protocol import Storage

DEFAULT_STORAGE_URI = "sqlite:///lrs-data/lrs.db"

_SQLITE = "sqlite:///"
_MONGO_SCHEMES = ("mongodb://", "mongodb+srv://")


def open_storage(uri: str) -> Storage:
    """Open the backend named by `uri`.

    `sqlite:///relative/path.db` is relative to the working directory and
    `sqlite:////absolute/path.db` absolute (SQLAlchemy's convention); `mongodb://...` opens
    `storage.mongo.MongoStorage(uri)`, imported only then so pymongo stays optional.
    """
    if uri.startswith(_SQLITE):
        path = uri[len(_SQLITE) :]
        if not path or path.endswith("/"):
            raise StorageError(f"the SQLite URI {uri!r} names no database file")
        if "?" in path or "#" in path:
            raise StorageError(f"the SQLite URI {uri!r} has options; none are supported")
        if path == ":memory:":
            # Each thread has its own connection, so each would see a different database.
            raise StorageError("an in-memory SQLite database is not supported; name a file")
        from storage.sqlite import SQLiteStorage

        return SQLiteStorage(Path(path))
    if uri.startswith(_MONGO_SCHEMES):
        if importlib.util.find_spec("storage.mongo") is None:
            raise StorageError("mongodb backend not available")
        try:
            mongo = importlib.import_module("storage.mongo")
        except ImportError as exc:
            raise StorageError(
                "the mongodb backend needs pymongo: pip install 'lrs[mongo]'"
            ) from exc
        opened: Storage = mongo.MongoStorage(uri)
        return opened
    scheme = uri.split(":", 1)[0] if ":" in uri else uri
    raise StorageError(
        f"unsupported storage URI scheme {scheme!r}: expected sqlite:///path/to/file.db"
        " or mongodb://host/database"
    )

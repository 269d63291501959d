"""`open_storage`: choosing a backend by URI, and the package's public names."""

from __future__ import annotations

import pytest

import storage
from storage import DEFAULT_STORAGE_URI, StorageError, open_storage
from storage.sqlite import SQLiteStorage


def test_default_uri_is_a_relative_sqlite_file():
    assert DEFAULT_STORAGE_URI == "sqlite:///lrs-data/lrs.db"


def test_relative_sqlite_path_is_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open_storage("sqlite:///data/lrs.db") as store:
        assert isinstance(store, SQLiteStorage)
    assert (tmp_path / "data" / "lrs.db").is_file()


def test_absolute_sqlite_path_has_four_slashes(tmp_path):
    path = tmp_path / "abs" / "lrs.db"
    uri = f"sqlite:///{path}"
    assert uri.startswith("sqlite:////")
    open_storage(uri).close()
    assert path.is_file()


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("sqlite:///", "names no database file"),
        ("sqlite:///dir/", "names no database file"),
        ("sqlite:///:memory:", "in-memory"),
        ("sqlite:///lrs.db?mode=ro", "options"),
        ("sqlite://lrs.db", "unsupported storage URI scheme 'sqlite'"),
        ("postgresql://user:secret@host/db", "unsupported storage URI scheme 'postgresql'"),
        ("lrs.db", "unsupported storage URI scheme 'lrs.db'"),
    ],
)
def test_bad_uris_are_clear_errors(uri, message):
    with pytest.raises(StorageError) as info:
        open_storage(uri)
    assert message in str(info.value)
    assert "secret" not in str(info.value)


def test_mongodb_without_its_module_is_a_clear_error(monkeypatch):
    monkeypatch.setattr("storage.uri.importlib.util.find_spec", lambda name: None)
    with pytest.raises(StorageError, match="mongodb backend not available"):
        open_storage("mongodb://localhost:27017/lrs")


def _isort_key(name: str) -> tuple[int, str]:
    """Constants, then classes, then functions (the order ruff's RUF022 keeps)."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_complete():
    assert storage.__all__ == sorted(storage.__all__, key=_isort_key)
    public = {
        name for name, value in vars(storage).items()
        if not name.startswith("_") and not isinstance(value, type(storage))
        and name not in {"annotations"}
    }
    assert set(storage.__all__) == public

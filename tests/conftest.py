"""Fixtures shared by every test package.

`storage_uri` runs a test once per storage backend: add a backend by adding one factory to
`BACKENDS`. A factory gets the pytest `request` (to reach server fixtures) and a fresh
temporary directory, and returns the URI of an empty store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.mongo_server",  # the "mongo" backend's server fixtures
    "tests.e2e.browser",  # a headless Chromium for the browser tests
]


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'lrs.db'}"


BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], str]] = {
    "mongo": lambda request, tmp_path: request.getfixturevalue("mongo_database_uri"),
    "sqlite": _sqlite,
}


@pytest.fixture(params=sorted(BACKENDS))
def storage_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URI of an empty store, once per backend."""
    return BACKENDS[request.param](request, tmp_path)


@pytest.fixture
def store(storage_uri: str) -> Iterator[object]:
    """An open, empty store on every backend, closed after the test."""
    from storage import open_storage

    opened = open_storage(storage_uri)
    try:
        yield opened
    finally:
        opened.close()

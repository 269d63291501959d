"""A MongoDB-wire-compatible server for the tests, reached over a real socket.

By default a SecantusDB server (`secantusd-py`, pinned in the `test` extra) is started on a
free 127.0.0.1 port with in-memory storage, once per test session, and always stopped. When
`LRS_TEST_MONGODB_URI` is set, the tests use that server (a real `mongod`) instead. Each test
gets its own database, dropped afterwards, so tests never see each other's data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.secantus import ENV_URI, free_port, secantus_server, with_database

__all__ = ["ENV_URI", "free_port", "fresh_database", "mongo_server", "secantus_server",
           "with_database"]


@contextmanager
def mongo_server(tmp_dir: Path) -> Iterator[str]:
    """The server for this test session: `LRS_TEST_MONGODB_URI` or a fresh SecantusDB."""
    uri = os.environ.get(ENV_URI)
    if uri:
        yield uri
        return
    with secantus_server(tmp_dir) as started:
        yield started


@contextmanager
def fresh_database(server_uri: str) -> Iterator[str]:
    """A URI naming a new, uniquely named database, dropped afterwards."""
    from pymongo import MongoClient

    name = f"lrs_test_{uuid.uuid4().hex[:12]}"
    try:
        yield with_database(server_uri, name)
    finally:
        client: MongoClient = MongoClient(server_uri, serverSelectionTimeoutMS=5000)
        try:
            client.drop_database(name)
        finally:
            client.close()


@pytest.fixture(scope="session")
def mongo_server_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One MongoDB server for the whole test session."""
    with mongo_server(tmp_path_factory.mktemp("mongo")) as uri:
        yield uri


@pytest.fixture
def mongo_database_uri(mongo_server_uri: str) -> Iterator[str]:
    """An empty database on the session server, dropped when the test ends."""
    with fresh_database(mongo_server_uri) as uri:
        yield uri


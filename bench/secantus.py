"""A SecantusDB server (the MongoDB-wire-compatible Python server of the `test` extra) on a
free 127.0.0.1 port with in-memory storage, for the MongoDB benchmarks and the test suite.

SecantusDB is GPL-licensed, so it is only ever a development tool, never a runtime
dependency; its figures say what the backend costs it, not what a mongod would do.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

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


def with_database(uri: str, name: str) -> str:
    """`uri` naming database `name` (the URI path), keeping hosts and options."""
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))

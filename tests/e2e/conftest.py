"""A real LRS for end-to-end tests: `lrs serve` (gunicorn, 2 workers) on a free loopback
port with a temporary SQLite store and key file, and credentials created with the `lrs`
command."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

HOST = "127.0.0.1"


def lrs_command() -> list[str]:
    """The installed `lrs` console script next to this interpreter (else on PATH)."""
    script = Path(sys.executable).with_name("lrs")
    if script.exists():
        return [str(script)]
    found = shutil.which("lrs")
    if found is None:
        pytest.fail("the lrs console script is not installed (pip install -e .)")
    return [found]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class LiveLrs:
    port: int
    env: dict[str, str]
    key: str
    secret: str

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}/xapi/"

    def credential(self, *scopes: str) -> tuple[str, str]:
        """A new credential with these scopes, made with `lrs credentials create`."""
        return create_credential(self.env, ",".join(scopes))

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """Run the `lrs` command on this server's store."""
        return subprocess.run(
            [*lrs_command(), *args], env=self.env, capture_output=True, text=True,
            check=True, timeout=60,
        )


def create_credential(env: dict[str, str], scopes: str) -> tuple[str, str]:
    result = subprocess.run(
        [*lrs_command(), "credentials", "create", "--scopes", scopes, "--json"],
        env=env, capture_output=True, text=True, check=True, timeout=60,
    )
    data = json.loads(result.stdout)
    return data["key"], data["secret"]


def _wait_until_up(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"lrs serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/xapi/about", timeout=1) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    pytest.fail(f"lrs serve did not answer within 30 s:\n{log.read_text()}")


@contextmanager
def serving(directory: Path, env: dict[str, str], port: int | None = None) -> Iterator[int]:
    """`lrs serve` (2 workers) on `port` (a free one by default) with `env`, stopped
    afterwards: the port."""
    port = port or free_port()
    log = directory / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*lrs_command(), "serve", "--host", HOST, "--port", str(port), "--workers", "2"],
            env=env, cwd=directory, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(process, port, log)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_lrs(directory: Path, *, raw: bool = False, **settings: str) -> Iterator[LiveLrs]:
    """A server on a fresh store in `directory`; `settings` are extra `LRS_*` variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRS_")}
    env["LRS_STORAGE_URI"] = f"sqlite:///{directory / 'lrs.db'}"
    env.update(settings)
    if raw:
        env["LRS_PSEUDONYMIZE"] = "false"
    else:
        env["LRS_KEY_FILE"] = str(directory / "keys" / "master.key")
        subprocess.run(
            [*lrs_command(), "keys", "init"], env=env, capture_output=True, check=True,
            timeout=60,
        )
    key, secret = create_credential(env, "all" if raw else "all,reidentify")
    with serving(directory, env) as port:
        yield LiveLrs(port=port, env=env, key=key, secret=secret)


@pytest.fixture(scope="session")
def live_lrs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveLrs]:
    """Pseudonymization on (the default), with a key file made by `lrs keys init`, and an
    `all` + `reidentify` credential, so statements read back equal those sent. Indirect
    parametrization with "raw" gives a server with pseudonymization off instead:
    `@pytest.mark.parametrize("live_lrs", ["raw"], indirect=True)`."""
    raw = getattr(request, "param", None) == "raw"
    directory = tmp_path_factory.mktemp("live-lrs-raw" if raw else "live-lrs")
    yield from start_lrs(directory, raw=raw)

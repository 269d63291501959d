"""The SQLite store under gevent, as `lrs serve` runs it: greenlets (one per client
connection) share their OS thread's connection, and a transaction stays its greenlet's
own. Each check runs in a fresh interpreter, since monkey-patching cannot be undone."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("gevent")

PRELUDE = """
from gevent import monkey
monkey.patch_all()
import json, sys
import sqlite3
import gevent
from storage.sqlite import SQLiteStorage
opened = []
real_connect = sqlite3.connect
sqlite3.connect = lambda *args, **kwargs: opened.append(1) or real_connect(*args, **kwargs)
store = SQLiteStorage(sys.argv[1])
"""


def run_patched(tmp_path: Path, code: str) -> dict:
    script = PRELUDE + textwrap.dedent(code)
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "lrs.db")], capture_output=True,
        text=True, timeout=60, cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_greenlets_share_one_connection(tmp_path):
    """One connection per greenlet would mean one page cache per client connection."""
    out = run_patched(tmp_path, """
        def read():
            store.get_credential("nobody")
            gevent.sleep(0)
        gevent.joinall([gevent.spawn(read) for _ in range(200)])
        print(json.dumps({"connections": len(opened)}))
    """)
    assert out["connections"] == 1


def test_a_transaction_stays_its_greenlets_own(tmp_path):
    """A greenlet that yields inside its transaction: another one neither reads its
    uncommitted rows nor joins it, and waits to write until it ends."""
    out = run_patched(tmp_path, """
        from storage import Credential
        events = []

        def credential(key):
            return Credential(key=key, secret_hash="h", name="", scopes=("all",),
                              authority="{}")

        def first():
            with store._db.write() as conn:
                conn.execute("INSERT INTO credentials (key, secret_hash, name, scopes,"
                             " authority, tenant, created) VALUES ('a','h','','[]','{}','t','')")
                events.append("first wrote")
                gevent.sleep(0.05)
                events.append("first commits")

        def second():
            gevent.sleep(0.01)
            events.append(f"second reads {store.get_credential('a') is not None}")
            store.put_credential(credential("b"))
            events.append("second wrote")

        gevent.joinall([gevent.spawn(first), gevent.spawn(second)])
        print(json.dumps({"events": events, "b": store.get_credential("b") is not None}))
    """)
    assert out["events"] == ["first wrote", "first commits", "second reads True",
                             "second wrote"]
    assert out["b"]


def test_waiting_for_another_writer_goes_through_run_blocking(tmp_path):
    """Two stores on one file stand for two worker processes (an flock is held per open
    file). Only a wait on a held lock is handed to `run_blocking`, which `lrs serve` runs
    on an OS thread so that the other greenlets go on."""
    import threading

    from storage import Credential
    from storage.sqlite import SQLiteStorage

    def credential(key):
        return Credential(key=key, secret_hash="h", name="", scopes=("all",), authority="{}")

    path = tmp_path / "lrs.db"
    first, second = SQLiteStorage(path), SQLiteStorage(path)
    waits = []
    second.run_blocking = lambda call: waits.append(1) or call()
    second.put_credential(credential("free"))  # the lock is free: taken in place
    assert waits == []
    holding, release = threading.Event(), threading.Event()

    def hold():
        with first._db.write():
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)

    def wait_then_release(call):
        waits.append(1)
        release.set()  # the other "process" commits while this one waits
        call()

    second.run_blocking = wait_then_release
    second.put_credential(credential("after"))
    holder.join()
    assert waits == [1]
    assert first.get_credential("after") is not None
    first.close()
    second.close()

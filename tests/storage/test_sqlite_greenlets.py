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
        from storage.base import Credential
        events = []

        def credential(key):
            return Credential(key=key, secret_hash="h", name="", scopes=("all",),
                              authority="{}")

        def first():
            with store._transaction() as conn:
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

"""The identity vault's entries in SQLite: one row per (tenant, pseudonym's agent key,
digest) holding a sealed original agent (opaque here: `anonymize.seal`); and the marks of
erased learners a tenant refuses statements of (`erased_marks`: keyed digests, opaque
here)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import orjson

from storage.records import Identity

DDL = (
    """CREATE TABLE IF NOT EXISTS identities (
        tenant TEXT NOT NULL,
        agent TEXT NOT NULL,
        digest TEXT NOT NULL,
        sealed BLOB NOT NULL,
        PRIMARY KEY (tenant, agent, digest)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS erased_marks (
        tenant TEXT NOT NULL,
        mark TEXT NOT NULL,
        PRIMARY KEY (tenant, mark)
    ) WITHOUT ROWID""",
)


def put(conn: sqlite3.Connection, tenant: str, identities: Sequence[Identity]) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO identities (tenant, agent, digest, sealed) VALUES (?,?,?,?)",
        [(tenant, i.agent, i.digest, i.sealed) for i in identities],
    )


def remove(conn: sqlite3.Connection, tenant: str, agents: Sequence[str]) -> int:
    return conn.execute(
        "DELETE FROM identities WHERE tenant = ? AND agent IN (SELECT value FROM json_each(?))",
        (tenant, orjson.dumps(list(agents))),
    ).rowcount


def get(conn: sqlite3.Connection, tenant: str, agent: str) -> list[Identity]:
    rows = conn.execute(
        "SELECT agent, digest, sealed FROM identities WHERE tenant = ? AND agent = ?"
        " ORDER BY digest",
        (tenant, agent),
    ).fetchall()
    return [Identity(agent=row[0], digest=row[1], sealed=row[2]) for row in rows]


def mark_erased(conn: sqlite3.Connection, tenant: str, marks: Sequence[str]) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO erased_marks (tenant, mark) VALUES (?, ?)",
        [(tenant, mark) for mark in marks],
    )


def erased_among(conn: sqlite3.Connection, tenant: str, marks: Sequence[str]) -> set[str]:
    rows = conn.execute(
        "SELECT mark FROM erased_marks WHERE tenant = ? AND mark IN"
        " (SELECT value FROM json_each(?))",
        (tenant, orjson.dumps(list(marks))),
    )
    return {row[0] for row in rows}

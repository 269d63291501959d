"""The identity vault's entries in SQLite: one row per (tenant, pseudonym's agent key,
digest) holding a sealed original agent (opaque here: `anonymize.seal`)."""

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

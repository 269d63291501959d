"""Dashboard sessions in SQLite: one row per login, keyed by the hash of its id."""

from __future__ import annotations

import sqlite3

from storage.records import Session

DDL = (
    """CREATE TABLE IF NOT EXISTS sessions (
        id_hash TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        credential TEXT NOT NULL,
        csrf TEXT NOT NULL,
        created TEXT NOT NULL,
        expires TEXT NOT NULL
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires)",
)


def put(conn: sqlite3.Connection, session: Session) -> None:
    conn.execute(
        "INSERT INTO sessions (id_hash, tenant, credential, csrf, created, expires)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (session.id_hash, session.tenant, session.credential, session.csrf, session.created,
         session.expires),
    )


def get(conn: sqlite3.Connection, id_hash: str) -> Session | None:
    row = conn.execute(
        "SELECT id_hash, tenant, credential, csrf, created, expires FROM sessions"
        " WHERE id_hash = ?",
        (id_hash,),
    ).fetchone()
    return None if row is None else Session(*row)


def delete(conn: sqlite3.Connection, id_hash: str) -> None:
    conn.execute("DELETE FROM sessions WHERE id_hash = ?", (id_hash,))


def delete_expired(conn: sqlite3.Connection, now: str) -> int:
    return conn.execute("DELETE FROM sessions WHERE expires < ?", (now,)).rowcount

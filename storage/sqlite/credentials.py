"""API credentials in SQLite. Only the secret's hash is stored; keys are unique across
tenants because a request names its key before its tenant is known."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from storage.records import Credential

DDL = (
    """CREATE TABLE IF NOT EXISTS credentials (
        seq INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        secret_hash TEXT NOT NULL,
        name TEXT NOT NULL,
        scopes TEXT NOT NULL,
        authority TEXT NOT NULL,
        tenant TEXT NOT NULL,
        created TEXT NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX IF NOT EXISTS credentials_tenant ON credentials (tenant, created, seq)",
)
_SELECT = (
    "SELECT key, secret_hash, name, scopes, authority, tenant, created, revoked FROM credentials"
)


def put(conn: sqlite3.Connection, credential: Credential) -> None:
    conn.execute(
        "INSERT INTO credentials (key, secret_hash, name, scopes, authority, tenant,"
        " created, revoked) VALUES (?,?,?,?,?,?,?,?)"
        " ON CONFLICT (key) DO UPDATE SET secret_hash = excluded.secret_hash,"
        " name = excluded.name, scopes = excluded.scopes,"
        " authority = excluded.authority, tenant = excluded.tenant,"
        " created = excluded.created, revoked = excluded.revoked",
        (
            credential.key, credential.secret_hash, credential.name,
            orjson.dumps(list(credential.scopes)).decode(), credential.authority,
            credential.tenant, credential.created, int(credential.revoked),
        ),
    )


def get(conn: sqlite3.Connection, key: str) -> Credential | None:
    row = conn.execute(_SELECT + " WHERE key = ?", (key,)).fetchone()
    return None if row is None else _credential(row)


def list_all(conn: sqlite3.Connection, tenant: str | None) -> list[Credential]:
    if tenant is None:
        rows = conn.execute(_SELECT + " ORDER BY created, seq").fetchall()
    else:
        rows = conn.execute(
            _SELECT + " WHERE tenant = ? ORDER BY created, seq", (tenant,)
        ).fetchall()
    return [_credential(row) for row in rows]


def _credential(row: tuple[Any, ...]) -> Credential:
    key, secret_hash, name, scopes, authority, tenant, created, revoked = row
    return Credential(
        key=key, secret_hash=secret_hash, name=name, scopes=tuple(orjson.loads(scopes)),
        authority=authority, tenant=tenant, created=created, revoked=bool(revoked),
    )

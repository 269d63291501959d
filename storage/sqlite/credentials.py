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
        revoked INTEGER NOT NULL DEFAULT 0,
        agreement TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS credentials_tenant ON credentials (tenant, created, seq)",
)
_SELECT = (
    "SELECT key, secret_hash, name, scopes, authority, tenant, created, revoked, agreement"
    " FROM credentials"
)


def put(conn: sqlite3.Connection, credential: Credential) -> None:
    conn.execute(
        "INSERT INTO credentials (key, secret_hash, name, scopes, authority, tenant,"
        " created, revoked, agreement) VALUES (?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT (key) DO UPDATE SET secret_hash = excluded.secret_hash,"
        " name = excluded.name, scopes = excluded.scopes,"
        " authority = excluded.authority, tenant = excluded.tenant,"
        " created = excluded.created, revoked = excluded.revoked,"
        " agreement = excluded.agreement",
        (
            credential.key, credential.secret_hash, credential.name,
            orjson.dumps(list(credential.scopes)).decode(), credential.authority,
            credential.tenant, credential.created, int(credential.revoked),
            credential.agreement,
        ),
    )


def get(conn: sqlite3.Connection, key: str) -> Credential | None:
    row = conn.execute(_SELECT + " WHERE key = ?", (key,)).fetchone()
    return None if row is None else _credential(row)


def list_all(conn: sqlite3.Connection, tenant: str | None) -> list[Credential]:
    if tenant is None:
        cursor = conn.execute(_SELECT + " ORDER BY created, seq")
    else:
        cursor = conn.execute(_SELECT + " WHERE tenant = ? ORDER BY created, seq", (tenant,))
    return [_credential(row) for row in cursor]


def _credential(row: tuple[Any, ...]) -> Credential:
    key, secret_hash, name, scopes, authority, tenant, created, revoked, agreement = row
    return Credential(
        key=key, secret_hash=secret_hash, name=name, scopes=tuple(orjson.loads(scopes)),
        authority=authority, tenant=tenant, created=created, revoked=bool(revoked),
        agreement=agreement,
    )


def add_agreement_column(conn: sqlite3.Connection) -> None:
    """2 -> 3: the agreement an export credential is bound to (NULL for the others). Skipped
    when the column exists (a file created at version 3 has it from the DDL)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(credentials)")}
    if "agreement" not in columns:
        conn.execute("ALTER TABLE credentials ADD COLUMN agreement TEXT")

"""API credentials in SQLite. Only the secret's hash is stored; keys are unique across
tenants because a request names its key before its tenant is known."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, ClassVar

import orjson

from storage.base import Credential
from storage.errors import StorageError

_SELECT = (
    "SELECT key, secret_hash, name, scopes, authority, tenant, created, revoked FROM credentials"
)


class SQLiteCredentials:
    """Credential store mixin for `SQLiteBase`."""

    DDL: ClassVar[tuple[str, ...]] = (
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

    if TYPE_CHECKING:  # provided by SQLiteBase
        _conn: sqlite3.Connection

        def _transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def put_credential(self, credential: Credential) -> None:
        try:
            with self._transaction() as conn:
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
        except sqlite3.Error as exc:
            raise StorageError(f"cannot store credential: {exc}") from exc

    def get_credential(self, key: str) -> Credential | None:
        try:
            row = self._conn.execute(_SELECT + " WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read credential: {exc}") from exc
        return None if row is None else _credential(row)

    def list_credentials(self, tenant: str | None = None) -> list[Credential]:
        try:
            if tenant is None:
                rows = self._conn.execute(_SELECT + " ORDER BY created, seq").fetchall()
            else:
                rows = self._conn.execute(
                    _SELECT + " WHERE tenant = ? ORDER BY created, seq", (tenant,)
                ).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot list credentials: {exc}") from exc
        return [_credential(row) for row in rows]


def _credential(row: tuple) -> Credential:
    key, secret_hash, name, scopes, authority, tenant, created, revoked = row
    return Credential(
        key=key, secret_hash=secret_hash, name=name, scopes=tuple(orjson.loads(scopes)),
        authority=authority, tenant=tenant, created=created, revoked=bool(revoked),
    )

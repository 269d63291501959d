"""Tenants in SQLite: one row per tenant with its policy as JSON (`storage.records.Tenant`)."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from storage.errors import ConcurrentUpdateError
from storage.records import Tenant

DDL = (
    """CREATE TABLE IF NOT EXISTS tenants (
        name TEXT PRIMARY KEY,
        display_name TEXT NOT NULL,
        policy BLOB NOT NULL,
        created TEXT NOT NULL,
        updated TEXT NOT NULL,
        revision INTEGER NOT NULL
    ) WITHOUT ROWID""",
)
_SELECT = "SELECT name, display_name, policy, created, updated, revision FROM tenants"


def get(conn: sqlite3.Connection, name: str) -> Tenant | None:
    row = conn.execute(_SELECT + " WHERE name = ?", (name,)).fetchone()
    return None if row is None else _tenant(row)


def list_all(conn: sqlite3.Connection) -> list[Tenant]:
    return [_tenant(row) for row in conn.execute(_SELECT + " ORDER BY name")]


def write(conn: sqlite3.Connection, tenant: Tenant, replaces: int | None) -> None:
    values = (
        tenant.display_name, orjson.dumps(tenant.policy), tenant.updated, tenant.revision,
        tenant.name,
    )
    if replaces is None:
        done = conn.execute(
            "INSERT OR IGNORE INTO tenants (display_name, policy, updated, revision, name,"
            " created) VALUES (?, ?, ?, ?, ?, ?)",
            (*values, tenant.created),
        ).rowcount
    else:
        done = conn.execute(
            "UPDATE tenants SET display_name = ?, policy = ?, updated = ?, revision = ?"
            " WHERE name = ? AND revision = ?",
            (*values, replaces),
        ).rowcount
    if done != 1:
        raise ConcurrentUpdateError(f"tenant {tenant.name} changed since it was read")


def ensure(conn: sqlite3.Connection, names: list[str], now: str) -> None:
    """Rows for tenants known only by name (from credentials or data), following the
    configuration (an empty policy)."""
    conn.executemany(
        "INSERT OR IGNORE INTO tenants (name, display_name, policy, created, updated, revision)"
        " VALUES (?, ?, '{}', ?, ?, 0)",
        [(name, name, now, now) for name in names],
    )


def _tenant(row: tuple[Any, ...]) -> Tenant:
    name, display_name, policy, created, updated, revision = row
    return Tenant(name, display_name, orjson.loads(policy), created, updated, revision)

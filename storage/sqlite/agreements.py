"""Data-sharing agreements in SQLite: one row per agreement, keyed by (tenant, id)."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from storage.records import Agreement

DDL = (
    """CREATE TABLE IF NOT EXISTS agreements (
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        partner TEXT NOT NULL,
        purpose TEXT NOT NULL,
        fields TEXT NOT NULL,
        dimensions TEXT NOT NULL,
        since TEXT,
        until TEXT,
        starts TEXT NOT NULL,
        expires TEXT NOT NULL,
        learner_ids INTEGER NOT NULL,
        created TEXT NOT NULL,
        revoked TEXT,
        PRIMARY KEY (tenant, id)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS agreements_created ON agreements (tenant, created, id)",
)
# Interpolated into the queries below: a constant, never input.
_COLUMNS = (
    "id, tenant, partner, purpose, fields, dimensions, since, until, starts, expires,"
    " learner_ids, created, revoked"
)


def put(conn: sqlite3.Connection, agreement: Agreement) -> None:
    conn.execute(
        f"INSERT OR REPLACE INTO agreements ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",  # noqa: S608
        (
            agreement.id, agreement.tenant, agreement.partner, agreement.purpose,
            orjson.dumps(agreement.fields).decode(), orjson.dumps(agreement.dimensions).decode(),
            agreement.since, agreement.until, agreement.starts, agreement.expires,
            int(agreement.learner_ids), agreement.created, agreement.revoked,
        ),
    )


def get(conn: sqlite3.Connection, tenant: str, agreement_id: str) -> Agreement | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM agreements WHERE tenant = ? AND id = ?",  # noqa: S608
        (tenant, agreement_id),
    ).fetchone()
    return None if row is None else _agreement(row)


def list_all(conn: sqlite3.Connection, tenant: str) -> list[Agreement]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM agreements WHERE tenant = ? ORDER BY created, id",  # noqa: S608
        (tenant,),
    )
    return [_agreement(row) for row in rows]


def _agreement(row: tuple[Any, ...]) -> Agreement:
    (agreement_id, tenant, partner, purpose, fields, dimensions, since, until, starts, expires,
     learner_ids, created, revoked) = row
    return Agreement(
        id=agreement_id, tenant=tenant, partner=partner, purpose=purpose,
        fields=tuple(orjson.loads(fields)),
        dimensions=tuple((name, iri) for name, iri in orjson.loads(dimensions)),
        since=since, until=until, starts=starts, expires=expires,
        learner_ids=bool(learner_ids), created=created, revoked=revoked,
    )

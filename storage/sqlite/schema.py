"""The SQLite schema: every table's DDL, the layout version, and the migrations between
versions, run when the file is opened.

The version is `PRAGMA user_version`. A new file is created at the current version; a file
of an older version is migrated in place, in the same `BEGIN IMMEDIATE` transaction that
checks the version, so a migration interrupted at any point leaves the file as it was (and
the next start runs it again), and a migration run twice finds nothing to do. A file of an
unknown (newer) version is refused, never misread.

    1  statements, filter keys, references, identities, documents, attachments, activities,
       credentials (written before tenants were objects)
    2  + tenants (a row per tenant, with its policy) and the audit log; later, without a
       new version (tables and indexes made at every open when missing): the statement
       feed's index and counter, forwarding state, the erasure list
    3  + data-sharing agreements, and the agreement an export credential is bound to (a
       column of credentials)
    4  + which attachments each statement refers to (`statement_attachments`, filled from
       the stored statements), and documents indexed by agent and by time: what erasure and
       retention find their rows by; `erased_marks` (empty until a tenant refuses erased
       learners: nothing to migrate)
    5  + report facts and summaries (`storage.sqlite.reports`): the facts of every statement
       stored before are computed from it (`reports.backfill`)
    6  + `report_folded`: summaries folded from the facts after ingest, not upserted with
       each batch; a file of layout 5 kept them at ingest, so its facts are all folded
       (`reports.mark_folded`)
    7  + `report_pending`: the facts made from statements' report fields off the write path,
       not written with each batch; a file of layout 6 wrote them at ingest, so its facts
       not folded yet are folded (`reports.fold_facts`)
    8  `report_pending` items hold key and profile numbers, not texts: a file of layout 7
       has its waiting items numbered (`reports.number_pending`); the report facts are
       keyed (tenant, course, seq), without the day: a file of layout 5-7 has them copied
       into a table so keyed (`reports.key_facts_by_seq`)
    9  + `report_days.starts`, kept by triggers on `report_firsts`: a file of layout 5-8
       has the column added before any folding (`reports.add_starts`) and set from its
       first facts after (`reports.mark_starts`); + `report_days_completions`, a partial
       index of the rows with a course completion (made by its DDL)
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from statements import stored_timestamp
from storage.errors import StorageError
from storage.sqlite import (
    activities,
    agreements,
    attachments,
    audit,
    credentials,
    documents,
    identities,
    reports,
    sessions,
    statements,
    sync,
    tenants,
)
from storage.sqlite.database import Database

SCHEMA_VERSION = 9
DEFAULT_TENANT = "default"

_DDL = (
    *credentials.DDL,
    *documents.DDL,
    *attachments.DDL,
    *activities.DDL,
    *identities.DDL,
    *statements.DDL,
    *tenants.DDL,
    *audit.DDL,
    *sessions.DDL,
    *agreements.DDL,
    *sync.DDL,
    *reports.DDL,
)


def prepare(db: Database) -> None:
    """Create or migrate the schema of `db`'s file; StorageError for a file this code
    cannot read."""
    with db.write() as conn:
        version = _version(conn, db.path)
        for statement in _DDL:
            conn.execute(statement)
        if version < 2:
            _add_tenants(conn, new=version == 0)
        if version < 3:
            credentials.add_agreement_column(conn)
        if 0 < version < 4:
            statements.index_attachments(conn)
        if 5 <= version < 9:
            reports.add_starts(conn)
        if 0 < version < 5:
            reports.backfill(conn)
        elif version == 5:
            reports.mark_folded(conn)
        elif version == 6:
            reports.fold_facts(conn)
        if 5 <= version < 8:
            reports.key_facts_by_seq(conn)
        if version == 7:
            reports.number_pending(conn)
        if 5 <= version < 9:
            reports.mark_starts(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _version(conn: sqlite3.Connection, path: str) -> int:
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version == 0 and conn.execute(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'statements'"
    ).fetchone():
        version = -1  # written before the layout was versioned
    if version not in range(SCHEMA_VERSION + 1):
        raise StorageError(
            f"the SQLite file {path} holds statements in another layout (version {version});"
            f" this LRS reads version {SCHEMA_VERSION} and migrates the earlier ones"
        )
    return int(version)


def _add_tenants(conn: sqlite3.Connection, *, new: bool) -> None:
    """1 -> 2: a tenant row, following the configuration, for the default tenant and every
    tenant the store already holds data or credentials of."""
    names = {DEFAULT_TENANT}
    if not new:
        for table in ("credentials", "statements", "documents", "attachments", "activities"):
            # Table names are this module's constants, never input.
            names.update(row[0] for row in conn.execute(f"SELECT DISTINCT tenant FROM {table}"))  # noqa: S608
    tenants.ensure(conn, sorted(names), stored_timestamp(datetime.now(UTC)))

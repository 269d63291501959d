"""The embedded backend's `Storage` and `Transaction` (`storage.protocol`), composed from the
resource modules, which each hold one table's SQL as functions of a connection.

Writers are serialized (`BEGIN IMMEDIATE` behind the writer's turn), so a batch, its
identities and its activity merges commit together and nothing needs settling afterwards.
Every `sqlite3.Error` becomes a StorageError naming what was being done.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from storage.errors import StorageError, UnavailableError
from storage.protocol import Transaction
from storage.records import (
    Agreement,
    AttachmentItems,
    AuditEntry,
    Credential,
    Document,
    DocumentRef,
    DocumentScope,
    Erasure,
    FeedPage,
    Identity,
    IndicatorCell,
    IndicatorQuery,
    ModuleRow,
    ProgressRow,
    ReportFilter,
    Session,
    StatementFilter,
    StatementRecord,
    StoredStatement,
    SyncState,
    Tenant,
)
from storage.sqlite import (
    activities,
    agreements,
    attachments,
    audit,
    credentials,
    documents,
    identities,
    reports,
    schema,
    sessions,
    statements,
    sync,
    tenants,
)
from storage.sqlite.database import Database

T = TypeVar("T")


@contextmanager
def _errors(action: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise StorageError(f"cannot {action}: {exc}") from exc


class SQLiteTransaction:
    """The primitives on the connection of one write transaction."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def get_statements(self, tenant: str, ids: Sequence[str]) -> dict[str, StoredStatement]:
        return statements.get(self._conn, tenant, ids)

    def insert_statements(
        self, tenant: str, records: Sequence[StatementRecord], *, pending: bool = False
    ) -> None:
        if pending:
            raise ValueError("SQLite writes a batch in one transaction: nothing is pending")
        seqs, numbers = statements.insert(self._conn, tenant, records)
        reports.add_pending(
            self._conn, tenant,
            [(seq, r.report) for seq, r in zip(seqs, records, strict=True) if r.report],
            numbers,
        )

    def clear_pending(self, tenant: str, ids: Sequence[str]) -> None:
        """Nothing is ever pending here (`defers_shared_writes` is False)."""

    def voided_targets(self, tenant: str, ids: Sequence[str]) -> set[str]:
        return statements.voided_targets(self._conn, tenant, ids)

    def set_voided(self, tenant: str, ids: Iterable[str]) -> None:
        statements.set_voided(self._conn, tenant, ids)

    def delete_report_facts(self, tenant: str, ids: Sequence[str]) -> None:
        reports.delete_facts(self._conn, tenant, ids)

    def reference_targets(self, tenant: str, ids: Sequence[str]) -> dict[str, list[str]]:
        return statements.reference_targets(self._conn, tenant, ids)

    def reference_sources(self, tenant: str, ids: Sequence[str]) -> dict[str, list[str]]:
        return statements.reference_sources(self._conn, tenant, ids)

    def add_references(self, tenant: str, pairs: Sequence[tuple[str, str]]) -> None:
        statements.add_references(self._conn, tenant, pairs)

    def agent_statement_ids(
        self,
        tenant: str,
        agents: Sequence[str],
        *,
        since: str | None = None,
        limit: int | None = None,
        chains: bool = True,
    ) -> list[str]:
        return statements.agent_statement_ids(self._conn, tenant, agents, since, limit, chains)

    def statements_before(
        self, tenant: str, before: str, limit: int, *, after: tuple[str, str] | None = None
    ) -> list[StoredStatement]:
        return statements.before(self._conn, tenant, before, limit, after)

    def delete_statements(self, tenant: str, ids: Sequence[str]) -> int:
        return statements.delete(self._conn, tenant, ids)

    def replace_statements(self, tenant: str, records: Sequence[StatementRecord]) -> None:
        statements.replace(self._conn, tenant, records)

    def put_identities(self, tenant: str, items: Sequence[Identity]) -> None:
        identities.put(self._conn, tenant, items)

    def get_identities(self, tenant: str, agent: str) -> list[Identity]:
        return identities.get(self._conn, tenant, agent)

    def remove_identities(self, tenant: str, agents: Sequence[str]) -> int:
        return identities.remove(self._conn, tenant, agents)

    def mark_erased(self, tenant: str, marks: Sequence[str]) -> None:
        identities.mark_erased(self._conn, tenant, marks)

    def put_attachments(self, tenant: str, items: AttachmentItems, *, writer: str) -> None:
        attachments.put(self._conn, tenant, items, writer)

    def unreferenced_attachments(
        self, tenant: str, sha2s: Sequence[str], *, excluding: Sequence[str]
    ) -> list[str]:
        return attachments.unreferenced(self._conn, tenant, sha2s, excluding)

    def remove_attachments(self, tenant: str, sha2s: Sequence[str]) -> int:
        return attachments.remove(self._conn, tenant, sha2s)

    def get_activities(self, tenant: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return activities.get(self._conn, tenant, ids)

    def record_activities(self, tenant: str, ids: Iterable[str]) -> None:
        activities.record(self._conn, tenant, ids)

    def write_activity(
        self,
        tenant: str,
        activity_id: str,
        definition: Mapping[str, Any],
        *,
        replaces: Mapping[str, Any] | None,
    ) -> None:
        activities.write(self._conn, tenant, activity_id, definition, replaces)

    def get_document(self, tenant: str, scope: DocumentScope, doc_id: str) -> Document | None:
        return documents.get(self._conn, tenant, scope, doc_id)

    def write_document(
        self, tenant: str, scope: DocumentScope, document: Document, *, replaces: str | None
    ) -> None:
        documents.write(self._conn, tenant, scope, document, replaces)

    def remove_document(self, tenant: str, scope: DocumentScope, doc_id: str, *, etag: str) -> None:
        documents.remove(self._conn, tenant, scope, doc_id, etag)

    def remove_documents(self, tenant: str, scope: DocumentScope) -> int:
        return documents.remove_scope(self._conn, tenant, scope)

    def agent_documents(
        self,
        tenant: str,
        *,
        agents: Sequence[str] | None = None,
        updated_before: str | None = None,
    ) -> list[DocumentRef]:
        return documents.agent_documents(self._conn, tenant, agents, updated_before)

    def get_tenant(self, name: str) -> Tenant | None:
        return tenants.get(self._conn, name)

    def write_tenant(self, tenant: Tenant, *, replaces: int | None) -> None:
        tenants.write(self._conn, tenant, replaces)

    def last_audit_entry(self, tenant: str) -> AuditEntry | None:
        return audit.last(self._conn, tenant)

    def append_audit(self, entry: AuditEntry) -> None:
        audit.append(self._conn, entry)

    def get_sync_state(self, tenant: str, target: str) -> SyncState | None:
        return sync.get_state(self._conn, tenant, target)

    def write_sync_state(self, state: SyncState, *, replaces: int | None) -> None:
        sync.write_state(self._conn, state, replaces)

    def last_erasure(self, tenant: str) -> Erasure | None:
        return sync.last_erasure(self._conn, tenant)

    def erased_agents(self, tenant: str, agents: Sequence[str]) -> set[str]:
        return sync.erased(self._conn, tenant, agents)

    def append_erasure(self, entry: Erasure) -> None:
        sync.append_erasure(self._conn, entry)


class SQLiteStorage:
    """Every resource on one SQLite database file (WAL, stdlib `sqlite3`)."""

    defers_shared_writes = False
    needs_settling = False
    transactional = True

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db = Database(path)
        self._quiet_mark = -1  # `fold_when_quiet`: the last statement's number it saw
        try:
            schema.prepare(self._db)
        except sqlite3.Error as exc:
            self._db.close()
            raise UnavailableError(f"cannot open SQLite database {self.path}: {exc}") from exc
        except BaseException:
            self._db.close()
            raise

    def __repr__(self) -> str:
        return f"SQLiteStorage({self.path!r})"

    @property
    def run_blocking(self) -> Callable[[Callable[[], None]], None]:
        """How a wait for the writer file lock runs (`storage.sqlite.database.Database`)."""
        return self._db.run_blocking

    @run_blocking.setter
    def run_blocking(self, run: Callable[[Callable[[], None]], None]) -> None:
        self._db.run_blocking = run

    def atomically(self, work: Callable[[Transaction], T]) -> T:
        with _errors("write"):
            return self._db.write_grouped(lambda conn: work(SQLiteTransaction(conn)))

    def get_statements(self, tenant: str, ids: Sequence[str]) -> dict[str, StoredStatement]:
        with _errors("read statements"):
            return statements.get(self._db.conn, tenant, ids)

    def query_statements(
        self, tenant: str, query: StatementFilter, limit: int
    ) -> list[StoredStatement]:
        with _errors("query statements"):
            return statements.query(self._db.conn, tenant, query, limit)

    def get_identities(self, tenant: str, agent: str) -> list[Identity]:
        with _errors("read identities"):
            return identities.get(self._db.conn, tenant, agent)

    def report_progress(
        self, tenant: str, query: ReportFilter, *, after: str | None, limit: int
    ) -> tuple[int, list[ProgressRow]]:
        with _errors("report progress"):
            self._fold(tenant)
            with self._db.read() as conn:
                return reports.progress(conn, tenant, query, after, limit)

    def report_modules(self, tenant: str, query: ReportFilter) -> list[ModuleRow]:
        with _errors("report modules"):
            self._fold(tenant)
            return reports.modules(self._db.conn, tenant, query)

    def report_indicators(self, tenant: str, query: IndicatorQuery) -> list[IndicatorCell]:
        with _errors("report indicators"):
            self._fold(tenant)
            with self._db.read() as conn:
                return reports.indicators(conn, tenant, query)

    def _fold(self, tenant: str) -> None:
        """Fold the statements of the tenant that wait (`storage.sqlite.reports`): a report
        counts every statement stored before it."""
        if reports.pending(self._db.conn, tenant):
            self._db.write_grouped(lambda conn: reports.fold(conn, tenant))

    def fold_when_quiet(self, limit: int) -> int:
        """Fold up to `limit` waiting statements' report fields (of the tenant waiting
        longest) if no statement was stored in this file since this method's last call on
        this object, which then only notes the last statement's number; how many were
        folded. Called every second or so, it does the folding in the quiet after a burst
        (`lrs serve` does), not during it."""
        with _errors("fold report facts"):
            conn = self._db.conn
            mark = statements.highest_seq(conn)
            quiet, self._quiet_mark = mark == self._quiet_mark, mark
            if not quiet or not reports.pending(conn):
                return 0
            return self._db.write_grouped(lambda conn: reports.fold_any(conn, limit))

    def rebuild_report_facts(self, tenant: str, dimensions: Sequence[str]) -> int:
        with _errors("rebuild report facts"), self._db.write() as conn:
            return reports.rebuild(conn, tenant, dimensions)
    def erased_among(self, tenant: str, marks: Sequence[str]) -> set[str]:
        with _errors("read erased marks"):
            return identities.erased_among(self._db.conn, tenant, marks)

    def read_feed(self, tenant: str, after: str, limit: int) -> FeedPage:
        with _errors("read the statement feed"):
            return statements.feed(self._db.conn, tenant, after, limit)

    def count_feed(self, tenant: str, after: str) -> int:
        with _errors("count the statement feed"):
            return statements.count_feed(self._db.conn, tenant, after)

    def get_attachments(
        self, tenant: str, sha2s: Sequence[str], *, writer: str | None = None
    ) -> dict[str, tuple[str, bytes]]:
        with _errors("read attachments"):
            return attachments.get(self._db.conn, tenant, sha2s, writer)

    def get_activities(self, tenant: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        with _errors("read activities"):
            return activities.get(self._db.conn, tenant, ids)

    def get_document(self, tenant: str, scope: DocumentScope, doc_id: str) -> Document | None:
        with _errors("read a document"):
            return documents.get(self._db.conn, tenant, scope, doc_id)

    def list_documents(
        self, tenant: str, scope: DocumentScope, since: str | None = None
    ) -> dict[str, str]:
        with _errors("list documents"):
            return documents.list_ids(self._db.conn, tenant, scope, since)

    def get_tenant(self, name: str) -> Tenant | None:
        with _errors("read a tenant"):
            return tenants.get(self._db.conn, name)

    def list_tenants(self) -> list[Tenant]:
        with _errors("list tenants"):
            return tenants.list_all(self._db.conn)

    def read_audit(
        self,
        tenant: str,
        *,
        after: int = 0,
        since: str | None = None,
        action: str | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        with _errors("read the audit log"):
            return audit.read(self._db.conn, tenant, after, since, action, limit)

    def put_session(self, session: Session) -> None:
        with _errors("store a session"), self._db.write() as conn:
            sessions.put(conn, session)

    def get_session(self, id_hash: str) -> Session | None:
        with _errors("read a session"):
            return sessions.get(self._db.conn, id_hash)

    def delete_session(self, id_hash: str) -> None:
        with _errors("end a session"), self._db.write() as conn:
            sessions.delete(conn, id_hash)

    def delete_expired_sessions(self, now: str) -> int:
        with _errors("drop expired sessions"), self._db.write() as conn:
            return sessions.delete_expired(conn, now)
    def get_sync_state(self, tenant: str, target: str) -> SyncState | None:
        with _errors("read the forwarding state"):
            return sync.get_state(self._db.conn, tenant, target)

    def list_sync_states(self, tenant: str | None = None) -> list[SyncState]:
        with _errors("list the forwarding states"):
            return sync.list_states(self._db.conn, tenant)

    def read_erasures(self, tenant: str, *, after: int = 0, limit: int = 100) -> list[Erasure]:
        with _errors("read the erasure list"):
            return sync.read_erasures(self._db.conn, tenant, after, limit)

    def erased_agents(self, tenant: str, agents: Sequence[str]) -> set[str]:
        with _errors("read the erasure list"):
            return sync.erased(self._db.conn, tenant, agents)

    def put_credential(self, credential: Credential) -> None:
        with _errors("store a credential"), self._db.write() as conn:
            credentials.put(conn, credential)

    def get_credential(self, key: str) -> Credential | None:
        with _errors("read a credential"):
            return credentials.get(self._db.conn, key)

    def list_credentials(self, tenant: str | None = None) -> list[Credential]:
        with _errors("list credentials"):
            return credentials.list_all(self._db.conn, tenant)

    def purge_deleted(self) -> bool:
        return self._db.purge_wal()

    def put_agreement(self, agreement: Agreement) -> None:
        with _errors("store an agreement"), self._db.write() as conn:
            agreements.put(conn, agreement)

    def get_agreement(self, tenant: str, agreement_id: str) -> Agreement | None:
        with _errors("read an agreement"):
            return agreements.get(self._db.conn, tenant, agreement_id)

    def list_agreements(self, tenant: str) -> list[Agreement]:
        with _errors("list agreements"):
            return agreements.list_all(self._db.conn, tenant)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SQLiteStorage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

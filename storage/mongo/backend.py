"""The MongoDB backend's `Storage` and `Transaction` (`storage.protocol`), composed from the
resource modules, which each hold one collection's queries as functions of the database and
a session.

Writers are not serialized, so two capability flags are on:

- `defers_shared_writes`: identities and activity merges are written after the statement
  batch commits (the statements are `pending` until then), because inside concurrent batch
  transactions these documents shared between batches are write conflicts that retry whole
  batches (measured before this design: 4 concurrent clients fell from 108 to 11
  statements/s, then 503).
- `needs_settling`: links and voiding are applied once more after the commit, because two
  workers storing a target and a statement referring to (or voiding) it at the same moment
  each miss the other inside their own transaction (snapshot isolation), or, on a standalone
  server, between their reads and writes.

A compare-and-set that lost a race raises ConcurrentUpdateError (`storage.commands` read
again and retry); inside a transaction, write conflicts are retried by `with_transaction`.
Every driver error becomes a StorageError (UnavailableError when the server cannot be
reached) naming what was being done, never the URI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from statements import stored_timestamp
from storage.errors import DuplicateIdError
from storage.mongo import (
    activities,
    agreements,
    attachments,
    audit,
    credentials,
    documents,
    identities,
    reports,
    statements,
    sync,
    tenants,
)
from storage.mongo.database import Database, Write
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
    StatementFilter,
    StatementRecord,
    StoredStatement,
    SyncState,
    Tenant,
)

T = TypeVar("T")

# How long after its `stored` instant a statement enters the feed (`storage.mongo.statements`):
# far longer than a batch write takes, retries included.
FEED_DELAY = timedelta(seconds=120)


class MongoTransaction:
    """The primitives on one run of a write (`Database.atomically`): in its session
    transaction, or without one."""

    __slots__ = ("_db", "_write")

    def __init__(self, db: Database, write: Write) -> None:
        self._db = db
        self._write = write

    def get_statements(self, tenant: str, ids: Sequence[str]) -> dict[str, StoredStatement]:
        return statements.get(self._db, self._write.doing("read statements"), tenant, ids)

    def insert_statements(
        self, tenant: str, records: Sequence[StatementRecord], *, pending: bool = False
    ) -> None:
        statements.insert(
            self._db, self._write.doing("store statements"), tenant, records,
            pending=pending, inserted=self._write.inserted,
        )
        reports.insert_facts(
            self._db, self._write.doing("store report facts"), tenant, records,
            inserted=self._write.inserted_facts,
        )

    def clear_pending(self, tenant: str, ids: Sequence[str]) -> None:
        statements.clear_pending(self._db, self._write.doing("finish statements"), tenant, ids)

    def voided_targets(self, tenant: str, ids: Sequence[str]) -> set[str]:
        return statements.voided_targets(
            self._db, self._write.doing("find voiding statements"), tenant, ids
        )

    def set_voided(self, tenant: str, ids: Iterable[str]) -> None:
        statements.set_voided(self._db, self._write.doing("void statements"), tenant, ids)

    def delete_report_facts(self, tenant: str, ids: Sequence[str]) -> None:
        reports.delete_facts(self._db, self._write.doing("delete report facts"), tenant, ids)

    def reference_targets(self, tenant: str, ids: Sequence[str]) -> dict[str, list[str]]:
        return statements.reference_targets(
            self._db, self._write.doing("read statement references"), tenant, ids
        )

    def reference_sources(self, tenant: str, ids: Sequence[str]) -> dict[str, list[str]]:
        return statements.reference_sources(
            self._db, self._write.doing("read statement references"), tenant, ids
        )

    def add_references(self, tenant: str, pairs: Sequence[tuple[str, str]]) -> None:
        statements.add_references(
            self._db, self._write.doing("link statements"), tenant, pairs
        )

    def agent_statement_ids(
        self,
        tenant: str,
        agents: Sequence[str],
        *,
        since: str | None = None,
        limit: int | None = None,
        chains: bool = True,
    ) -> list[str]:
        return statements.agent_statement_ids(
            self._db, self._write.doing("find a learner's statements"), tenant, agents, since,
            limit, chains,
        )

    def statements_before(
        self, tenant: str, before: str, limit: int, *, after: tuple[str, str] | None = None
    ) -> list[StoredStatement]:
        return statements.before(
            self._db, self._write.doing("find old statements"), tenant, before, limit, after
        )

    def delete_statements(self, tenant: str, ids: Sequence[str]) -> int:
        return statements.delete(self._db, self._write.doing("delete statements"), tenant, ids)

    def replace_statements(self, tenant: str, records: Sequence[StatementRecord]) -> None:
        statements.replace(self._db, self._write.doing("replace statements"), tenant, records)

    def put_identities(self, tenant: str, items: Sequence[Identity]) -> None:
        identities.put(self._db, self._write.doing("store identities"), tenant, items)

    def get_identities(self, tenant: str, agent: str) -> list[Identity]:
        return identities.get(
            self._db, tenant, agent, session=self._write.doing("read identities")
        )

    def remove_identities(self, tenant: str, agents: Sequence[str]) -> int:
        return identities.remove(self._db, self._write.doing("delete identities"), tenant, agents)

    def mark_erased(self, tenant: str, marks: Sequence[str]) -> None:
        identities.mark_erased(self._db, self._write.doing("mark erased"), tenant, marks)

    def put_attachments(self, tenant: str, items: AttachmentItems, *, writer: str) -> None:
        attachments.put(self._db, self._write.doing("store attachments"), tenant, items, writer)

    def unreferenced_attachments(
        self, tenant: str, sha2s: Sequence[str], *, excluding: Sequence[str]
    ) -> list[str]:
        return attachments.unreferenced(
            self._db, self._write.doing("find unreferenced attachments"), tenant, sha2s,
            excluding,
        )

    def remove_attachments(self, tenant: str, sha2s: Sequence[str]) -> int:
        return attachments.remove(self._db, self._write.doing("delete attachments"), tenant, sha2s)

    def get_activities(self, tenant: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return activities.get(self._db, self._write.doing("read activities"), tenant, ids)

    def record_activities(self, tenant: str, ids: Iterable[str]) -> None:
        activities.record(self._db, self._write.doing("store activities"), tenant, ids)

    def write_activity(
        self,
        tenant: str,
        activity_id: str,
        definition: Mapping[str, Any],
        *,
        replaces: Mapping[str, Any] | None,
    ) -> None:
        activities.write(
            self._db, self._write.doing("store activities"), tenant, activity_id, definition,
            replaces,
        )

    def get_document(self, tenant: str, scope: DocumentScope, doc_id: str) -> Document | None:
        return documents.get(self._db, self._write.doing("read a document"), tenant, scope, doc_id)

    def write_document(
        self, tenant: str, scope: DocumentScope, document: Document, *, replaces: str | None
    ) -> None:
        documents.write(
            self._db, self._write.doing("store a document"), tenant, scope, document, replaces
        )

    def remove_document(self, tenant: str, scope: DocumentScope, doc_id: str, *, etag: str) -> None:
        documents.remove(
            self._db, self._write.doing("delete a document"), tenant, scope, doc_id, etag
        )

    def remove_documents(self, tenant: str, scope: DocumentScope) -> int:
        return documents.remove_scope(
            self._db, self._write.doing("delete documents"), tenant, scope
        )

    def agent_documents(
        self,
        tenant: str,
        *,
        agents: Sequence[str] | None = None,
        updated_before: str | None = None,
    ) -> list[DocumentRef]:
        return documents.agent_documents(
            self._db, self._write.doing("find documents"), tenant, agents, updated_before
        )

    def get_tenant(self, name: str) -> Tenant | None:
        return tenants.get(self._db, self._write.doing("read a tenant"), name)

    def write_tenant(self, tenant: Tenant, *, replaces: int | None) -> None:
        tenants.write(self._db, self._write.doing("store a tenant"), tenant, replaces)

    def last_audit_entry(self, tenant: str) -> AuditEntry | None:
        return audit.last(self._db, self._write.doing("read the audit log"), tenant)

    def append_audit(self, entry: AuditEntry) -> None:
        audit.append(self._db, self._write.doing("append to the audit log"), entry)

    def get_sync_state(self, tenant: str, target: str) -> SyncState | None:
        return sync.get_state(
            self._db, self._write.doing("read the forwarding state"), tenant, target
        )

    def write_sync_state(self, state: SyncState, *, replaces: int | None) -> None:
        sync.write_state(self._db, self._write.doing("store the forwarding state"), state, replaces)

    def last_erasure(self, tenant: str) -> Erasure | None:
        return sync.last_erasure(self._db, self._write.doing("read the erasure list"), tenant)

    def erased_agents(self, tenant: str, agents: Sequence[str]) -> set[str]:
        return sync.erased(self._db, self._write.doing("read the erasure list"), tenant, agents)

    def append_erasure(self, entry: Erasure) -> None:
        sync.append_erasure(self._db, self._write.doing("append to the erasure list"), entry)


class MongoStorage:
    """Every resource in one MongoDB database (`storage.mongo.database`)."""

    defers_shared_writes = True
    needs_settling = True
    # The statement feed's settling delay (`storage.mongo.statements`); tests set it to 0.
    feed_delay = FEED_DELAY

    def __init__(self, uri: str, *, transactions: bool | None = None) -> None:
        """Connect, check the server answers, and create the indexes.

        `transactions` forces write transactions on or off; by default they are used when
        the server is a replica set member or a mongos (a standalone mongod has none).
        """
        self._db = Database(uri, transactions=transactions)

    def __repr__(self) -> str:
        return f"MongoStorage(database={self.database_name!r})"

    @property
    def transactional(self) -> bool:
        """Whether writes run in session transactions (else: undone on failure)."""
        return self._db.transactions

    @property
    def database_name(self) -> str:
        return self._db.name

    def atomically(self, work: Callable[[Transaction], T]) -> T:
        try:
            return self._db.atomically(lambda write: work(MongoTransaction(self._db, write)))
        except statements.BatchDuplicateError as exc:
            # The ordered insert stopped at the first stored id; now that the write is rolled
            # back (or undone), name every id of the batch that is stored.
            with self._db.errors("read statements"):
                taken = statements.stored_ids(self._db, exc.tenant, exc.batch)
            raise DuplicateIdError(taken or exc.ids) from exc

    # -- queries -------------------------------------------------------------------------

    def get_statements(self, tenant: str, ids: Sequence[str]) -> dict[str, StoredStatement]:
        with self._db.errors("read statements"):
            return statements.get(self._db, None, tenant, ids)

    def query_statements(
        self, tenant: str, query: StatementFilter, limit: int
    ) -> list[StoredStatement]:
        with self._db.errors("query statements"):
            return statements.query(self._db, tenant, query, limit)

    def explain_statement_query(self, tenant: str, query: StatementFilter) -> dict[str, Any]:
        """The server's plan for a query (for tests and operators checking index use)."""
        with self._db.errors("explain a query"):
            return statements.explain(self._db, tenant, query)

    def get_identities(self, tenant: str, agent: str) -> list[Identity]:
        with self._db.errors("read identities"):
            return identities.get(self._db, tenant, agent)

    def report_progress(
        self, tenant: str, query: ReportFilter, *, after: str | None, limit: int
    ) -> tuple[int, list[ProgressRow]]:
        with self._db.errors("report progress"):
            return reports.progress(self._db, tenant, query, after, limit)

    def report_modules(self, tenant: str, query: ReportFilter) -> list[ModuleRow]:
        with self._db.errors("report modules"):
            return reports.modules(self._db, tenant, query)

    def report_indicators(self, tenant: str, query: IndicatorQuery) -> list[IndicatorCell]:
        with self._db.errors("report indicators"):
            return reports.indicators(self._db, tenant, query)

    def rebuild_report_facts(self, tenant: str, dimensions: Sequence[str]) -> int:
        with self._db.errors("rebuild report facts"):
            return reports.rebuild(self._db, tenant, dimensions)
    def erased_among(self, tenant: str, marks: Sequence[str]) -> set[str]:
        with self._db.errors("read erased marks"):
            return identities.erased_among(self._db, tenant, marks)

    def read_feed(self, tenant: str, after: str, limit: int) -> FeedPage:
        settled = stored_timestamp(datetime.now(UTC) - self.feed_delay)
        with self._db.errors("read the statement feed"):
            return statements.feed(self._db, tenant, after, limit, settled)

    def count_feed(self, tenant: str, after: str) -> int:
        with self._db.errors("count the statement feed"):
            return statements.count_feed(self._db, tenant, after)

    def get_attachments(
        self, tenant: str, sha2s: Sequence[str], *, writer: str | None = None
    ) -> dict[str, tuple[str, bytes]]:
        with self._db.errors("read attachments"):
            return attachments.get(self._db, tenant, sha2s, writer)

    def get_activities(self, tenant: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        with self._db.errors("read activities"):
            return activities.get(self._db, None, tenant, ids)

    def get_document(self, tenant: str, scope: DocumentScope, doc_id: str) -> Document | None:
        with self._db.errors("read a document"):
            return documents.get(self._db, None, tenant, scope, doc_id)

    def list_documents(
        self, tenant: str, scope: DocumentScope, since: str | None = None
    ) -> dict[str, str]:
        with self._db.errors("list documents"):
            return documents.list_ids(self._db, tenant, scope, since)

    # -- tenants and the audit log -------------------------------------------------------

    def get_tenant(self, name: str) -> Tenant | None:
        with self._db.errors("read a tenant"):
            return tenants.get(self._db, None, name)

    def list_tenants(self) -> list[Tenant]:
        with self._db.errors("list tenants"):
            return tenants.list_all(self._db)

    def read_audit(
        self,
        tenant: str,
        *,
        after: int = 0,
        since: str | None = None,
        action: str | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        with self._db.errors("read the audit log"):
            return audit.read(self._db, tenant, after, since, action, limit)

    # -- forwarding to a central LRS, the erasure list -----------------------------------

    def get_sync_state(self, tenant: str, target: str) -> SyncState | None:
        with self._db.errors("read the forwarding state"):
            return sync.get_state(self._db, None, tenant, target)

    def list_sync_states(self, tenant: str | None = None) -> list[SyncState]:
        with self._db.errors("list the forwarding states"):
            return sync.list_states(self._db, tenant)

    def read_erasures(self, tenant: str, *, after: int = 0, limit: int = 100) -> list[Erasure]:
        with self._db.errors("read the erasure list"):
            return sync.read_erasures(self._db, tenant, after, limit)

    def erased_agents(self, tenant: str, agents: Sequence[str]) -> set[str]:
        with self._db.errors("read the erasure list"):
            return sync.erased(self._db, None, tenant, agents)

    # -- credentials ---------------------------------------------------------------------

    def put_credential(self, credential: Credential) -> None:
        with self._db.errors("store a credential"):
            credentials.put(self._db, credential)

    def get_credential(self, key: str) -> Credential | None:
        with self._db.errors("read a credential"):
            return credentials.get(self._db, key)

    def list_credentials(self, tenant: str | None = None) -> list[Credential]:
        with self._db.errors("list credentials"):
            return credentials.list_all(self._db, tenant)

    def purge_deleted(self) -> bool:
        """Nothing the LRS can do: the server's journal, oplog and backups keep deleted
        documents for their own lifetimes (README, "MongoDB")."""
        return False

    # -- data-sharing agreements ---------------------------------------------------------

    def put_agreement(self, agreement: Agreement) -> None:
        with self._db.errors("store an agreement"):
            agreements.put(self._db, agreement)

    def get_agreement(self, tenant: str, agreement_id: str) -> Agreement | None:
        with self._db.errors("read an agreement"):
            return agreements.get(self._db, tenant, agreement_id)

    def list_agreements(self, tenant: str) -> list[Agreement]:
        with self._db.errors("list agreements"):
            return agreements.list_all(self._db, tenant)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> MongoStorage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

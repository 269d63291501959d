"""The interface every backend implements: primitive commands inside a transaction, and
queries.

The xAPI rules of storing (voiding, StatementRef chains, document preconditions and merge,
activity definition merge) are written once above this interface, in `storage.commands`,
out of the primitives below; a backend only persists and finds (SQL LRS's model: rules once,
backends as primitives, a transaction passed in). So a primitive never decides: `set_voided`
voids what it is told, `write_document` writes what it is given.

A write is a function of a `Transaction`, run by `Storage.atomically`: everything it does
commits together or not at all. Backends whose writers are not serialized (MongoDB) may run
it more than once (a transient transaction conflict) and report a compare-and-set that lost
a race as `ConcurrentUpdateError`; the commands then read again and retry. Two capability
flags tell the commands what else a backend needs:

- `defers_shared_writes`: identities and activity definitions are written in their own
  step after the statements commit (inside one transaction, concurrent batches naming the
  same learners and activities would conflict); the statements are marked `pending` until
  that step is done, so a re-send of a batch whose step failed can finish it.
- `needs_settling`: concurrent writers may each miss the other's statements (snapshot
  isolation), so links and voiding are applied once more after the commit.

And `transactional` says whether `atomically` is a real transaction; where it is not
(MongoDB on a standalone server), commands that delete (`storage.commands.erasure`,
`storage.commands.retention`) run in steps ordered so that a re-run finishes an
interrupted one.

Deleting a statement deletes every row derived from it, in one primitive per backend
(`delete_statements`): its query fields and the copies of them other statements hold, its
chain, its attachment references, its pending marker. A row a new feature derives from
statements must be deleted there too.

Every row a backend writes carries the tenant id, and every query is scoped to one tenant.

The statement feed (`read_feed`) is what an edge LRS forwards from: every statement in the
order it became readable, at positions that a statement committed later never precedes, so
that a reader remembering the last position it handled neither skips nor repeats one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

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

T = TypeVar("T")


@runtime_checkable
class Transaction(Protocol):
    """The primitives a write is made of; valid only inside the `atomically` call that
    created it."""

    # -- statements ---------------------------------------------------------------------

    def get_statements(self, tenant: str, ids: Sequence[str]) -> dict[str, StoredStatement]:
        """The stored statements among `ids`, voided or not, keyed by id."""

    def insert_statements(
        self, tenant: str, records: Sequence[StatementRecord], *, pending: bool = False
    ) -> None:
        """Write the statements with their own query fields (not their identities: see
        `put_identities`), marked `pending` when asked. Raises DuplicateIdError naming the
        ids already stored, or repeated in `records`, and then writes none."""

    def clear_pending(self, tenant: str, ids: Sequence[str]) -> None:
        """The deferred writes of these statements are done."""

    def voided_targets(self, tenant: str, ids: Sequence[str]) -> set[str]:
        """The ids among `ids` that a stored statement voids (its `voids` names them)."""

    def set_voided(self, tenant: str, ids: Iterable[str]) -> None:
        """Mark the stored statements among `ids` voided (missing ids are ignored)."""

    def delete_report_facts(self, tenant: str, ids: Sequence[str]) -> None:
        """Delete the report facts of the stored statements among `ids` and take them out of
        every summary kept from them, so that no report counts those statements any more.
        Idempotent; must run before the statements themselves are deleted."""

    def reference_targets(self, tenant: str, ids: Sequence[str]) -> dict[str, list[str]]:
        """For each of `ids`, the statements it refers to, directly or through others (its
        StatementRef chain as recorded by `add_references`, stored or not)."""

    def reference_sources(self, tenant: str, ids: Sequence[str]) -> dict[str, list[str]]:
        """For each of `ids`, the stored statements whose chain reaches it."""

    def add_references(self, tenant: str, pairs: Sequence[tuple[str, str]]) -> None:
        """Record that each (source, target) source's chain reaches target, and give source
        the target's own query fields when the target is stored (a filter matching the
        target then matches the source). Idempotent."""

    # -- deleting statements (erasure, retention) --------------------------------------

    def agent_statement_ids(
        self,
        tenant: str,
        agents: Sequence[str],
        *,
        since: str | None = None,
        limit: int | None = None,
        chains: bool = True,
    ) -> list[str]:
        """The ids of the stored statements, voided or not, that match one of `agents` (agent
        keys) as a `related_agents` filter would: an agent position of their own or (unless
        `chains` is False) of a statement their StatementRef chain reaches. Only those stored
        at or after `since` when given; at most `limit`. An index seek, never a scan."""

    def statements_before(
        self, tenant: str, before: str, limit: int, *, after: tuple[str, str] | None = None
    ) -> list[StoredStatement]:
        """Up to `limit` stored statements, voided or not, stored before `before`
        (exclusive), oldest first by (stored, id); only those after the (stored, id) `after`
        when given."""

    def delete_statements(self, tenant: str, ids: Sequence[str]) -> int:
        """Delete the stored statements among `ids` and every row derived from them: their
        query fields, the copies of them that statements referring to them hold (those keep
        the rest of their chain), their own chains, their attachment references, pending
        markers naming them. How many statements were deleted. Voided flags they caused
        stay (a voided statement is not revived). Without a transaction the statements
        themselves go last, so a re-run finds what an interruption left."""

    def replace_statements(self, tenant: str, records: Sequence[StatementRecord]) -> None:
        """Replace stored statements by records of the same id and `stored`: the JSON, the
        sealed originals, the query fields (and their copies in statements referring to
        them), the attachment references. Ids not stored are ignored."""

    # -- identities, attachments --------------------------------------------------------

    def put_identities(self, tenant: str, identities: Sequence[Identity]) -> None:
        """Store each identity unless one with its (agent, digest) is stored."""

    def get_identities(self, tenant: str, agent: str) -> list[Identity]:
        """The identities stored for the pseudonym with agent key `agent`, by digest."""

    def remove_identities(self, tenant: str, agents: Sequence[str]) -> int:
        """Delete the identities of the pseudonyms with these agent keys; how many."""

    def mark_erased(self, tenant: str, marks: Sequence[str]) -> None:
        """Store each mark of an erased learner (opaque strings) unless it is stored."""

    def put_attachments(self, tenant: str, items: AttachmentItems, *, writer: str) -> None:
        """Store `sha2 -> (content type, data)`; a hash already stored is left as it is (its
        data is the same by definition). Either way `writer` (the credential that sent the
        data) is recorded as one who holds it."""

    def unreferenced_attachments(
        self, tenant: str, sha2s: Sequence[str], *, excluding: Sequence[str]
    ) -> list[str]:
        """The stored attachment data among `sha2s` that no stored statement refers to
        except those with ids in `excluding` (the ones about to be deleted), sorted."""

    def remove_attachments(self, tenant: str, sha2s: Sequence[str]) -> int:
        """Delete the attachment data of these hashes; how many were stored."""

    # -- activities ---------------------------------------------------------------------

    def get_activities(self, tenant: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The canonical definition of each known activity among `ids` (`{}` for one known
        without a definition)."""

    def record_activities(self, tenant: str, ids: Iterable[str]) -> None:
        """Make each id known, with an empty definition unless it is known already."""

    def write_activity(
        self,
        tenant: str,
        activity_id: str,
        definition: Mapping[str, Any],
        *,
        replaces: Mapping[str, Any] | None,
    ) -> None:
        """Set an activity's canonical definition: create it when `replaces` is None, else
        replace the definition equal to `replaces`. Raises ConcurrentUpdateError when the
        stored state is not the one expected."""

    # -- documents ----------------------------------------------------------------------

    def get_document(self, tenant: str, scope: DocumentScope, doc_id: str) -> Document | None:
        """The document, or None."""

    def write_document(
        self, tenant: str, scope: DocumentScope, document: Document, *, replaces: str | None
    ) -> None:
        """Create the document when `replaces` is None, else replace the one whose ETag is
        `replaces`. Raises ConcurrentUpdateError when the stored state is not the one
        expected."""

    def remove_document(self, tenant: str, scope: DocumentScope, doc_id: str, *, etag: str) -> None:
        """Delete the document whose ETag is `etag`; ConcurrentUpdateError when it is not
        stored with that ETag."""

    def remove_documents(self, tenant: str, scope: DocumentScope) -> int:
        """Delete every document in `scope`; how many."""

    def agent_documents(
        self,
        tenant: str,
        *,
        agents: Sequence[str] | None = None,
        updated_before: str | None = None,
    ) -> list[DocumentRef]:
        """The State and Agent Profile documents (the resources scoped by an agent) of
        these agent keys, or of any agent; only those last updated before `updated_before`
        (exclusive) when given. Served by an index on the agent, or on the time."""

    # -- tenants and the audit log -------------------------------------------------------

    def get_tenant(self, name: str) -> Tenant | None:
        """The tenant, or None."""

    def write_tenant(self, tenant: Tenant, *, replaces: int | None) -> None:
        """Create the tenant when `replaces` is None, else replace the one whose revision is
        `replaces`. Raises ConcurrentUpdateError when the stored state is not the one
        expected (a tenant of that name exists, or it changed)."""

    def last_audit_entry(self, tenant: str) -> AuditEntry | None:
        """The tenant's newest audit entry (highest `seq`), or None."""

    def append_audit(self, entry: AuditEntry) -> None:
        """Append one entry; ConcurrentUpdateError when its (tenant, seq) is taken."""

    # -- forwarding to a central LRS, the erasure list -----------------------------------

    def get_sync_state(self, tenant: str, target: str) -> SyncState | None:
        """The tenant's forwarding state towards `target`, or None."""

    def write_sync_state(self, state: SyncState, *, replaces: int | None) -> None:
        """Create the state when `replaces` is None, else replace the one whose revision is
        `replaces`; ConcurrentUpdateError when the stored state is not the one expected."""

    def last_erasure(self, tenant: str) -> Erasure | None:
        """The tenant's newest erasure list entry (highest `seq`), or None."""

    def erased_agents(self, tenant: str, agents: Sequence[str]) -> set[str]:
        """The agent keys among `agents` that the erasure list holds."""

    def append_erasure(self, entry: Erasure) -> None:
        """Append one entry; ConcurrentUpdateError when its seq, or its agent, is listed."""


@runtime_checkable
class Storage(Protocol):
    """Everything the service needs from a backend: writes through `atomically`, queries
    directly. Backends are context managers; `close` releases connections and files."""

    defers_shared_writes: bool
    needs_settling: bool

    @property
    def transactional(self) -> bool:
        """Whether `atomically` is one transaction (else: only the statements a failed
        write inserted are undone; see `storage.commands.erasure`)."""

    def atomically(self, work: Callable[[Transaction], T]) -> T:
        """Run `work` in one transaction and return its result; on any exception nothing
        it did remains. `work` may be run again after a transient conflict, so it must not
        have effects outside the transaction."""

    # -- statements ---------------------------------------------------------------------

    def get_statements(self, tenant: str, ids: Sequence[str]) -> dict[str, StoredStatement]:
        """The stored statements among `ids`, voided or not, keyed by id, with `pending`
        (what the ingest rules need of a re-sent statement)."""

    def query_statements(
        self, tenant: str, query: StatementFilter, limit: int
    ) -> list[StoredStatement]:
        """Up to `limit` matching statements ordered by (stored, id), newest first unless
        `query.ascending`. `pending` may be left False: readers do not need it."""

    def get_identities(self, tenant: str, agent: str) -> list[Identity]:
        """The identities stored for the pseudonym with agent key `agent`, by digest."""

    def erased_among(self, tenant: str, marks: Sequence[str]) -> set[str]:
        """Which of `marks` are stored as marks of erased learners (`mark_erased`)."""

    def read_feed(self, tenant: str, after: str, limit: int) -> FeedPage:
        """Up to `limit` of the tenant's statements, voided or not, that follow position
        `after` ("" = the beginning) in the feed (module docstring), and the position of
        the last one (`after` when there is none). `pending` may be left False."""

    def count_feed(self, tenant: str, after: str) -> int:
        """How many of the tenant's statements follow position `after` in the feed now."""

    # -- reports (computed by the database from the report facts) -----------------------
    # Each counts every statement stored before it: a backend that makes the facts after
    # ingest (SQLite, `storage.sqlite.reports`) makes those still waiting first.

    def report_progress(
        self, tenant: str, query: ReportFilter, *, after: str | None, limit: int
    ) -> tuple[int, list[ProgressRow]]:
        """The number of modules of `query.course` (whatever the other conditions), and up
        to `limit` learners of it in a stable order the backend chooses, those after the
        learner key `after` when given."""

    def report_modules(self, tenant: str, query: ReportFilter) -> list[ModuleRow]:
        """The modules of `query.course`, in the order their first fact was stored."""

    def report_indicators(self, tenant: str, query: IndicatorQuery) -> list[IndicatorCell]:
        """One cell per bucket and group with at least one fact, in no particular order."""

    def rebuild_report_facts(self, tenant: str, dimensions: Sequence[str]) -> int:
        """Drop the tenant's report facts and summaries and compute them again from its live
        statements, keeping the values of the `dimensions` extension IRIs (after its policy's
        dimensions change); how many statements count. Erasure and retention do not need
        it: they call `Transaction.delete_report_facts` for the statements they delete."""

    # -- attachments, activities, documents ----------------------------------------------

    def get_attachments(
        self, tenant: str, sha2s: Sequence[str], *, writer: str | None = None
    ) -> dict[str, tuple[str, bytes]]:
        """The stored data among `sha2s`, as `sha2 -> (content type, data)`; with `writer`,
        only the data that writer sent."""

    def get_activities(self, tenant: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The canonical definition of each known activity among `ids` (ids compare
        exactly); an empty dict for one known without a definition."""

    def get_document(self, tenant: str, scope: DocumentScope, doc_id: str) -> Document | None:
        """The document, or None."""

    def list_documents(
        self, tenant: str, scope: DocumentScope, since: str | None = None
    ) -> dict[str, str]:
        """Ids of the documents in `scope` updated after `since` (exclusive), each mapped to
        its latest `updated`, in id order."""

    # -- tenants and the audit log -------------------------------------------------------

    def get_tenant(self, name: str) -> Tenant | None:
        """The tenant, or None."""

    def list_tenants(self) -> list[Tenant]:
        """Every tenant, by name."""

    def read_audit(
        self,
        tenant: str,
        *,
        after: int = 0,
        since: str | None = None,
        action: str | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Up to `limit` of the tenant's audit entries with `seq` > `after`, oldest first;
        only those at or after `since` (stored timestamp format) and of `action` when
        given."""

    # -- dashboard sessions --------------------------------------------------------------

    def put_session(self, session: Session) -> None:
        """Store a new session."""

    def get_session(self, id_hash: str) -> Session | None:
        """The session, expired or not, or None."""

    def delete_session(self, id_hash: str) -> None:
        """End a session (logout); nothing when there is none."""

    def delete_expired_sessions(self, now: str) -> int:
        """Drop every session that ended before `now`; how many."""
    # -- forwarding to a central LRS, the erasure list -----------------------------------

    def get_sync_state(self, tenant: str, target: str) -> SyncState | None:
        """The tenant's forwarding state towards `target`, or None."""

    def list_sync_states(self, tenant: str | None = None) -> list[SyncState]:
        """Every forwarding state, or one tenant's, by tenant and target."""

    def read_erasures(self, tenant: str, *, after: int = 0, limit: int = 100) -> list[Erasure]:
        """Up to `limit` of the tenant's erasure list entries with `seq` > `after`, in
        order."""

    def erased_agents(self, tenant: str, agents: Sequence[str]) -> set[str]:
        """The agent keys among `agents` that the erasure list holds."""

    # -- credentials --------------------------------------------------------------------

    def put_credential(self, credential: Credential) -> None:
        """Create or replace the credential with this key."""

    def get_credential(self, key: str) -> Credential | None:
        """The credential with this key, revoked or not."""

    def list_credentials(self, tenant: str | None = None) -> list[Credential]:
        """Every credential, or those of one tenant, oldest first."""

    def purge_deleted(self) -> bool:
        """Make what was deleted unreadable from the store's own files as far as the backend
        can, after an erasure or a retention run; whether nothing deleted is left there.
        SQLite: deleted content is overwritten as it is deleted (`secure_delete`), and the
        write-ahead log, which still holds earlier page images, is checkpointed and
        truncated. MongoDB: False, its journal, oplog and backups keep deleted documents
        for a while (README, "MongoDB")."""

    # -- data-sharing agreements ---------------------------------------------------------

    def put_agreement(self, agreement: Agreement) -> None:
        """Create or replace the tenant's agreement with this id."""

    def get_agreement(self, tenant: str, agreement_id: str) -> Agreement | None:
        """The tenant's agreement with this id, revoked or not."""

    def list_agreements(self, tenant: str) -> list[Agreement]:
        """The tenant's agreements, oldest first."""

    def close(self) -> None:
        """Release connections and files."""

"""Erasing a learner: every record in which they stand, found by the indexes, deleted in one
transaction, or on a backend without transactions in steps a re-run finishes.

What goes (the rules; README "Erasure" says why):

- every statement in which one of the learner's agent keys stands in an agent position of
  its own (actor, object, a Group member, instructor, team, xAPI 2.0 context agents and
  groups, the same inside a SubStatement; not the `authority`, which is a credential),
  unless the caller's `edit` keeps it: the service keeps another learner's statement that
  names the learner only as a member of a Group, with the learner taken out of the Group;
- every statement whose StatementRef chain reaches a deleted one (the statements voiding or
  referring to them, directly or through others): what they say is about a statement that
  no longer exists. Deletion wins over an edit;
- the attachment data of the deleted statements that no remaining statement refers to;
- the learner's State and Agent Profile documents, and their identity-vault entries;
- `marks` (given when the tenant refuses statements of erased learners): stored, so that
  ingest can refuse them;
- and the tenant's revision grows, in the same step: every worker holding something of the
  tenant's learners in memory (the vault entries it knows are stored) drops it at its next
  request, which reads the tenant by revision.

The order of the steps is what makes an erasure without a transaction resumable: the marks
first (a re-send is refused from then on), attachment data (its references go with the
statements), edits, then the referring statements (found through the copies of the
learner's query fields they hold, which deleting the learner's own statements would
remove), then the learner's own statements, documents, vault entries, and the revision
last. Whatever an interruption leaves is found again by the
same indexes, so running the erasure again finishes it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from statements import agent_key, agent_position_tuples, attachment_hashes
from storage.commands.retry import retrying
from storage.protocol import Storage, Transaction
from storage.records import (
    AGENT_PROFILE,
    STATE,
    DocumentRef,
    StatementRecord,
    StoredStatement,
    Tenant,
)

# A stored statement in which the learner stands, parsed: the record to keep instead (the
# learner taken out), or None to delete it.
Edit = Callable[[StoredStatement, dict[str, Any]], StatementRecord | None]


@dataclass(frozen=True, slots=True)
class ErasureCounts:
    """How many records of each kind an erasure deleted (or, dry, would delete)."""

    statements: int = 0
    referring_statements: int = 0
    edited_statements: int = 0
    state_documents: int = 0
    agent_profile_documents: int = 0
    attachments: int = 0
    identities: int = 0

    def to_json(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class Erasure:
    """The outcome: the counts, the ids of the deleted statements (sorted), whether it was
    one transaction, and whether the store's files no longer hold the deleted bytes
    (`Storage.purge_deleted`; False for a dry run)."""

    counts: ErasureCounts
    deleted: tuple[str, ...]
    atomic: bool
    purged: bool


@dataclass(frozen=True, slots=True)
class _Plan:
    own: list[str]
    referring: list[str]
    edits: list[StatementRecord]
    attachments: list[str]
    documents: list[DocumentRef]
    identities: int

    def counts(self) -> ErasureCounts:
        return ErasureCounts(
            statements=len(self.own),
            referring_statements=len(self.referring),
            edited_statements=len(self.edits),
            state_documents=sum(d.scope.resource == STATE for d in self.documents),
            agent_profile_documents=sum(d.scope.resource == AGENT_PROFILE for d in self.documents),
            attachments=len(self.attachments),
            identities=self.identities,
        )


def stands_in(statement: dict[str, Any], agents: Collection[str]) -> bool:
    """Whether one of the agent keys `agents` fills an agent position of the statement
    itself (Group members and SubStatements included; not the authority)."""
    return any(
        agent_key(node) in agents
        for _, node, *_ in agent_position_tuples(statement, authority=False)
    )


def erase_agent(
    store: Storage,
    tenant: str,
    agents: Sequence[str],
    *,
    now: str,
    edit: Edit | None = None,
    marks: Sequence[str] = (),
    dry_run: bool = False,
) -> Erasure:
    """Erase every record of the learner known by the agent keys `agents` (every key they
    were stored under: pseudonyms, raw identifiers) from `tenant` (module docstring);
    `now` (stored format) dates a tenant row made to carry the revision; `marks` are stored
    (`Transaction.mark_erased`). `dry_run` counts and changes nothing."""
    if dry_run:
        plan = store.atomically(lambda tx: _plan(tx, tenant, agents, edit))
        return Erasure(plan.counts(), _deleted(plan), store.transactional, purged=False)

    def erase(tx: Transaction) -> tuple[ErasureCounts, tuple[str, ...]]:
        plan = _plan(tx, tenant, agents, edit)
        return _execute(tx, tenant, agents, plan, now, marks), _deleted(plan)

    # A document changed between its listing and its deletion (backends whose writers are
    # not serialized): planned again.
    counts, deleted = retrying(store, erase, "erase a learner")
    return Erasure(counts, deleted, store.transactional, store.purge_deleted())


def _plan(tx: Transaction, tenant: str, agents: Sequence[str], edit: Edit | None) -> _Plan:
    wanted = frozenset(agents)
    found = tx.get_statements(tenant, tx.agent_statement_ids(tenant, agents))
    own: list[str] = []
    edits: list[StatementRecord] = []
    for row in found.values():
        statement = orjson.loads(row.statement)
        if not stands_in(statement, wanted):
            continue  # found through its chain: judged by what it reaches, below
        record = None if edit is None else edit(row, statement)
        if record is None:
            own.append(row.id)
        else:
            edits.append(record)
    reached = tx.reference_sources(tenant, own)
    sources = {source for found_sources in reached.values() for source in found_sources}
    missing = [source for source in sources if source not in found]
    rows = {**found, **tx.get_statements(tenant, missing)}
    referring = sorted((sources & rows.keys()) - set(own))
    edits = [record for record in edits if record.id not in sources]
    deleted = [*own, *referring]
    hashes = sorted({sha2 for i in deleted for sha2 in stored_attachment_hashes(rows[i])})
    return _Plan(
        own=sorted(own),
        referring=referring,
        edits=edits,
        attachments=tx.unreferenced_attachments(tenant, hashes, excluding=deleted),
        documents=tx.agent_documents(tenant, agents=list(agents)),
        identities=sum(len(tx.get_identities(tenant, agent)) for agent in agents),
    )


def _execute(
    tx: Transaction, tenant: str, agents: Sequence[str], plan: _Plan, now: str,
    marks: Sequence[str],
) -> ErasureCounts:
    """The plan's deletions in the resumable order (module docstring); the counts of what
    each primitive found to delete."""
    tx.mark_erased(tenant, marks)
    attachments = tx.remove_attachments(tenant, plan.attachments)
    tx.replace_statements(tenant, plan.edits)
    tx.delete_report_facts(tenant, [*plan.referring, *plan.own])  # before their rows go
    referring = tx.delete_statements(tenant, plan.referring)
    own = tx.delete_statements(tenant, plan.own)
    for document in plan.documents:
        tx.remove_document(tenant, document.scope, document.id, etag=document.etag)
    identities = tx.remove_identities(tenant, list(agents))
    next_revision(tx, tenant, now)
    return dataclasses.replace(
        plan.counts(), statements=own, referring_statements=referring,
        attachments=attachments, identities=identities,
    )


def next_revision(tx: Transaction, tenant: str, now: str) -> None:
    """Grow the tenant's revision without changing its policy (a tenant without a row gets
    one that follows the configuration), so every worker reads it as changed."""
    current = tx.get_tenant(tenant)
    if current is None:
        tx.write_tenant(Tenant(tenant, tenant, {}, now, now, revision=1), replaces=None)
    else:
        tx.write_tenant(
            dataclasses.replace(current, revision=current.revision + 1),
            replaces=current.revision,
        )


def _deleted(plan: _Plan) -> tuple[str, ...]:
    return tuple(sorted([*plan.own, *plan.referring]))


def stored_attachment_hashes(row: StoredStatement) -> list[str]:
    """The sha2 of each attachment of a stored statement."""
    if b'"attachments"' not in row.statement:
        return []
    return attachment_hashes(orjson.loads(row.statement))

"""Retention: deleting the statements stored before a cut-off, with what only they needed.

- statements whose `stored` is before the cut-off, voided or not, oldest first, in batches
  (each batch one write, so writers wait for one batch at most, never for the whole run);
- the attachment data of those statements that no remaining statement refers to;
- orphaned documents: State and Agent Profile documents last updated before the cut-off
  whose agent no statement stored since the cut-off names (a learner still active keeps
  their bookmarks; one whose every statement expired loses them too). Activity Profile
  documents describe content, not learners, and are kept.

Statements stored since the cut-off that refer to a deleted one stay (they are within the
period); they lose only the copies of its query fields (`Transaction.delete_statements`).
Each batch deletes attachment data before the statements referring to it, so on a backend
without transactions an interrupted run leaves nothing the next run cannot find.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.commands.erasure import stored_attachment_hashes
from storage.commands.retry import retrying
from storage.protocol import Storage, Transaction
from storage.records import DocumentRef

BATCH = 1000


@dataclass(frozen=True, slots=True)
class Retention:
    """What a retention run deleted (or, dry, would delete) from one tenant, and whether
    the store's files no longer hold the deleted bytes (False for a dry run)."""

    statements: int
    attachments: int
    documents: int
    purged: bool


def delete_before(
    store: Storage, tenant: str, before: str, *, dry_run: bool = False, batch: int = BATCH
) -> Retention:
    """Delete `tenant`'s records stored before `before` (stored format; module docstring);
    `dry_run` counts them and changes nothing."""
    if dry_run:
        statements, attachments = store.atomically(lambda tx: _count(tx, tenant, before, batch))
        documents = len(store.atomically(lambda tx: _orphans(tx, tenant, before)))
        return Retention(statements, attachments, documents, purged=False)
    statements = attachments = 0
    while True:
        done = store.atomically(lambda tx: _delete_batch(tx, tenant, before, batch))
        if done is None:
            break
        statements += done[0]
        attachments += done[1]

    def orphans(tx: Transaction) -> int:
        found = _orphans(tx, tenant, before)
        for document in found:
            tx.remove_document(tenant, document.scope, document.id, etag=document.etag)
        return len(found)

    documents = retrying(store, orphans, "delete orphaned documents")
    return Retention(statements, attachments, documents, store.purge_deleted())


def _delete_batch(
    tx: Transaction, tenant: str, before: str, batch: int
) -> tuple[int, int] | None:
    rows = tx.statements_before(tenant, before, batch)
    if not rows:
        return None
    ids = [row.id for row in rows]
    hashes = sorted({sha2 for row in rows for sha2 in stored_attachment_hashes(row)})
    attachments = tx.remove_attachments(
        tenant, tx.unreferenced_attachments(tenant, hashes, excluding=ids)
    )
    tx.delete_report_facts(tenant, ids)  # before their rows go: found through them
    return tx.delete_statements(tenant, ids), attachments


def _count(tx: Transaction, tenant: str, before: str, batch: int) -> tuple[int, int]:
    ids: list[str] = []
    hashes: set[str] = set()
    after = None
    while rows := tx.statements_before(tenant, before, batch, after=after):
        ids += [row.id for row in rows]
        hashes.update(sha2 for row in rows for sha2 in stored_attachment_hashes(row))
        after = (rows[-1].stored, rows[-1].id)
    return len(ids), len(tx.unreferenced_attachments(tenant, sorted(hashes), excluding=ids))


def _orphans(tx: Transaction, tenant: str, before: str) -> list[DocumentRef]:
    """Agent-scoped documents not updated since `before` whose agent stands in no statement
    stored since then (referring to one of theirs is not their activity)."""
    found = tx.agent_documents(tenant, updated_before=before)
    active = {
        agent
        for agent in {document.scope.agent for document in found}
        if tx.agent_statement_ids(tenant, [agent], since=before, limit=1, chains=False)
    }
    return [document for document in found if document.scope.agent not in active]

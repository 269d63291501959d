"""Storing a batch of statement records: all or nothing, with the voiding rule (Data 2.3.2)
and the StatementRef filter rule (Communication 2.1.3, "Filter Conditions for
StatementRefs") applied in the same transaction.

The checks a client hears about (repeated ids, conflicting re-sends, voiding a voiding
statement) belong to the service core (`lrs.service`), which runs them before building the
records; what is here only keeps the store's query fields and voided flags right.
"""

from __future__ import annotations

from collections.abc import Sequence

from storage.commands.activities import merge_activities, put_activities
from storage.commands.retry import retrying
from storage.protocol import Storage, Transaction
from storage.records import ActivityDefinitions, StatementRecord


def insert_statements(
    store: Storage,
    tenant: str,
    records: Sequence[StatementRecord],
    activities: ActivityDefinitions | None = None,
) -> None:
    """Store all records or none, with their identities, and record or merge `activities`.

    Raises DuplicateIdError if any id is already stored (or repeated in `records`), and then
    stores nothing. On a backend that `defers_shared_writes`, identities and activities are
    written right after the statements commit (`finish_statements`); until then the
    statements are `pending`, so that a re-send can finish a batch whose second step failed.
    """
    if not records:
        return
    deferred = store.defers_shared_writes
    identities = [identity for record in records for identity in record.identities]

    def batch(tx: Transaction) -> None:
        tx.insert_statements(tenant, records, pending=deferred)
        link_references(tx, tenant, records)
        apply_voiding(tx, tenant, records)
        if not deferred:
            if identities:
                tx.put_identities(tenant, identities)
            if activities:
                merge_activities(tx, tenant, activities)

    store.atomically(batch)
    if deferred:
        finish_statements(store, tenant, records, activities)
    elif store.needs_settling:
        _settle(store, tenant, records)


def finish_statements(
    store: Storage,
    tenant: str,
    records: Sequence[StatementRecord],
    activities: ActivityDefinitions | None = None,
) -> None:
    """The deferred step of `insert_statements` (identities, activities, settling), then the
    records are no longer pending. Every part is idempotent, so the service runs it again
    for re-sent statements found pending: a re-send repairs what a failure left undone."""
    identities = [identity for record in records for identity in record.identities]
    if identities:
        # Two batches naming a new identity at once: the loser finds it on its retry.
        retrying(store, lambda tx: tx.put_identities(tenant, identities), "store identities")
    if activities:
        put_activities(store, tenant, activities)
    ids = [record.id for record in records]

    def finish(tx: Transaction) -> None:
        # One write for both: a commit fewer per batch, and a failed settling leaves the
        # batch pending like any other failed part.
        if store.needs_settling:
            _settle_in(tx, tenant, records)
        tx.clear_pending(tenant, ids)

    store.atomically(finish)


def _settle(store: Storage, tenant: str, records: Sequence[StatementRecord]) -> None:
    store.atomically(lambda tx: _settle_in(tx, tenant, records))


def _settle_in(tx: Transaction, tenant: str, records: Sequence[StatementRecord]) -> None:
    """Apply links and voiding once more after the commit: two writers storing a target and
    a statement referring to (or voiding) it at the same moment each miss the other inside
    their own transaction; run after the commit, one of the two is sure to see the other."""
    link_references(tx, tenant, records)
    apply_voiding(tx, tenant, records)


def apply_voiding(tx: Transaction, tenant: str, records: Sequence[StatementRecord]) -> None:
    """Data 2.3.2: a statement is voided iff it is not itself a voiding statement and a
    stored voiding statement refers to it, whichever of the two arrived first; its report
    facts go with it."""
    targets = {record.voids for record in records if record.voids is not None}
    targets |= tx.voided_targets(tenant, [r.id for r in records if r.voids is None])
    if not targets:
        return
    found = tx.get_statements(tenant, sorted(targets))
    voided = [i for i, stored in found.items() if stored.voids is None and not stored.voided]
    if voided:
        tx.set_voided(tenant, voided)
        # A voided statement stops counting in reports (the voiding statement itself never
        # counts: its object is a StatementRef).
        tx.delete_report_facts(tenant, voided)


def link_references(tx: Transaction, tenant: str, records: Sequence[StatementRecord]) -> None:
    """Extend the StatementRef chains through the new records: a statement matches a filter
    when it, or a statement its object refers to (recursively), meets all non-time filters.

    A record needs work if its object is a StatementRef, or if stored statements already
    refer to it (they reach its query fields only now). Every statement reaching the record
    is linked to it and to everything the record reaches. In-batch chains are complete once
    each record has been processed, whatever their order: each record's links are recorded
    before the next record looks for the statements reaching it.
    """
    referred = tx.reference_sources(tenant, [record.id for record in records])
    for record in records:
        if record.ref is None and record.id not in referred:
            continue
        ancestors = tx.reference_sources(tenant, [record.id]).get(record.id, [])
        chain: list[str] = []
        if record.ref is not None:
            reached = tx.reference_targets(tenant, [record.ref]).get(record.ref, [])
            chain = [record.ref, *reached]
        pairs = [(ancestor, record.id) for ancestor in ancestors]
        pairs += [
            (source, target)
            for source in (record.id, *ancestors)
            for target in chain
            if source != target
        ]
        if pairs:
            tx.add_references(tenant, list(dict.fromkeys(pairs)))

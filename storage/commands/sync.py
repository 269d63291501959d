"""The rules of forwarding state and the erasure list, over the backends' primitives.

Forwarding state changes by compare-and-set, so two forwarders of one edge (a `push` while
the `run` loop works) never undo each other's progress; the erasure list is append-only,
each agent listed once, numbered in the order listed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from storage.commands.retry import retrying
from storage.protocol import Storage, Transaction
from storage.records import Erasure, SyncState


def update_sync_state(
    store: Storage, tenant: str, target: str, change: Callable[[SyncState], SyncState]
) -> SyncState:
    """Apply `change` to the tenant's forwarding state towards `target` (a fresh one when
    there is none) and store the result; `change` is called again on the newer state when
    another writer changed it meanwhile, so it must be a function of its argument only."""

    def update(tx: Transaction) -> SyncState:
        current = tx.get_sync_state(tenant, target)
        base = current or SyncState(tenant, target)
        changed = dataclasses.replace(
            change(base), tenant=tenant, target=target, revision=base.revision + 1
        )
        tx.write_sync_state(changed, replaces=None if current is None else current.revision)
        return changed

    return retrying(store, update, "store the forwarding state")


def record_erasure(store: Storage, tenant: str, agent: str, time: str) -> bool:
    """List `agent` (the agent key of an erased pseudonym) in the tenant's erasure list,
    after its newest entry; False when it is listed already (nothing changes)."""

    def append(tx: Transaction) -> bool:
        if tx.erased_agents(tenant, [agent]):
            return False
        last = tx.last_erasure(tenant)
        tx.append_erasure(Erasure(tenant, 1 if last is None else last.seq + 1, agent, time))
        return True

    return retrying(store, append, "append to the erasure list")

"""Creating and changing tenants: a name is taken once, and every change is a
compare-and-set on the revision, so concurrent changes never overwrite each other."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from storage.commands.retry import retrying
from storage.errors import ConcurrentUpdateError, ConflictError, StorageError
from storage.protocol import Storage, Transaction
from storage.records import Tenant


def create_tenant(store: Storage, tenant: Tenant) -> Tenant:
    """Store a new tenant; ConflictError when the name is taken."""
    created = dataclasses.replace(tenant, revision=1)
    try:
        store.atomically(lambda tx: tx.write_tenant(created, replaces=None))
    except ConcurrentUpdateError:
        raise ConflictError(f"a tenant named {tenant.name} exists") from None
    return created


def update_tenant(store: Storage, name: str, change: Callable[[Tenant], Tenant]) -> Tenant:
    """Apply `change` to the current tenant and store the result with the next revision;
    `change` may run more than once (it must only compute). StorageError when there is no
    such tenant."""

    def write(tx: Transaction) -> Tenant:
        current = tx.get_tenant(name)
        if current is None:
            raise StorageError(f"no tenant named {name}")
        changed = dataclasses.replace(change(current), name=name, revision=current.revision + 1)
        tx.write_tenant(changed, replaces=current.revision)
        return changed

    return retrying(store, write, "change a tenant")

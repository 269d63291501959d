"""The audit log of access to personal data and of changes to who may access it.

Recorded per request, never per statement: reads of statement rows (`statements.read`),
re-identification (`statements.reidentify`, `agents.reidentify`: originals returned from the
vault), document reads (`documents.read`), Person lookups (`agents.read`), reading the audit
log itself (`audit.read`), tenant and credential changes (`tenant.create`,
`tenant.update`, `credential.create`, `credential.revoke`), erasures (`erasure`: the receipt
without the learner, `lrs.service.erasure`), retention runs (`retention`, one entry per
tenant) and report requests (`reports.progress`, `reports.modules`, `reports.indicators`,
`reports.rebuild`: `lrs.service.reports`); exports add theirs. Writes of statements are
not audited one by one: each statement carries its writer's `authority`.

An entry holds the time, tenant, credential key, action, resource, the filters used (agents
as their pseudonyms; an agent of a tenant that does not pseudonymize is recorded as
`"(not pseudonymized)"` so no raw identifier is ever written), how many records were
returned or changed, and the request id. Never a secret or a document body. The chain of
hashes that makes the log tamper-evident is `storage.commands.audit`'s; its key is derived
from the master key for each tenant (HKDF, purpose `audit`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from anonymize import Keyring, Purpose
from lrs.service.principal import Principal
from statements import stored_timestamp
from storage import AuditEntry, Storage
from storage.commands import AuditKey, BrokenLink, append_audit, verify_audit

UNPSEUDONYMIZED = "(not pseudonymized)"


class Auditor:
    """Appends to and reads the audit log of one store."""

    def __init__(self, store: Storage, keyring: Keyring | None) -> None:
        self.store = store
        self._keyring = keyring

    def keys(self, tenant: str) -> tuple[AuditKey, ...]:
        """The tenant's chain keys, current first (retired ones verify older entries)."""
        if self._keyring is None:
            return ()
        return tuple(
            AuditKey(derived.key, derived.key_id)
            for derived in self._keyring.derive_all(tenant, Purpose.AUDIT)
        )

    def record(
        self,
        principal: Principal,
        action: str,
        resource: str,
        *,
        filters: Mapping[str, Any] | None = None,
        count: int = 0,
        tenant: str | None = None,
    ) -> AuditEntry:
        """Append one entry for `principal`'s tenant (or `tenant`, for changes a platform
        operator makes to another tenant)."""
        target = tenant or principal.tenant
        return append_audit(
            self.store,
            tenant=target,
            time=stored_timestamp(datetime.now(UTC)),
            credential=principal.key,
            action=action,
            resource=resource,
            filters=dict(filters or {}),
            count=count,
            request_id=principal.request_id,
            keys=self.keys(target)[:1],
        )

    def read(
        self,
        tenant: str,
        *,
        after: int = 0,
        since: str | None = None,
        action: str | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        return self.store.read_audit(tenant, after=after, since=since, action=action, limit=limit)

    def verify(self, tenant: str) -> tuple[int, BrokenLink | None]:
        """How many entries were checked and the first broken link of the tenant's chain."""
        return verify_audit(self.store, tenant, self.keys(tenant))


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    """An entry as the admin API and `lrs audit --json` print it."""
    return {
        "tenant": entry.tenant,
        "seq": entry.seq,
        "time": entry.time,
        "credential": entry.credential,
        "action": entry.action,
        "resource": entry.resource,
        "filters": dict(entry.filters),
        "count": entry.count,
        "request_id": entry.request_id,
        "previous": entry.previous,
        "hash": entry.hash,
    }

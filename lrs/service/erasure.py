"""Erasure on request and retention by period, with receipts: the privacy policy's promise
that a learner's account and data can be deleted, and kept no longer than the tenant's
period.

Erasure (`ErasureService.erase`, scope `erase`, in the caller's tenant): the learner is
named by an Agent, with raw identifiers or as their pseudonym; every key their records may
be stored under is found (`Privacy.erasure_keys`) and `storage.commands.erase_agent` deletes
what holds them, keeping another learner's statement that names them only in a Group, with
them taken out (`Privacy.withdraw`). The answer is a receipt; the audit log gets the
receipt without the learner: no identifier, not even the pseudonym, so the log never
becomes a list of erased learners. A dry run answers the same receipt and deletes nothing.
A tenant whose policy refuses erased learners (`refuse_erased`) gets a keyed mark of each of
the learner's keys stored with the erasure (`Privacy.erased_marks`); the statement service
refuses a batch naming one (403).

Edges (`lrs.service.forwarding`): in a tenant with a `sync` credential (edge LRSs forward to
it), the erased pseudonym is appended to the tenant's erasure list
(`storage.commands.record_erasure`), which edges pull so that they stop forwarding the
learner and erase them too (`ErasureService.erase_listed`, the edge's local erasure). That
list is the one place the store keeps an erased pseudonym, and only where edges need it.

Retention (`ErasureService.retention`, the platform operator): for each tenant with a
`retention_days` period, `storage.commands.delete_before` deletes what was stored before
the cut-off; one audit entry per tenant and run.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from lrs.service.audit import Auditor
from lrs.service.errors import NotFoundError, invalid
from lrs.service.principal import ERASE_SCOPES, PLATFORM_SCOPES, SYNC, Principal
from lrs.service.privacy import Privacy
from lrs.service.tenants import Tenants
from statements import StatementError, agent_key, stored_timestamp, validate_agent
from storage import DEFAULT_TENANT, Storage
from storage.commands import delete_before, erase_agent, record_erasure


class ErasureService:
    """Erasure and retention over one store, each audited."""

    def __init__(
        self,
        store: Storage,
        privacy: Privacy,
        tenants: Tenants,
        audit: Auditor,
        *,
        authority_home_page: str,
    ) -> None:
        self.store = store
        self.privacy = privacy
        self.tenants = tenants
        self.audit = audit
        self.authority_home_page = authority_home_page

    def erase(self, principal: Principal, agent: Any, *, dry_run: bool = False) -> dict[str, Any]:
        """Erase the learner `agent` (parsed JSON) from the principal's tenant; the receipt
        (README "Erasure"). InvalidRequestError or StatementError naming the field for a
        bad agent, before anything is read."""
        principal.require(ERASE_SCOPES)
        learner = self._learner(agent)
        tenant = principal.tenant
        view = self.tenants.get(tenant)
        stored, keys = self.privacy.erasure_keys(view, learner, self.store)
        wanted = frozenset(keys)
        marks = self.privacy.erased_marks(view, keys) if view.policy.refuse_erased else []
        result = erase_agent(
            self.store,
            tenant,
            keys,
            now=stored_timestamp(datetime.now(UTC)),
            edit=lambda row, statement: self.privacy.withdraw(tenant, row, statement, wanted),
            marks=marks,
            dry_run=dry_run,
        )
        counts = result.counts
        listed = self._has_edges(tenant) and self.privacy.pseudonymizes(view)
        if listed and not dry_run:
            key = agent_key(dict(stored))
            assert key is not None
            record_erasure(self.store, tenant, key, stored_timestamp(datetime.now(UTC)))
        digest = hashlib.sha256("\n".join(result.deleted).encode()).hexdigest()
        # Everything but the learner: this is what the audit log keeps.
        anonymous = {
            "dry_run": dry_run,
            "atomic": result.atomic,
            "purged": result.purged,
            "listed_for_edges": listed,
            "counts": counts.to_json(),
            "statements_digest": f"sha256:{digest}",
        }
        entry = self.audit.record(
            principal, "erasure", "learner", filters=anonymous,
            count=counts.statements + counts.referring_statements,
        )
        return {
            "request_id": principal.request_id,
            "time": entry.time,
            "tenant": tenant,
            "agent": dict(stored),
            **anonymous,
            "audit_seq": entry.seq,
        }

    def erase_listed(self, tenant: str, key: str) -> dict[str, Any]:
        """At an edge: erase here the pseudonym of agent key `key` that the central LRS's
        erasure list names (`Forwarder.erase_local`), as the operator; the receipt."""
        home_page, _, name = key.removeprefix("account:").partition("|")
        agent = {"objectType": "Agent", "account": {"homePage": home_page, "name": name}}
        principal = Principal(
            key="sync", tenant=tenant, scopes=frozenset(ERASE_SCOPES), authority={},
            request_id="sync-" + uuid.uuid4().hex,
        )
        return self.erase(principal, agent)

    def _has_edges(self, tenant: str) -> bool:
        """Whether edge LRSs may forward to this tenant: it has a `sync` credential."""
        return any(
            SYNC in credential.scopes and not credential.revoked
            for credential in self.store.list_credentials(tenant)
        )

    def _learner(self, agent: Any) -> dict[str, Any]:
        """A learner's Agent: valid, not a Group, not a credential's authority."""
        if agent is None:
            raise invalid("agent is required", field="agent")
        learner = validate_agent(agent, path="agent")
        if learner.get("objectType", "Agent") != "Agent":
            raise StatementError({"agent.objectType": ["must be Agent: erasure is of a learner"]})
        account = learner.get("account")
        if isinstance(account, Mapping) and account.get("homePage") == self.authority_home_page:
            raise invalid(
                "agent names a credential (the authority of the statements it wrote), not a "
                "learner",
                field="agent",
            )
        return learner

    def retention(
        self,
        principal: Principal,
        tenant: str | None = None,
        *,
        dry_run: bool = False,
        now: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Apply each tenant's retention period (or `tenant`'s only): one report per tenant,
        by name; a tenant without a period is reported with `retention_days` null and left
        alone. NotFoundError for an unknown `tenant`."""
        principal.require(PLATFORM_SCOPES)
        if tenant is not None and not self.tenants.exists(tenant):
            raise NotFoundError(f"no tenant named {tenant}")
        names = [tenant] if tenant is not None else sorted(
            {view.name for view in self.tenants.list()} | {DEFAULT_TENANT}
        )
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        reports = []
        for name in names:
            days = self.tenants.get(name).policy.retention_days
            if days is None:
                reports.append({"tenant": name, "retention_days": None})
                continue
            cutoff = stored_timestamp(moment - timedelta(days=days))
            result = delete_before(self.store, name, cutoff, dry_run=dry_run)
            report: dict[str, Any] = {
                "retention_days": days,
                "cutoff": cutoff,
                "dry_run": dry_run,
                "purged": result.purged,
                "counts": {
                    "statements": result.statements,
                    "attachments": result.attachments,
                    "documents": result.documents,
                },
            }
            self.audit.record(
                principal, "retention", "statements", filters=report,
                count=result.statements, tenant=name,
            )
            reports.append({"tenant": name, **report})
        return reports

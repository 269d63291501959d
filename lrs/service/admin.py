"""Administration: tenants and their policies, the audit log, with who may do what.

`platform` (the operator of the whole LRS) creates and lists tenants and may act on any of
them; `admin` reads and changes its own tenant's policy and reads its audit log. Every
change is audited in the tenant's log (`tenant.create`, `tenant.update`), and so is reading
the audit log (`audit.read`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lrs.service.audit import Auditor
from lrs.service.errors import ForbiddenError, NotFoundError
from lrs.service.principal import ADMIN_SCOPES, PLATFORM, PLATFORM_SCOPES, Principal
from lrs.service.tenants import Tenants, TenantView
from storage import AuditEntry
from storage.commands import BrokenLink


def _own_or_platform(principal: Principal, name: str) -> None:
    principal.require(ADMIN_SCOPES)
    if name != principal.tenant and PLATFORM not in principal.scopes:
        raise ForbiddenError("an admin credential manages its own tenant only")


class Administration:
    """Tenant and audit operations, each checking the principal's scopes."""

    def __init__(self, tenants: Tenants, audit: Auditor) -> None:
        self.tenants = tenants
        self.audit = audit

    def list_tenants(self, principal: Principal) -> list[TenantView]:
        """Every tenant for `platform`; the principal's own for `admin`."""
        principal.require(ADMIN_SCOPES)
        if PLATFORM in principal.scopes:
            return self.tenants.list()
        return [self.tenants.get(principal.tenant)]

    def get_tenant(self, principal: Principal, name: str) -> TenantView:
        _own_or_platform(principal, name)
        if not self.tenants.exists(name):
            raise NotFoundError(f"no tenant named {name}")
        return self.tenants.get(name)

    def create_tenant(
        self,
        principal: Principal,
        name: str,
        *,
        display_name: str = "",
        policy: Mapping[str, Any] | None = None,
    ) -> TenantView:
        principal.require(PLATFORM_SCOPES)
        view = self.tenants.create(name, display_name, policy)
        self.audit.record(
            principal, "tenant.create", "tenants",
            filters={"name": name, "policy": view.policy.to_json()}, count=1, tenant=name,
        )
        return view

    def update_tenant(
        self,
        principal: Principal,
        name: str,
        *,
        display_name: str | None = None,
        policy: Mapping[str, Any] | None = None,
    ) -> TenantView:
        _own_or_platform(principal, name)
        view = self.tenants.update(name, display_name=display_name, overrides=policy)
        changed: dict[str, Any] = {"name": name, "policy": dict(policy or {})}
        if display_name is not None:
            changed["display_name"] = display_name
        self.audit.record(
            principal, "tenant.update", "tenants", filters=changed, count=1, tenant=name
        )
        return view

    def read_audit(
        self,
        principal: Principal,
        tenant: str,
        *,
        after: int = 0,
        since: str | None = None,
        action: str | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        _own_or_platform(principal, tenant)
        entries = self.audit.read(tenant, after=after, since=since, action=action, limit=limit)
        filters = {k: v for k, v in (("after", after), ("since", since), ("action", action)) if v}
        self.audit.record(
            principal, "audit.read", "audit", filters=filters, count=len(entries), tenant=tenant
        )
        return entries

    def verify_audit(self, principal: Principal, tenant: str) -> tuple[int, BrokenLink | None]:
        _own_or_platform(principal, tenant)
        checked, broken = self.audit.verify(tenant)
        self.audit.record(principal, "audit.verify", "audit", count=checked, tenant=tenant)
        return checked, broken

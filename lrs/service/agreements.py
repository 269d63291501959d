"""Data-sharing agreements: the unit of sharing with a partner (a government, an implementing
partner). Data leaves the LRS only under one, and only what it says.

An agreement names the partner, the purpose (shown on the transparency page), the statement
fields the partner receives (the catalogue of `anonymize.minimize`), the tenant's dimensions
it receives, the window of statements (by `stored`, as xAPI's `since`/`until`: exclusive,
inclusive; either may be open), when exports are allowed (`starts` to `expires`), and
whether learner ids are included (re-keyed for this agreement alone, `anonymize.rekey`).
`admin` makes and revokes them in its own tenant, `platform` in any; both are audited
(`agreement.create`, `agreement.revoke`). An agreement never changes but for its revocation:
a change of terms is a new agreement (with new learner ids), so what a partner received is
always what one agreement said.

Each dimension's field (`context.extensions.<IRI>`) is added to the agreement's `fields`
(after the others, in the dimensions' order), so `fields` is exactly what an export holds;
a `context.extensions.<IRI>` field that is not one of the agreement's dimensions is refused,
because only dimensions are guarded by the quasi-identifier rule. The dimensions' IRIs are
kept as they were when the agreement was made.

Status, from the clock: `pending` before `starts`, `active` until `expires`, then `expired`;
`revoked` once revoked. Only an active agreement exports (`lrs.service.exports`), binds a new
export credential (`lrs.service.credentials`) and is shown on the transparency page.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from anonymize import EXTENSION_PREFIX, LEARNER_FIELDS, STATEMENT_FIELDS, Keyring
from lrs.service.audit import Auditor
from lrs.service.errors import ForbiddenError, InvalidRequestError, NotFoundError
from lrs.service.principal import ADMIN_SCOPES, PLATFORM, Principal
from lrs.service.tenants import Tenants
from statements import parse_timestamp, stored_timestamp
from storage import Agreement, Storage

BODY_FIELDS = (
    "partner", "purpose", "fields", "dimensions", "since", "until", "starts", "expires",
    "learner_ids",
)
REQUIRED = ("partner", "purpose", "fields", "starts", "expires")
MAX_PARTNER = 200
MAX_PURPOSE = 2000
MAX_FIELDS = 64
PENDING, ACTIVE, EXPIRED, REVOKED = "pending", "active", "expired", "revoked"


def _problem(name: str, rule: str) -> InvalidRequestError:
    return InvalidRequestError(f"{name} {rule}", code="invalid_agreement", fields={name: [rule]})


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AgreementService:
    """Making, reading and revoking a tenant's agreements, checked and audited. `clock`
    tells the time every status is judged by (tests move it)."""

    def __init__(
        self,
        store: Storage,
        tenants: Tenants,
        audit: Auditor,
        keyring: Keyring | None,
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.store = store
        self.tenants = tenants
        self.audit = audit
        self.keyring = keyring
        self.clock = clock

    def now(self) -> str:
        """The clock's time in the `stored` format, which orders as text."""
        return stored_timestamp(self.clock())

    def _tenant(self, principal: Principal, tenant: str | None) -> str:
        principal.require(ADMIN_SCOPES)
        name = tenant or principal.tenant
        if (name != principal.tenant and PLATFORM not in principal.scopes) or not (
            self.tenants.exists(name)
        ):
            raise NotFoundError(f"no tenant named {name}")  # another tenant's is none of ours
        return name

    def create(
        self, principal: Principal, spec: Mapping[str, Any], *, tenant: str | None = None
    ) -> Agreement:
        """A new agreement of `tenant` (default: the principal's) from its JSON terms
        (`BODY_FIELDS`); InvalidRequestError naming the field and the rule, and nothing
        stored, for any term that breaks one."""
        target = self._tenant(principal, tenant)
        if self.keyring is None:
            raise InvalidRequestError(
                "agreements need a master key (lrs keys init, or LRS_MASTER_KEY): the ids "
                "and cursors of an export are keyed per agreement",
                code="master_key_required",
            )
        agreement = self._parse(spec, target)
        self.store.put_agreement(agreement)
        self.audit.record(
            principal, "agreement.create", "agreements",
            filters={
                "id": agreement.id, "partner": agreement.partner,
                "fields": list(agreement.fields),
                "dimensions": [name for name, _ in agreement.dimensions],
                "since": agreement.since, "until": agreement.until,
                "starts": agreement.starts, "expires": agreement.expires,
                "learner_ids": agreement.learner_ids,
            },
            count=1, tenant=target,
        )
        return agreement

    def _parse(self, spec: Mapping[str, Any], tenant: str) -> Agreement:
        unknown = sorted(set(spec) - set(BODY_FIELDS))
        if unknown:
            raise _problem(unknown[0], f"is not a term of an agreement ({', '.join(BODY_FIELDS)})")
        for name in REQUIRED:
            if spec.get(name) is None:
                raise _problem(name, "is required")
        partner = _text(spec, "partner", MAX_PARTNER)
        purpose = _text(spec, "purpose", MAX_PURPOSE)
        learner_ids = spec.get("learner_ids", False)
        if not isinstance(learner_ids, bool):
            raise _problem("learner_ids", "must be true or false")
        dimensions = self._dimensions(spec.get("dimensions", []), tenant)
        fields = _fields(spec["fields"], dimensions, learner_ids=learner_ids)
        since, until = _time(spec, "since"), _time(spec, "until")
        if since is not None and until is not None and since >= until:
            raise _problem("until", "must be later than since")
        starts, expires = _time(spec, "starts"), _time(spec, "expires")
        assert starts is not None and expires is not None
        if expires <= starts:
            raise _problem("expires", "must be later than starts")
        now = self.now()
        if expires <= now:
            raise _problem("expires", "must be in the future")
        return Agreement(
            id=str(uuid.uuid4()), tenant=tenant, partner=partner, purpose=purpose,
            fields=fields, dimensions=dimensions, since=since, until=until, starts=starts,
            expires=expires, learner_ids=learner_ids, created=now,
        )

    def _dimensions(self, value: Any, tenant: str) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _problem("dimensions", "must be an array of dimension names")
        known = self.tenants.get(tenant).policy.dimension_iris
        for name in value:
            if name not in known:
                listed = ", ".join(known) or "none"
                raise _problem(
                    "dimensions", f"{name!r} is not a dimension of the tenant (its dimensions: "
                    f"{listed})",
                )
        return tuple((name, known[name]) for name in dict.fromkeys(value))

    def list_for(self, principal: Principal, tenant: str | None = None) -> list[Agreement]:
        return self.store.list_agreements(self._tenant(principal, tenant))

    def get(
        self, principal: Principal, agreement_id: str, tenant: str | None = None
    ) -> Agreement:
        found = self.store.get_agreement(self._tenant(principal, tenant), agreement_id)
        if found is None:
            raise NotFoundError(f"no agreement {agreement_id}")
        return found

    def revoke(
        self, principal: Principal, agreement_id: str, tenant: str | None = None
    ) -> Agreement:
        """Revoke an agreement: its exports are refused from the next request on, and it
        leaves the transparency page. Revoking twice is no error."""
        found = self.get(principal, agreement_id, tenant)
        if found.revoked is None:
            found = dataclasses.replace(found, revoked=self.now())
            self.store.put_agreement(found)
            self.audit.record(
                principal, "agreement.revoke", "agreements",
                filters={"id": agreement_id, "partner": found.partner}, count=1,
                tenant=found.tenant,
            )
        return found

    def status(self, agreement: Agreement) -> str:
        if agreement.revoked is not None:
            return REVOKED
        now = self.now()
        if now < agreement.starts:
            return PENDING
        return ACTIVE if now < agreement.expires else EXPIRED

    def check_active(self, agreement: Agreement) -> None:
        """ForbiddenError, saying why, unless the agreement is active now."""
        status = self.status(agreement)
        if status == REVOKED:
            raise ForbiddenError(
                f"agreement {agreement.id} was revoked on {agreement.revoked}",
                code="agreement_revoked",
            )
        if status == PENDING:
            raise ForbiddenError(
                f"agreement {agreement.id} starts on {agreement.starts}",
                code="agreement_not_started",
            )
        if status == EXPIRED:
            raise ForbiddenError(
                f"agreement {agreement.id} expired on {agreement.expires}",
                code="agreement_expired",
            )

    def active(self, tenant: str) -> list[Agreement]:
        """The tenant's active agreements (the transparency page's partners)."""
        return [a for a in self.store.list_agreements(tenant) if self.status(a) == ACTIVE]

    def to_json(self, agreement: Agreement) -> dict[str, Any]:
        """An agreement as the admin API and `lrs agreements --json` print it."""
        return {
            "id": agreement.id,
            "tenant": agreement.tenant,
            "partner": agreement.partner,
            "purpose": agreement.purpose,
            "fields": list(agreement.fields),
            "dimensions": [name for name, _ in agreement.dimensions],
            "since": agreement.since,
            "until": agreement.until,
            "starts": agreement.starts,
            "expires": agreement.expires,
            "learner_ids": agreement.learner_ids,
            "created": agreement.created,
            "revoked": agreement.revoked,
            "status": self.status(agreement),
        }


def _text(spec: Mapping[str, Any], name: str, limit: int) -> str:
    value = spec[name]
    if not isinstance(value, str):
        raise _problem(name, "must be a string")
    value = value.strip()
    if not value or len(value) > limit or any(ord(c) < 32 for c in value):
        raise _problem(name, f"must be 1 to {limit} printable characters")
    return value


def _time(spec: Mapping[str, Any], name: str) -> str | None:
    value = spec.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _problem(name, "must be an ISO 8601 timestamp")
    try:
        return stored_timestamp(parse_timestamp(value))
    except ValueError:
        raise _problem(name, "must be an ISO 8601 timestamp") from None


def _fields(
    value: Any, dimensions: tuple[tuple[str, str], ...], *, learner_ids: bool
) -> tuple[str, ...]:
    """The checked allow-list: the catalogue's fields as given, then each dimension's."""
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _problem("fields", "must be a non-empty array of field names")
    wanted = list(dict.fromkeys(value))
    if len(wanted) > MAX_FIELDS:
        raise _problem("fields", f"must name at most {MAX_FIELDS} fields")
    iris = {iri for _, iri in dimensions}
    kept: list[str] = []
    for name in wanted:
        if name.startswith(EXTENSION_PREFIX):
            if name[len(EXTENSION_PREFIX):] not in iris:
                raise _problem(
                    "fields", f"{name}: only the agreement's dimensions are exported from "
                    "extensions; name the dimension in dimensions",
                )
            continue  # added below, in the dimensions' order
        if name in LEARNER_FIELDS:
            if not learner_ids:
                raise _problem("fields", f"{name} holds learner ids: it needs learner_ids true")
        elif name not in STATEMENT_FIELDS:
            raise _problem(
                "fields", f"{name!r} is not an exportable field (exportable: "
                f"{', '.join((*STATEMENT_FIELDS, *LEARNER_FIELDS))}, {EXTENSION_PREFIX}<a "
                "dimension's IRI>)",
            )
        kept.append(name)
    return (*kept, *(EXTENSION_PREFIX + iri for _, iri in dimensions))

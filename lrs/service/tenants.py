"""Tenants and their data policy: what each country's LRS collects and how it is reported.

A tenant's stored policy (`storage.records.Tenant.policy`) holds only the settings given for
it explicitly; everything else follows the service's configuration, which is what the
`default` tenant and tenants migrated from earlier stores do, so existing deployments keep
their behaviour. A new tenant gets the configuration's values written in when it is created
(the configuration is the default of new tenants; changing it later does not change them).

Every operation reads the tenant's row (one indexed read) and uses the parsed policy cached
by revision, so a change made by any worker or by the CLI takes effect on every worker at
the next request, without a restart.

Policy fields (JSON names), each checked here:

    pseudonymize        identities replaced by keyed pseudonyms before storage (bool)
    allowed_extensions  extension IRIs kept (null: keep all) -- the masking allow-list
    drop_fields         fields dropped before storage (`result.response`)
    dimensions          {short name: extension IRI}: what reports may group by
    k                   minimum distinct learners behind a published aggregate (>= 2)
    rounding            published report counts rounded to the nearest multiple (1: exact)
    retention_days      statements older than this (by `stored`) are deleted (null: kept)
    notice_languages    the languages of the tenant's privacy notice (language tags)
    erasure_contact     how a learner or guardian asks for erasure (shown on /privacy)
    refuse_erased       statements naming a learner erased since are refused (bool; the
                        erasure keeps a keyed mark of the learner, `lrs.service.erasure`)
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from anonymize import SUPPORTED_DROP_FIELDS, MaskingPolicy
from lrs.config import Config
from lrs.service.errors import InvalidRequestError, NotFoundError, RequestConflictError
from statements import is_iri, is_language_tag, stored_timestamp
from storage import DEFAULT_TENANT, ConflictError, Storage, StorageError, Tenant
from storage.commands import create_tenant, update_tenant

TENANT_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
DIMENSION_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
MAX_K = 1_000_000
MAX_ROUNDING = 1000
MAX_TEXT = 500


@dataclass(frozen=True, slots=True)
class TenantPolicy:
    """A tenant's effective data policy (see the module docstring for each field)."""

    pseudonymize: bool = True
    allowed_extensions: tuple[str, ...] | None = None
    drop_fields: tuple[str, ...] = ()
    dimensions: tuple[tuple[str, str], ...] = ()
    k: int = 10
    rounding: int = 1
    retention_days: int | None = None
    notice_languages: tuple[str, ...] = ("en",)
    erasure_contact: str = ""
    refuse_erased: bool = False

    @classmethod
    def from_config(cls, config: Config) -> TenantPolicy:
        """The configuration's policy: what tenants follow unless told otherwise."""
        return check_policy(
            cls(
                pseudonymize=config.pseudonymize,
                allowed_extensions=config.mask_allowed_extensions,
                drop_fields=config.mask_drop_fields,
                dimensions=config.dimensions,
                k=config.min_group_size,
                rounding=config.report_rounding,
                retention_days=config.retention_days,
                notice_languages=config.notice_languages,
                erasure_contact=config.erasure_contact,
                refuse_erased=config.refuse_erased,
            ),
            prefix="configuration",
        )

    @property
    def dimension_iris(self) -> dict[str, str]:
        return dict(self.dimensions)

    def to_json(self) -> dict[str, Any]:
        """Every field, as the admin API and `lrs tenants show --json` print it."""
        return {
            "pseudonymize": self.pseudonymize,
            "allowed_extensions": (
                None if self.allowed_extensions is None else list(self.allowed_extensions)
            ),
            "drop_fields": list(self.drop_fields),
            "dimensions": dict(self.dimensions),
            "k": self.k,
            "rounding": self.rounding,
            "retention_days": self.retention_days,
            "notice_languages": list(self.notice_languages),
            "erasure_contact": self.erasure_contact,
            "refuse_erased": self.refuse_erased,
        }


POLICY_FIELDS = tuple(f.name for f in dataclasses.fields(TenantPolicy))


def _problem(prefix: str, name: str, rule: str) -> InvalidRequestError:
    path = f"{prefix}.{name}" if prefix else name
    return InvalidRequestError(f"{path} {rule}", code="invalid_policy", fields={path: [rule]})


def _strings(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)


def parse_policy(
    overrides: Mapping[str, Any], base: TenantPolicy, *, prefix: str = "policy"
) -> TenantPolicy:
    """`base` with the JSON `overrides` applied and checked (InvalidRequestError naming the
    field and the rule). A null for a field that cannot be null means "back to `base`"."""
    unknown = sorted(set(overrides) - set(POLICY_FIELDS))
    if unknown:
        raise _problem(prefix, unknown[0], f"is not a policy field ({', '.join(POLICY_FIELDS)})")
    values: dict[str, Any] = {}
    for name, value in overrides.items():
        if value is None and name not in ("allowed_extensions", "retention_days"):
            continue
        if name in ("pseudonymize", "refuse_erased") and not isinstance(value, bool):
            raise _problem(prefix, name, "must be true or false")
        if name in ("allowed_extensions", "drop_fields", "notice_languages"):
            if value is not None and not _strings(value):
                raise _problem(prefix, name, "must be an array of strings")
            value = None if value is None else tuple(dict.fromkeys(value))
        if name == "dimensions":
            if not isinstance(value, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise _problem(prefix, name, "must be an object of name: extension IRI")
            value = tuple(value.items())
        if name in ("k", "rounding", "retention_days") and value is not None and (
            isinstance(value, bool) or not isinstance(value, int)
        ):
            raise _problem(prefix, name, "must be an integer")
        if name == "erasure_contact" and not isinstance(value, str):
            raise _problem(prefix, name, "must be a string")
        values[name] = value
    return check_policy(dataclasses.replace(base, **values), prefix=prefix)


def check_policy(policy: TenantPolicy, *, prefix: str = "policy") -> TenantPolicy:
    """The policy if every field keeps its rule, else InvalidRequestError."""
    for iri in policy.allowed_extensions or ():
        if not is_iri(iri):
            raise _problem(prefix, "allowed_extensions", f"{iri!r} is not an absolute IRI")
    unsupported = sorted(set(policy.drop_fields) - SUPPORTED_DROP_FIELDS)
    if unsupported:
        raise _problem(
            prefix, "drop_fields",
            f"cannot drop {', '.join(unsupported)}; supported: "
            f"{', '.join(sorted(SUPPORTED_DROP_FIELDS))}",
        )
    names: set[str] = set()
    for name, iri in policy.dimensions:
        if not DIMENSION_NAME.fullmatch(name):
            raise _problem(
                prefix, "dimensions",
                f"{name!r} is not a dimension name (a lowercase letter, then up to 31 "
                "letters, digits or _)",
            )
        if name in names:
            raise _problem(prefix, "dimensions", f"{name!r} is named twice")
        names.add(name)
        if not is_iri(iri):
            raise _problem(prefix, "dimensions", f"{name}: {iri!r} is not an absolute IRI")
        if policy.allowed_extensions is not None and iri not in policy.allowed_extensions:
            raise _problem(
                prefix, "dimensions",
                f"{name}: {iri} is not among the allowed extensions, so it would be masked "
                "away before storage",
            )
    if not 2 <= policy.k <= MAX_K:
        raise _problem(prefix, "k", f"must be at least 2 (and at most {MAX_K:,})")
    if not 1 <= policy.rounding <= MAX_ROUNDING:
        raise _problem(prefix, "rounding", f"must be from 1 (no rounding) to {MAX_ROUNDING}")
    if policy.retention_days is not None and policy.retention_days < 1:
        raise _problem(prefix, "retention_days", "must be at least 1 day, or null for none")
    if not policy.notice_languages:
        raise _problem(prefix, "notice_languages", "must name at least one language")
    for tag in policy.notice_languages:
        if not is_language_tag(tag):
            raise _problem(prefix, "notice_languages", f"{tag!r} is not a language tag")
    if len(policy.erasure_contact) > MAX_TEXT:
        raise _problem(prefix, "erasure_contact", f"must be at most {MAX_TEXT} characters")
    return policy


def _stored_overrides(policy: TenantPolicy) -> dict[str, Any]:
    return policy.to_json()


@dataclass(frozen=True, slots=True)
class TenantView:
    """A tenant as the service uses it: name, display name, effective policy, revision
    (0 for a tenant without a row), and the masking policy built from it."""

    name: str
    display_name: str
    policy: TenantPolicy
    revision: int
    stored: bool
    created: str = ""
    updated: str = ""
    masking: MaskingPolicy = field(default_factory=MaskingPolicy, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "policy": self.policy.to_json(),
            "revision": self.revision,
            "created": self.created,
            "updated": self.updated,
        }


class Tenants:
    """The tenants of one store, with their policies parsed once per revision."""

    def __init__(self, store: Storage, defaults: TenantPolicy, *, can_pseudonymize: bool) -> None:
        self.store = store
        self.defaults = defaults
        self.can_pseudonymize = can_pseudonymize
        self._views: dict[tuple[str, int], TenantView] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> TenantView:
        """The tenant's current view: its row's policy over the defaults, or the defaults
        for a tenant the store has no row for (credentials made before tenants existed)."""
        row = self.store.get_tenant(name)
        if row is None:
            return self._view(Tenant(name, name, {}, "", "", 0), stored=False)
        return self._view(row, stored=True)

    def _view(self, row: Tenant, *, stored: bool) -> TenantView:
        key = (row.name, row.revision)
        found = self._views.get(key)
        if found is not None:
            return found
        try:
            policy = parse_policy(row.policy, self.defaults)
        except InvalidRequestError as exc:
            raise StorageError(f"tenant {row.name}: the stored policy is invalid: {exc}") from exc
        view = TenantView(
            name=row.name,
            display_name=row.display_name,
            policy=policy,
            revision=row.revision,
            stored=stored,
            created=row.created,
            updated=row.updated,
            masking=MaskingPolicy(policy.allowed_extensions, policy.drop_fields),
        )
        with self._lock:
            if len(self._views) > 1024:
                self._views.clear()
            self._views[key] = view
        return view

    def list(self) -> list[TenantView]:
        return [self._view(row, stored=True) for row in self.store.list_tenants()]

    def exists(self, name: str) -> bool:
        return name == DEFAULT_TENANT or self.store.get_tenant(name) is not None

    def _check_pseudonymize(self, policy: TenantPolicy) -> None:
        if policy.pseudonymize and not self.can_pseudonymize:
            raise _problem(
                "policy", "pseudonymize",
                "needs a master key (lrs keys init, or LRS_MASTER_KEY), and none is configured",
            )

    def create(
        self, name: str, display_name: str = "", overrides: Mapping[str, Any] | None = None
    ) -> TenantView:
        """A new tenant with the configuration's policy and `overrides` written in."""
        if not TENANT_NAME.fullmatch(name):
            raise _problem(
                "", "name",
                "must be a slug: lowercase letters, digits and -, at most 63, not starting or "
                "ending with -",
            )
        display = _display_name(display_name or name)
        policy = parse_policy(overrides or {}, self.defaults)
        self._check_pseudonymize(policy)
        now = stored_timestamp(datetime.now(UTC))
        try:
            row = create_tenant(
                self.store, Tenant(name, display, _stored_overrides(policy), now, now)
            )
        except ConflictError:
            raise RequestConflictError(f"a tenant named {name} exists") from None
        return self._view(row, stored=True)

    def update(
        self,
        name: str,
        *,
        display_name: str | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> TenantView:
        """Change the tenant's display name and policy fields (checked before anything is
        written); a tenant without a row gets one."""
        if not self.exists(name):
            raise NotFoundError(f"no tenant named {name}")
        display = None if display_name is None else _display_name(display_name)
        changes = dict(overrides or {})
        base = self.get(name).policy
        policy = parse_policy(changes, base)
        self._check_pseudonymize(policy)
        now = stored_timestamp(datetime.now(UTC))
        if self.store.get_tenant(name) is None:
            # Created meanwhile by another writer: changed below like any other.
            with contextlib.suppress(ConflictError):
                create_tenant(self.store, Tenant(name, display or name, {}, now, now))

        def change(current: Tenant) -> Tenant:
            # Re-applied to the row as stored now, so a concurrent change of another
            # field is kept; the result is checked again against the stored policy.
            stored = dict(current.policy)
            for key, value in changes.items():
                if value is None and key not in ("allowed_extensions", "retention_days"):
                    stored.pop(key, None)
                else:
                    stored[key] = list(value) if isinstance(value, tuple) else value
            check = parse_policy(stored, self.defaults)
            self._check_pseudonymize(check)
            return dataclasses.replace(
                current,
                display_name=current.display_name if display is None else display,
                policy=stored,
                updated=now,
            )

        row = update_tenant(self.store, name, change)
        return self._view(row, stored=True)


def _display_name(text: str) -> str:
    text = text.strip()
    if not text or len(text) > 200 or any(ord(c) < 32 for c in text):
        raise _problem("", "display_name", "must be 1 to 200 printable characters")
    return text

"""Credentials: their secrets, hashes and `authority`, and managing them within a tenant.

Secrets the LRS generates (`new_credential`: 256 random bits) are stored as a salted
HMAC-SHA256 (`hmac-sha256$salt$digest`, base64url fields): guessing 256 bits is hopeless
however fast each guess, so a slow hash would add nothing but a CPU cost that anyone
sending wrong secrets could make the LRS pay. scrypt (`scrypt$n$r$p$salt$hash`) stays for
secrets a person may have chosen (`hash_secret`) and keeps verifying for stores made
before. Only the hash is ever stored; the secret exists once, in the answer that creates
it.

`CredentialAdmin` creates, lists and revokes credentials for a principal with `admin`
(its own tenant) or `platform` (any tenant): a credential can be given only scopes its
creator holds (`Principal.can_grant`), and every change is audited in the tenant's log. An
`export` credential holds that scope alone and is bound to one agreement of its tenant that
is neither revoked nor expired (`lrs.service.agreements`): it can do nothing but that
agreement's export.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

from lrs.service.agreements import EXPIRED, REVOKED, AgreementService
from lrs.service.audit import Auditor
from lrs.service.errors import InvalidRequestError, NotFoundError, invalid
from lrs.service.principal import ADMIN_SCOPES, EXPORT, PLATFORM, SCOPES, Principal
from lrs.service.tenants import Tenants
from storage import DEFAULT_TENANT, Credential, Storage

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024
_FAST_SCHEME = "hmac-sha256"
MAX_NAME = 200


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_secret(secret: str) -> str:
    """A self-describing scrypt hash of `secret` with a fresh random salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        secret.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P,
        maxmem=_SCRYPT_MAXMEM, dklen=32,
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def dummy_scrypt_hash() -> str:
    """A random hash in the scrypt format that no secret matches, built without running
    scrypt: what an unknown key's secret is checked against, so that it costs what a wrong
    secret costs (keys cannot be probed by timing)."""
    return (
        f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}$"
        f"{_b64(secrets.token_bytes(16))}${_b64(secrets.token_bytes(32))}"
    )


def hash_generated_secret(secret: str) -> str:
    """A salted HMAC-SHA256 of a secret the LRS generated (high entropy: see the module
    docstring); microseconds to verify. Use `hash_secret` for anything a person chose."""
    salt = secrets.token_bytes(16)
    digest = hmac.new(salt, secret.encode(), hashlib.sha256).digest()
    return f"{_FAST_SCHEME}${_b64(salt)}${_b64(digest)}"


def is_slow_hash(secret_hash: str) -> bool:
    """Whether verifying against `secret_hash` costs an scrypt."""
    return secret_hash.startswith("scrypt$")


def verify_secret(secret: str, secret_hash: str) -> bool:
    """Whether `secret` matches `secret_hash` (either format); False (never an error) for
    a malformed hash."""
    try:
        scheme, *fields = secret_hash.split("$")
        if scheme == _FAST_SCHEME:
            salt, digest = fields
            expected = _unb64(digest)
            actual = hmac.new(_unb64(salt), secret.encode(), hashlib.sha256).digest()
        elif scheme == "scrypt":
            n, r, p, salt, digest = fields
            expected = _unb64(digest)
            actual = hashlib.scrypt(
                secret.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                maxmem=_SCRYPT_MAXMEM, dklen=len(expected),
            )
        else:
            return False
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(actual, expected)


def authority_agent(key: str, home_page: str) -> dict[str, Any]:
    """The Agent the LRS writes as `authority` for statements sent with this credential."""
    return {"objectType": "Agent", "account": {"homePage": home_page, "name": key}}


def new_credential(
    scopes: Iterable[str],
    *,
    home_page: str,
    name: str = "",
    tenant: str = DEFAULT_TENANT,
    agreement: str | None = None,
) -> tuple[Credential, str]:
    """A new credential and its secret; the secret exists only in the return value."""
    scopes = tuple(dict.fromkeys(scopes))
    unknown = sorted(set(scopes) - SCOPES)
    if unknown or not scopes:
        raise ValueError(
            f"unknown scopes: {', '.join(unknown)}" if unknown else "at least one scope is needed"
        )
    key = secrets.token_hex(10)
    secret = secrets.token_urlsafe(32)
    credential = Credential(
        key=key,
        secret_hash=hash_generated_secret(secret),
        name=name,
        scopes=scopes,
        authority=orjson.dumps(authority_agent(key, home_page)).decode(),
        tenant=tenant,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        agreement=agreement,
    )
    return credential, secret


def public(credential: Credential) -> dict[str, Any]:
    """What may be shown of a credential: never its hash."""
    return {
        "key": credential.key, "name": credential.name, "tenant": credential.tenant,
        "scopes": list(credential.scopes), "created": credential.created,
        "revoked": credential.revoked, "agreement": credential.agreement,
    }


class CredentialAdmin:
    """Creating, listing and revoking credentials, checked and audited."""

    def __init__(
        self,
        store: Storage,
        tenants: Tenants,
        audit: Auditor,
        agreements: AgreementService,
        *,
        home_page: str,
    ) -> None:
        self.store = store
        self.tenants = tenants
        self.audit = audit
        self.agreements = agreements
        self.home_page = home_page

    def _tenant(self, principal: Principal, tenant: str | None) -> str:
        principal.require(ADMIN_SCOPES)
        name = tenant or principal.tenant
        if name != principal.tenant and PLATFORM not in principal.scopes:
            raise NotFoundError(f"no tenant named {name}")  # not another tenant's business
        if not self.tenants.exists(name):
            raise NotFoundError(f"no tenant named {name}")
        return name

    def create(
        self,
        principal: Principal,
        scopes: Iterable[str],
        *,
        name: str = "",
        tenant: str | None = None,
        agreement: str | None = None,
    ) -> tuple[Credential, str]:
        """A new credential of `tenant` (default: the principal's) and its secret; an
        export credential names its `agreement`."""
        target = self._tenant(principal, tenant)
        wanted = tuple(dict.fromkeys(scopes))
        unknown = sorted(set(wanted) - SCOPES)
        if unknown or not wanted:
            rule = f"unknown scopes: {', '.join(unknown)}" if unknown else "at least one"
            raise invalid(f"scopes: {rule}", field="scopes")
        if not principal.can_grant(wanted):
            raise InvalidRequestError(
                "a credential can be given only scopes its creator holds",
                code="scope_not_held", fields={"scopes": ["must be scopes you hold"]},
            )
        if len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
            raise invalid(f"name must be at most {MAX_NAME} printable characters", field="name")
        self._check_agreement(wanted, agreement, target)
        credential, secret = new_credential(
            wanted, home_page=self.home_page, name=name, tenant=target, agreement=agreement
        )
        self.store.put_credential(credential)
        filters: dict[str, Any] = {"key": credential.key, "scopes": list(wanted), "name": name}
        if agreement is not None:
            filters["agreement"] = agreement
        self.audit.record(
            principal, "credential.create", "credentials", filters=filters, count=1,
            tenant=target,
        )
        return credential, secret

    def _check_agreement(
        self, scopes: tuple[str, ...], agreement: str | None, tenant: str
    ) -> None:
        """An export credential: `export` alone, bound to an active agreement of `tenant`;
        no other credential names an agreement."""
        if EXPORT not in scopes:
            if agreement is not None:
                raise invalid(
                    "agreement: only an export credential is bound to an agreement",
                    field="agreement",
                )
            return
        if scopes != (EXPORT,):
            raise invalid("scopes: an export credential holds export and nothing else",
                          field="scopes")
        if agreement is None:
            raise invalid("agreement: an export credential must name its agreement",
                          field="agreement")
        found = self.store.get_agreement(tenant, agreement)
        if found is None:
            raise invalid(f"agreement: no agreement {agreement} in tenant {tenant}",
                          field="agreement")
        status = self.agreements.status(found)
        if status in (REVOKED, EXPIRED):  # a pending one may be handed over before it starts
            raise invalid(f"agreement: {agreement} is {status}", field="agreement")

    def list(self, principal: Principal, tenant: str | None = None) -> list[Credential]:
        return self.store.list_credentials(self._tenant(principal, tenant))

    def revoke(self, principal: Principal, key: str) -> Credential:
        """Revoke a credential of the principal's tenant (any, for `platform`); it is refused
        from the next request on. Revoking twice is no error."""
        principal.require(ADMIN_SCOPES)
        found = self.store.get_credential(key)
        if found is None or (
            found.tenant != principal.tenant and PLATFORM not in principal.scopes
        ):
            raise NotFoundError(f"no credential {key}")
        if not found.revoked:
            found = dataclasses.replace(found, revoked=True)
            self.store.put_credential(found)
            self.audit.record(
                principal, "credential.revoke", "credentials", filters={"key": key},
                count=1, tenant=found.tenant,
            )
        return found

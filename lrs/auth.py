"""HTTP Basic authentication against credentials in the store, and scope checks.

Secrets are stored only as scrypt hashes (`scrypt$n$r$p$salt$hash`, base64url fields).
scrypt costs tens of milliseconds by design, far too slow to run per request, so each
process remembers which (key, stored hash) pairs it has verified together with an HMAC of
the secret under a random per-process key; a later request with the same secret is checked
against that HMAC in constant time. The credential itself is re-read on every request (one
indexed read), so revoking it or replacing its secret takes effect immediately.

Scopes and what they allow are `lrs.service.principal`'s.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from threading import Lock
from typing import Any

import orjson

from lrs.errors import ApiError
from lrs.service.principal import SCOPES, Principal
from storage import DEFAULT_TENANT, Credential, Storage

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024
_CACHE_SIZE = 1024
_UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Basic realm="LRS", charset="UTF-8"'}


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


def verify_secret(secret: str, secret_hash: str) -> bool:
    """Whether `secret` matches `secret_hash`; False (never an error) for a malformed hash."""
    try:
        scheme, n, r, p, salt, digest = secret_hash.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(
            secret.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
            maxmem=_SCRYPT_MAXMEM, dklen=len(expected),
        )
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
        secret_hash=hash_secret(secret),
        name=name,
        scopes=scopes,
        authority=orjson.dumps(authority_agent(key, home_page)).decode(),
        tenant=tenant,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    return credential, secret


class Authenticator:
    """Verifies Basic credentials against a CredentialStore, caching scrypt results."""

    def __init__(self, store: Storage) -> None:
        self._store = store
        self._pepper = secrets.token_bytes(32)
        # What an unknown or revoked key's secret is checked against, so that it costs one
        # scrypt like a wrong secret (keys cannot be probed by timing). Random: no secret
        # matches it, and building it costs no scrypt.
        self._dummy_hash = (
            f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}$"
            f"{_b64(secrets.token_bytes(16))}${_b64(secrets.token_bytes(32))}"
        )
        self._verified: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._lock = Lock()

    def __repr__(self) -> str:
        return f"<Authenticator cached={len(self._verified)}>"

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal for an `Authorization` header value; ApiError 401 otherwise."""
        key, secret = _parse_basic(authorization)
        credential = self._store.get_credential(key)
        if credential is None or credential.revoked:
            # Same work and answer as a wrong secret, so keys cannot be probed.
            verify_secret(secret, self._dummy_hash)
            raise _unauthorized("invalid credentials")
        tag = hmac.new(self._pepper, secret.encode(), hashlib.sha256).digest()
        cache_key = (credential.key, credential.secret_hash)
        with self._lock:
            known = self._verified.get(cache_key)
        if known is None or not hmac.compare_digest(known, tag):
            if not verify_secret(secret, credential.secret_hash):
                raise _unauthorized("invalid credentials")
            with self._lock:
                self._verified[cache_key] = tag
                while len(self._verified) > _CACHE_SIZE:
                    self._verified.popitem(last=False)
        return Principal(
            key=credential.key,
            tenant=credential.tenant,
            scopes=frozenset(credential.scopes),
            authority=orjson.loads(credential.authority),
        )


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers=_UNAUTHORIZED_HEADERS)


def _parse_basic(authorization: str | None) -> tuple[str, str]:
    if not authorization:
        raise _unauthorized("authentication required (HTTP Basic)")
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise _unauthorized("authentication required (HTTP Basic)")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except ValueError:
        # Not base64, not ASCII (a header may carry any Latin-1 character), or not UTF-8.
        raise _unauthorized("malformed Basic credentials") from None
    key, colon, secret = decoded.partition(":")
    if not colon or not key:
        raise _unauthorized("malformed Basic credentials")
    return key, secret

"""The ids a partner receives under one data-sharing agreement, and its export cursors.

Stored statements hold each learner as the tenant's pseudonym, which is the same for every
reader of the tenant: handing it to two partners would let them join their data on it. So an
export re-keys every id under a key derived for that agreement alone (`Keyring.derive(tenant,
Purpose.AGREEMENT, scope=<agreement id>)`, HKDF): one partner gets the same id for the same
learner in each of its exports, two agreements' ids have nothing in common, and without the
master key nobody can go from an exported id back to the stored pseudonym.

    learner id    hex of HMAC-SHA256(key, b"learner\\0" + canonical IFI of the stored agent)[:16]
    statement id  a UUID (version 8, RFC 9562) made of HMAC-SHA256(key, b"statement\\0" + id)
    registration  the same with b"registration\\0"

Statement ids and registrations are re-keyed too: both are the same for every reader, so
partners could join rows on them and then their learner ids. The labels keep the three kinds
apart; the canonical IFI is `anonymize.canonical_ifi`'s.

Export cursors are opaque: an AES-SIV encryption (deterministic, authenticated; RFC 5297)
under the agreement's cursor key (`Purpose.EXPORT_CURSOR`), bound to the agreement id, of
whatever position the caller packs. A partner learns nothing from a cursor (a position names
a stored statement id, which must not leave the LRS), cannot forge or alter one, and cannot
use one agreement's cursor with another. Cursors sealed before a key rotation still open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from anonymize.errors import PseudonymError, VaultError
from anonymize.keys import Keyring, Purpose
from anonymize.pseudonymizer import canonical_ifi
from statements.walk import IFI_FIELDS

__all__ = ["Rekeyer"]

_CURSOR_VERSION = b"\x01"
_CACHE_MAX = 65536


class Rekeyer:
    """Re-keyed ids and sealed cursors for one agreement of one tenant. Thread-safe."""

    __slots__ = ("_aad", "_cache", "_cursor_keys", "_key", "_lock", "agreement", "tenant")

    def __init__(self, keyring: Keyring, tenant: str, agreement: str) -> None:
        self.tenant = tenant
        self.agreement = agreement
        self._key = keyring.derive(tenant, Purpose.AGREEMENT, agreement).key
        self._cursor_keys = tuple(
            AESSIV(derived.key)
            for derived in keyring.derive_all(tenant, Purpose.EXPORT_CURSOR, agreement)
        )
        self._aad = [b"lrs/v1/export-cursor", tenant.encode(), agreement.encode()]
        self._cache: dict[tuple[Any, ...], str] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Rekeyer(tenant={self.tenant!r}, agreement={self.agreement!r})"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Rekeyer cannot be pickled")

    def learner_id(self, agent: Mapping[str, Any]) -> str | None:
        """The agreement's id for a stored Agent or identified Group; None for one without an
        identifier (an anonymous Group: its members have theirs)."""
        # Cached by the identifier as written (cheap to build, unlike its canonical form):
        # the same learners come back statement after statement.
        account = agent.get("account")
        written = (
            (account.get("homePage"), account.get("name")) if isinstance(account, dict)
            else tuple(agent.get(field) for field in IFI_FIELDS)
        )
        found = self._cache.get(written)
        if found is None:
            try:
                ifi = canonical_ifi(agent)
            except PseudonymError:
                return None
            found = hmac.digest(self._key, b"learner\0" + ifi, hashlib.sha256)[:16].hex()
            with self._lock:
                if len(self._cache) >= _CACHE_MAX:
                    self._cache.clear()
                self._cache[written] = found
        return found

    def statement_id(self, statement_id: str) -> str:
        """The agreement's id for a statement (its object's, for a StatementRef)."""
        return _uuid8(hmac.digest(self._key, b"statement\0" + statement_id.lower().encode(),
                                  hashlib.sha256))

    def registration(self, registration: str) -> str:
        """The agreement's id for a registration."""
        return _uuid8(hmac.digest(self._key, b"registration\0" + registration.lower().encode(),
                                  hashlib.sha256))

    def seal_cursor(self, position: bytes) -> str:
        """An opaque cursor holding `position` (base64url text, no padding)."""
        sealed = _CURSOR_VERSION + self._cursor_keys[0].encrypt(position, self._aad)
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")

    def open_cursor(self, cursor: str) -> bytes:
        """The position a cursor of this agreement holds; VaultError for anything else (a
        cursor of another agreement, altered, truncated, or not one at all)."""
        try:
            sealed = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise VaultError("not an export cursor") from None
        if sealed[:1] != _CURSOR_VERSION:
            raise VaultError("not an export cursor")
        for key in self._cursor_keys:
            try:
                return key.decrypt(sealed[1:], self._aad)
            except (InvalidTag, ValueError):
                continue
        raise VaultError("not a cursor of this agreement's export")


def _uuid8(digest: bytes) -> str:
    """A UUID of version 8 (custom data, RFC 9562 section 5.8) from the first 16 bytes."""
    data = bytearray(digest[:16])
    data[6] = (data[6] & 0x0F) | 0x80
    data[8] = (data[8] & 0x3F) | 0x80
    text = data.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

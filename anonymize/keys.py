"""The master key and the per-tenant, per-purpose keys derived from it.

Key text format (a key file, or the value the service reads from its environment): one line of
base64url text (RFC 4648 section 5, padding optional) encoding exactly 32 random bytes. Further
non-empty lines, if any, hold retired master keys, newest first: they are never used to create
anything, only to open vault blobs sealed before a rotation.

Derivation: ``HKDF-SHA256(master, salt=None, info=b"lrs/v1/<purpose>/<tenant UTF-8>", 32)``.
The purpose comes from a fixed set of names without ``/``, so ``info`` is unambiguous. The
purposes of one data-sharing agreement (`SCOPED_PURPOSES`) are derived per tenant and
agreement: ``info=b"lrs/v1/<purpose>/<tenant UTF-8>/<scope UTF-8>"``, the scope (the agreement
id) non-empty and without ``/``. Those purposes are never derived without a scope nor the
others with one, so the purpose names the form, the scope is what follows the last ``/``, and
no two (tenant, scope) pairs give the same ``info``. A key id is
``base32(HMAC-SHA256(derived key, b"lrs/v1/key-id"))[:8]`` in lowercase: it names a derived
key and reveals nothing about it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import stat
import threading
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from anonymize.errors import KeyFileError, KeyringError

__all__ = ["SCOPED_PURPOSES", "DerivedKey", "Keyring", "Purpose", "init_key_file"]

KEY_BYTES = 32
_KEY_ID_LABEL = b"lrs/v1/key-id"
_DERIVED_CACHE_MAX = 4096


class Purpose(StrEnum):
    """What a derived key is for; one key per purpose so a leak of one exposes nothing else."""

    PSEUDONYM = "pseudonym"
    VAULT = "vault"
    GENERAL = "general"
    AUDIT = "audit"
    # Per agreement (scoped): the ids a partner receives, and its export cursors.
    AGREEMENT = "agreement"
    EXPORT_CURSOR = "export-cursor"


SCOPED_PURPOSES = frozenset({Purpose.AGREEMENT, Purpose.EXPORT_CURSOR})


class DerivedKey:
    """A 256-bit key for one tenant and purpose. Its bytes never appear in `repr` or `str`."""

    __slots__ = ("key", "key_id", "purpose", "scope", "tenant")

    def __init__(
        self, key: bytes, tenant: str, purpose: Purpose, scope: str | None = None
    ) -> None:
        self.key = key
        self.tenant = tenant
        self.purpose = purpose
        self.scope = scope
        self.key_id = _key_id(key)

    def __repr__(self) -> str:
        scope = "" if self.scope is None else f", scope={self.scope!r}"
        return (
            f"DerivedKey(tenant={self.tenant!r}, purpose={self.purpose.value!r}{scope}, "
            f"key_id={self.key_id!r})"
        )

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would copy the key into caches, queues and crash dumps: refuse it.
        raise TypeError("DerivedKey cannot be pickled")


def _key_id(key: bytes) -> str:
    digest = hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii")[:8].lower()


class Keyring:
    """A master key (plus retired ones) from which every tenant's keys are derived.

    Build it with `Keyring(master)`, `Keyring.from_text(text)` (the environment's value),
    `Keyring.from_file(path)` or `Keyring.generate()` (tests and throwaway instances).
    """

    __slots__ = ("_cache", "_lock", "_masters")

    def __init__(self, master_key: bytes, *, retired: Iterable[bytes] = ()) -> None:
        masters = (master_key, *retired)
        for key in masters:
            if not isinstance(key, bytes) or len(key) != KEY_BYTES:
                raise KeyringError(f"a master key must be exactly {KEY_BYTES} bytes")
        self._masters: tuple[bytes, ...] = masters
        self._cache: dict[tuple[str, Purpose, str | None, int], DerivedKey] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Keyring(<{len(self._masters)} master key(s) hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Keyring cannot be pickled")

    @classmethod
    def generate(cls) -> Keyring:
        """A keyring with a fresh random master key (nothing it makes outlives the process)."""
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def from_text(cls, text: str) -> Keyring:
        """Parse key text (see the module docstring): current key first, retired keys after."""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if not lines:
            raise KeyringError("key text is empty")
        keys = [_decode_key(line, number) for number, line in enumerate(lines, start=1)]
        return cls(keys[0], retired=keys[1:])

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Keyring:
        """Load a key file, refusing one that group or others may read (as ssh does)."""
        path = Path(path)
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise KeyFileError(f"cannot open key file {path}: {exc.strerror}") from None
        try:
            mode = os.fstat(fd).st_mode
            if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise KeyFileError(
                    f"permissions {stat.S_IMODE(mode):04o} for key file {path} are too open: "
                    "it must be readable by its owner only (chmod 600)"
                )
            with os.fdopen(fd, "r", encoding="ascii", closefd=False) as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError):
            raise KeyFileError(f"cannot read key file {path}") from None
        finally:
            os.close(fd)
        try:
            return cls.from_text(text)
        except KeyringError as exc:
            raise KeyFileError(f"key file {path}: {exc}") from None

    def derive(
        self, tenant: str, purpose: Purpose | str, scope: str | None = None
    ) -> DerivedKey:
        """The current key for `tenant` and `purpose` (cached: derivation costs microseconds);
        a purpose of `SCOPED_PURPOSES` needs its `scope` (an agreement id), no other takes one."""
        return self._derive(tenant, Purpose(purpose), scope, 0)

    def derive_all(
        self, tenant: str, purpose: Purpose | str, scope: str | None = None
    ) -> tuple[DerivedKey, ...]:
        """The current key then every retired one, to open data sealed before a rotation."""
        purpose = Purpose(purpose)
        return tuple(self._derive(tenant, purpose, scope, i) for i in range(len(self._masters)))

    def _derive(
        self, tenant: str, purpose: Purpose, scope: str | None, index: int
    ) -> DerivedKey:
        cache_key = (tenant, purpose, scope, index)
        derived = self._cache.get(cache_key)
        if derived is not None:
            return derived
        if not isinstance(tenant, str) or not tenant:
            raise KeyringError("a tenant must be a non-empty string")
        info = b"lrs/v1/" + purpose.value.encode("ascii") + b"/" + tenant.encode("utf-8")
        if purpose in SCOPED_PURPOSES:
            if not isinstance(scope, str) or not scope or "/" in scope:
                raise KeyringError(
                    f"purpose {purpose.value} needs a scope: a non-empty string without /"
                )
            info += b"/" + scope.encode("utf-8")
        elif scope is not None:
            raise KeyringError(f"purpose {purpose.value} takes no scope")
        material = HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=None, info=info).derive(
            self._masters[index]
        )
        derived = DerivedKey(material, tenant, purpose, scope)
        with self._lock:
            if len(self._cache) >= _DERIVED_CACHE_MAX:
                self._cache.clear()
            self._cache[cache_key] = derived
        return derived


def _decode_key(line: str, number: int) -> bytes:
    try:
        key = base64.urlsafe_b64decode(line + "=" * (-len(line) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES or encode_key(key).rstrip("=") != line.rstrip("="):
        raise KeyringError(f"line {number} is not base64url text of a {KEY_BYTES}-byte key")
    return key


def encode_key(key: bytes) -> str:
    """Key text for `key`: base64url without padding (what `init_key_file` writes)."""
    return base64.urlsafe_b64encode(key).decode("ascii").rstrip("=")


def init_key_file(path: str | os.PathLike[str]) -> Path:
    """Create a key file holding a new random master key, readable by its owner only.

    Never overwrites: an existing file (maybe the only copy of a key) is an error.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"key file {path} already exists; refusing to overwrite it") from None
    except OSError as exc:
        raise KeyFileError(f"cannot create key file {path}: {exc.strerror}") from None
    try:
        if os.name == "posix":
            os.fchmod(fd, 0o600)
        os.write(fd, (encode_key(secrets.token_bytes(KEY_BYTES)) + "\n").encode("ascii"))
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        path.unlink(missing_ok=True)  # a half-written key file would block the next attempt
        raise KeyFileError(f"cannot write key file {path}: {exc.strerror}") from None
    os.close(fd)
    return path

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

Tenant keys (an edge LRS syncing to a central one): the derived keys of one tenant for the
purposes in `SHARED_PURPOSES`, exported from the keyring that derives them
(`Keyring.tenant_keys`, `write_tenant_keys`) and installed in another one
(`load_tenant_keys`, `Keyring.with_tenant_keys`),
which then pseudonymizes and seals for that tenant exactly as the first does, without
holding its master key (which would give every other tenant's keys away too). Installed keys
take the place of derivation for their (tenant, purpose); every other key is still derived
from the keyring's own master key. The keys of an agreement (`SCOPED_PURPOSES`) are never
installed: one installed key would serve every agreement of the tenant. Tenant key text is
JSON::

    {"format": "lrs-tenant-keys/1",
     "tenants": {"<tenant>": {"<purpose>": ["<base64url key>", <retired keys, newest first>]}}}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import stat
import threading
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from anonymize.errors import KeyFileError, KeyringError

__all__ = [
    "SCOPED_PURPOSES",
    "SHARED_PURPOSES",
    "DerivedKey",
    "Keyring",
    "Purpose",
    "init_key_file",
    "load_tenant_keys",
    "parse_tenant_keys",
    "write_tenant_keys",
]

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


# What an edge needs to store a tenant's statements as its central LRS does: the pseudonym
# key (same pseudonyms), the vault key (originals the centre can open) and the general key
# (the keyed digests of vault entries). Never the audit key: each LRS keeps its own log.
SHARED_PURPOSES = (Purpose.PSEUDONYM, Purpose.VAULT, Purpose.GENERAL)
TENANT_KEYS_FORMAT = "lrs-tenant-keys/1"

# (tenant, purpose) -> the keys installed for it, current first.
TenantKeys = Mapping[tuple[str, Purpose], Sequence[bytes]]


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
    `Keyring.from_file(path)` or `Keyring.generate()` (tests and throwaway instances); add
    another LRS's keys of a tenant with `with_tenant_keys` (module docstring).
    """

    __slots__ = ("_cache", "_installed", "_lock", "_masters")

    def __init__(
        self,
        master_key: bytes,
        *,
        retired: Iterable[bytes] = (),
        installed: TenantKeys | None = None,
    ) -> None:
        masters = (master_key, *retired)
        for key in masters:
            if not isinstance(key, bytes) or len(key) != KEY_BYTES:
                raise KeyringError(f"a master key must be exactly {KEY_BYTES} bytes")
        self._masters: tuple[bytes, ...] = masters
        self._installed: dict[tuple[str, Purpose], tuple[bytes, ...]] = {}
        for (tenant, purpose), keys in (installed or {}).items():
            if not keys or not all(isinstance(k, bytes) and len(k) == KEY_BYTES for k in keys):
                raise KeyringError(f"installed keys must be {KEY_BYTES} bytes each")
            if Purpose(purpose) in SCOPED_PURPOSES:
                raise KeyringError(f"keys for {Purpose(purpose).value} are never installed")
            self._installed[(tenant, Purpose(purpose))] = tuple(keys)
        self._cache: dict[tuple[str, Purpose, str | None, int], DerivedKey] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        installed = sorted({tenant for tenant, _ in self._installed})
        return (
            f"Keyring(<{len(self._masters)} master key(s) hidden>"
            + (f", installed tenant keys for {installed}" if installed else "")
            + ")"
        )

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
        text = _read_private(path, "key file")
        try:
            return cls.from_text(text)
        except KeyringError as exc:
            raise KeyFileError(f"key file {path}: {exc}") from None

    def generations(self) -> tuple[Keyring, ...]:
        """One keyring per master key, current first: pseudonyms made before a rotation are
        the retired keys' (erasure looks for every pseudonym a learner was stored under)."""
        return tuple(Keyring(master) for master in self._masters)

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
        count = len(self._installed.get((tenant, purpose), self._masters))
        return tuple(self._derive(tenant, purpose, scope, i) for i in range(count))

    def with_tenant_keys(self, keys: TenantKeys) -> Keyring:
        """This keyring with `keys` installed (`parse_tenant_keys`), replacing any installed
        before for the same (tenant, purpose)."""
        return Keyring(
            self._masters[0], retired=self._masters[1:], installed={**self._installed, **keys}
        )

    def tenant_keys(self, tenant: str) -> dict[tuple[str, Purpose], tuple[bytes, ...]]:
        """`tenant`'s keys for `SHARED_PURPOSES`, current and retired: what another LRS
        installs (`write_tenant_keys`, then `with_tenant_keys`) to pseudonymize and seal for
        the tenant as this one does. Key material: keep it in owner-only files."""
        return {
            (tenant, purpose): tuple(k.key for k in self.derive_all(tenant, purpose))
            for purpose in SHARED_PURPOSES
        }

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
        installed = self._installed.get((tenant, purpose))
        if installed is not None:
            material = installed[index]
        else:
            material = HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=None, info=info).derive(
                self._masters[index]
            )
        derived = DerivedKey(material, tenant, purpose, scope)
        with self._lock:
            if len(self._cache) >= _DERIVED_CACHE_MAX:
                self._cache.clear()
            self._cache[cache_key] = derived
        return derived


def parse_tenant_keys(text: str | bytes) -> dict[tuple[str, Purpose], tuple[bytes, ...]]:
    """The keys of tenant key text (module docstring); KeyringError naming the entry at
    fault, never the key material."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise KeyringError("tenant key text is not JSON") from None
    if not isinstance(data, dict) or data.get("format") != TENANT_KEYS_FORMAT:
        raise KeyringError(f"tenant key text must be a {TENANT_KEYS_FORMAT} object")
    tenants = data.get("tenants")
    if not isinstance(tenants, dict) or set(data) != {"format", "tenants"}:
        raise KeyringError('tenant key text must hold "format" and a "tenants" object only')
    found: dict[tuple[str, Purpose], tuple[bytes, ...]] = {}
    for tenant, purposes in tenants.items():
        if not tenant or not isinstance(purposes, dict) or not purposes:
            raise KeyringError(f"tenants.{tenant}: must be an object of purposes")
        for name, keys in purposes.items():
            try:
                purpose = Purpose(name)
            except ValueError:
                raise KeyringError(f"tenants.{tenant}.{name}: not a key purpose") from None
            if not isinstance(keys, list) or not keys or not all(
                isinstance(k, str) for k in keys
            ):
                raise KeyringError(f"tenants.{tenant}.{name}: must be a list of keys")
            try:
                found[(tenant, purpose)] = tuple(
                    _decode_key(k, n) for n, k in enumerate(keys, start=1)
                )
            except KeyringError:
                raise KeyringError(
                    f"tenants.{tenant}.{name}: each key must be base64url text of "
                    f"{KEY_BYTES} bytes"
                ) from None
    return found


def _tenant_keys_text(keys: TenantKeys) -> str:
    tenants: dict[str, dict[str, list[str]]] = {}
    for (tenant, purpose), material in sorted(keys.items()):
        tenants.setdefault(tenant, {})[purpose.value] = [encode_key(k) for k in material]
    payload = {"format": TENANT_KEYS_FORMAT, "tenants": tenants}
    return json.dumps(payload, indent=2) + "\n"


def load_tenant_keys(path: str | os.PathLike[str]) -> dict[tuple[str, Purpose], tuple[bytes, ...]]:
    """The keys of a tenant key file, refusing one that group or others may read."""
    return parse_tenant_keys(_read_private(Path(path), "tenant key file"))


def write_tenant_keys(path: str | os.PathLike[str], keys: TenantKeys) -> Path:
    """Write `keys` as tenant key text to `path`, readable by its owner only, replacing the
    file at once (a temporary file renamed over it: never half written)."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise KeyFileError(f"cannot create {temporary}: {exc.strerror}") from None
    try:
        try:
            if os.name == "posix":
                os.fchmod(fd, 0o600)
            os.write(fd, _tenant_keys_text(keys).encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise KeyFileError(f"cannot write {path}: {exc.strerror}") from None
    return path


def _read_private(path: Path, what: str) -> str:
    """A file's text, refused when group or others may read it (as ssh does)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise KeyFileError(f"cannot open {what} {path}: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyFileError(
                f"permissions {stat.S_IMODE(mode):04o} for {what} {path} are too open: "
                "it must be readable by its owner only (chmod 600)"
            )
        with os.fdopen(fd, "r", encoding="ascii", closefd=False) as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        raise KeyFileError(f"cannot read {what} {path}") from None
    finally:
        os.close(fd)


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

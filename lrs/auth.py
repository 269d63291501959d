"""HTTP Basic authentication against credentials in the store, throttling of failed
logins, and scope checks.

Secrets and their hashes are `lrs.service.credentials`': generated secrets are stored as a
salted HMAC-SHA256, because a slow hash of a 256-bit secret adds nothing but a CPU cost
anyone sending wrong secrets could make the LRS pay (eight such clients took a valid
client's median from 3 to 50-186 ms); scrypt keeps verifying for stores made before.

Each process remembers which (key, stored hash) pairs it has verified together with an
HMAC of the secret under a random per-process key; a later request with the same secret
is checked against that HMAC in constant time. Stored hashes are never rewritten at login:
the store can only replace a whole credential, which could undo a revocation made
meanwhile.

With `cache_seconds` (the `auth_cache_seconds` setting), the principal of a verified
`Authorization` header is also kept that long, keyed by an HMAC of the whole header under
the per-process key (so the table reveals no secret, and its lookups depend on nothing an
attacker can compute), and such a request skips the credential read (with its hash
check and JSON parse, 51-64 µs of CPU in a single-statement POST; 13 µs from the cache).
A revocation made through this process (`forget`, the admin API) takes effect at once;
one made elsewhere (`lrs credentials revoke`, another worker) within `cache_seconds`.
Without it (0) the credential is re-read on every request.

Failed logins are counted per key and per client address (`LoginThrottle`): past the
limit a wrong secret gets 429 with Retry-After instead of 401. A correct secret is always
checked first and always gets in, so no stranger can lock a real user out; for an scrypt
hash, though, an address past its limit gets 429 without the scrypt being run, so an
attacker who knows a key (keys are no secret: they name the `authority` of statements)
can make each process run at most `failure_limit` scrypts per window per address. An
unknown or revoked key costs what a wrong secret for an scrypt hash costs, within that
limit: keys cannot be told from stored ones by timing.

Scopes and what they allow are `lrs.service.principal`'s.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from threading import Lock
from typing import TypeVar

from lrs.errors import ApiError
from lrs.service.credentials import dummy_scrypt_hash, is_slow_hash, verify_secret
from lrs.service.principal import Principal
from storage import Storage

_CACHE_SIZE = 1024
_THROTTLE_SIZE = 10_000  # entries per table (keys, addresses): bounded memory
_UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Basic realm="LRS", charset="UTF-8"'}


class LoginThrottle:
    """Failed logins per key and per client address, in fixed windows of `window` seconds:
    past `limit` failures in a window, `retry_after` gives the seconds left in it. Each
    table keeps its `size` most recently failed names (bounded memory: an attacker with
    endless keys or addresses only pushes out older entries). IPv6 clients count per /64,
    which one subscriber usually holds whole."""

    def __init__(
        self, *, limit: int, window: float, size: int = _THROTTLE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.size, self._clock = limit, window, size, clock
        self._tables: dict[str, OrderedDict[str, tuple[float, int]]] = {
            "key": OrderedDict(), "address": OrderedDict(),
        }
        self._lock = Lock()

    def __len__(self) -> int:
        return sum(len(table) for table in self._tables.values())

    def retry_after(self, *, key: str | None = None, address: str | None = None) -> int:
        """Seconds until these may fail again (0: now), the longest of the two."""
        now = self._clock()
        with self._lock:
            return max(
                self._wait(self._tables[kind], name, now)
                for kind, name in (("key", key), ("address", _bucket(address)))
            )

    def failed(self, *, key: str, address: str | None) -> int:
        """Count one failure of both; the seconds to wait if either is now past the limit."""
        now = self._clock()
        with self._lock:
            for kind, name in (("key", key), ("address", _bucket(address))):
                if name is None:  # no address known (not served over a socket)
                    continue
                table = self._tables[kind]
                started, count = table.pop(name, (now, 0))
                if now >= started + self.window:
                    started, count = now, 0
                table[name] = (started, count + 1)
                while len(table) > self.size:
                    table.popitem(last=False)
            return max(self._wait(self._tables[kind], name, now)
                       for kind, name in (("key", key), ("address", _bucket(address))))

    def _wait(self, table: OrderedDict[str, tuple[float, int]], name: str | None,
              now: float) -> int:
        if name is None or name not in table:
            return 0
        started, count = table[name]
        if count < self.limit or now >= started + self.window:
            return 0
        return max(math.ceil(started + self.window - now), 1)


def _bucket(address: str | None) -> str | None:
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


T = TypeVar("T")


def _run_here(call: Callable[[], T]) -> T:
    return call()


class Authenticator:
    """Verifies Basic credentials against a CredentialStore, caching verified secrets and
    throttling failures (see the module docstring).

    `run_blocking` runs an scrypt verification: by default in the calling thread; `lrs
    serve` passes one that runs it on an OS thread, so the event loop of a gevent worker
    goes on serving other connections meanwhile."""

    def __init__(
        self,
        store: Storage,
        *,
        failure_limit: int = 30,
        failure_window: float = 60.0,
        throttle_size: int = _THROTTLE_SIZE,
        clock: Callable[[], float] = time.monotonic,
        run_blocking: Callable[[Callable[[], bool]], bool] | None = None,
        cache_seconds: float = 0.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self._cache_seconds = cache_seconds
        # HMAC of an Authorization header -> (expiry, principal); see the module docstring.
        self._sessions: dict[bytes, tuple[float, Principal]] = {}
        self._pepper = secrets.token_bytes(32)
        # What an unknown or revoked key's secret is checked against, so that it costs one
        # scrypt like a wrong secret for an scrypt hash (keys cannot be probed by timing),
        # within the same per-address limit. Random: no secret matches it, and building
        # it costs no scrypt.
        self._dummy_hash = dummy_scrypt_hash()
        self._verified: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._lock = Lock()
        self.throttle = LoginThrottle(
            limit=failure_limit, window=failure_window, size=throttle_size, clock=clock
        )
        self._run_blocking = run_blocking or _run_here

    def __repr__(self) -> str:
        return f"<Authenticator cached={len(self._verified)} throttled={len(self.throttle)}>"

    def forget(self, key: str) -> None:
        """Drop what is remembered of credential `key` (revoked or given a new secret here),
        so that its next request reads it again."""
        with self._lock:
            for tag in [t for t, (_, p) in self._sessions.items() if p.key == key]:
                del self._sessions[tag]

    def authenticate(self, authorization: str | None, client: str | None = None) -> Principal:
        """The principal for an `Authorization` header value sent from address `client`;
        ApiError 401, or 429 after too many failures, otherwise."""
        if not self._cache_seconds or not authorization:
            return self._authenticate(authorization, client)
        session = hmac.new(
            self._pepper, authorization.encode("utf-8", "surrogateescape"), hashlib.sha256
        ).digest()
        now = self._clock()
        found = self._sessions.get(session)
        if found is not None and found[0] > now:
            return found[1]
        principal = self._authenticate(authorization, client)
        with self._lock:
            self._sessions.pop(session, None)
            self._sessions[session] = (now + self._cache_seconds, principal)
            while len(self._sessions) > _CACHE_SIZE:
                del self._sessions[next(iter(self._sessions))]
        return principal

    def _authenticate(self, authorization: str | None, client: str | None) -> Principal:
        key, secret = _parse_basic(authorization)
        credential = self._store.get_credential(key)
        usable = credential is not None and not credential.revoked
        # Unknown and revoked keys go the way of a wrong secret: same work, same answers.
        stored = credential.secret_hash if credential is not None and usable else (
            self._dummy_hash
        )
        tag = hmac.new(self._pepper, secret.encode(), hashlib.sha256).digest()
        cache_key = (key, stored)
        with self._lock:
            known = self._verified.get(cache_key)
        if credential is not None and usable and known is not None and hmac.compare_digest(
            known, tag
        ):
            return Principal.of(credential)
        if is_slow_hash(stored):
            wait = self.throttle.retry_after(address=client)
            if wait:  # no scrypt for an address past its limit
                raise _too_many(wait)
            matches = self._run_blocking(lambda: verify_secret(secret, stored))
        else:
            matches = verify_secret(secret, stored)
        if credential is not None and usable and matches:
            with self._lock:
                self._verified[cache_key] = tag
                while len(self._verified) > _CACHE_SIZE:
                    self._verified.popitem(last=False)
            return Principal.of(credential)
        wait = self.throttle.failed(key=key, address=client)
        if wait:
            raise _too_many(wait)
        raise _unauthorized("invalid credentials")


def _too_many(wait: int) -> ApiError:
    return ApiError(
        429, "too many failed logins; retry later", code="too_many_requests",
        headers={"Retry-After": str(wait)},
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

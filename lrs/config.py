"""Service configuration, read once by the app factory and the CLI.

Sources, later ones winning: built-in defaults, the file named by `LRS_CONFIG_FILE` (JSON, or
TOML when the name ends in `.toml`), `LRS_`-prefixed environment variables (the upper-cased
field name, e.g. `LRS_STORAGE_URI`), then an explicit mapping. Unknown keys in a file or
mapping are errors; unknown `LRS_` variables are ignored because other tools (tests, the
deployment) use the same prefix for their own settings.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from anonymize import SUPPORTED_DROP_FIELDS
from statements import is_iri

ENV_PREFIX = "LRS_"
CONFIG_FILE_VARIABLE = "LRS_CONFIG_FILE"
_VERSION_RE = re.compile(r"^(1\.0|2\.0)\.\d+$")
_ORIGIN_RE = re.compile(r"^(\*|https?://[^/\s]+)$")


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key and the rule."""


@dataclass(frozen=True, slots=True)
class Config:
    """Every setting of the service. See README "Configuration" for each key."""

    storage_uri: str = "sqlite:///lrs-data/lrs.db"
    max_body_bytes: int = 10 * 1024 * 1024
    statements_limit_max: int = 500
    cors_origins: tuple[str, ...] = ("*",)
    authority_home_page: str = "https://lrs.invalid"
    version_fallback: str = "1.0.3"
    # 1.0.3 conformance suite (XAPI-00273) wants 400 for a profile PUT without If-Match or
    # If-None-Match onto a new document; real clients (tincan) send neither when creating.
    strict_profile_put: bool = False
    # 1.0.x readers get 2.0 statements unchanged (1.0.3 Communication 3.3); true strips the
    # properties 1.0.3 lacks, for clients that fail on them (README "xAPI 2.0").
    strip_2_0_properties: bool = False
    # Privacy (README "Pseudonymization"): on unless turned off explicitly.
    pseudonymize: bool = True
    key_file: str = "lrs-data/master.key"
    master_key: str = field(default="", repr=False)  # overrides key_file; never shown
    # Another LRS's keys of some tenants (`lrs keys import`), used instead of deriving them
    # from the master key: how an edge LRS pseudonymizes and seals as its central one does.
    tenant_keys_file: str = "lrs-data/tenant-keys.json"
    mask_allowed_extensions: tuple[str, ...] | None = None  # None keeps every extension
    mask_drop_fields: tuple[str, ...] = ()
    # `lrs serve` (README "Serving"): a client must send its request headers within
    # header_timeout seconds (also the idle time allowed between keep-alive requests), and
    # the body within body_timeout seconds after them; else the connection is closed.
    header_timeout: int = 10
    body_timeout: int = 60
    # Failed logins (README "Authentication"): past auth_failure_limit per key or client
    # address within auth_failure_window seconds, wrong secrets get 429.
    auth_failure_limit: int = 30
    auth_failure_window: int = 60
    # `lrs serve`: after a wrong secret, the connection waits this long before its next
    # request is read, so a client that waits for its answers cannot fail fast.
    auth_failure_delay_ms: int = 500
    # `lrs serve` on SQLite: when set, a worker folds the report facts that wait (storage.
    # sqlite.reports) once no statement was stored for this long; 0 (reads stay fast): only
    # before a report reads them and when a tenant's backlog grows past FOLD_BACKLOG.
    report_fold_quiet_ms: int = 0
    # A verified Authorization header is trusted this many seconds without re-reading its
    # credential; bounds how late a revocation made by another process takes effect.
    auth_cache_seconds: int = 2
    # Behind a reverse proxy every client has its address: count failures against the
    # last X-Forwarded-For hop instead. Off: a client could name any address there.
    trust_forwarded_for: bool = False
    # The dashboard (README "Dashboard"): how long a login lasts, and whether its cookie is
    # marked Secure even when the request reached the LRS over plain HTTP (behind a proxy
    # that terminates TLS); over HTTPS it always is.
    session_hours: int = 8
    secure_cookies: bool = False
    # Defaults of new tenants' policies (README "Tenants"), besides the privacy ones above.
    min_group_size: int = 10
    report_rounding: int = 1
    retention_days: int | None = None
    dimensions: tuple[tuple[str, str], ...] = ()
    notice_languages: tuple[str, ...] = ("en",)
    erasure_contact: str = ""
    refuse_erased: bool = False
    # Forwarding to a central LRS (`lrs sync run`, README "Offline schools"): where to, as
    # which credential (a file holding it), which tenant, how many statements per batch;
    # seconds between runs once everything is forwarded, and the back-off after failures
    # (doubling from sync_retry_initial up to sync_retry_max); seconds per HTTP request.
    sync_url: str = ""
    sync_credential_file: str = ""
    sync_tenant: str = "default"
    sync_batch_size: int = 500
    sync_interval: int = 60
    sync_retry_initial: int = 5
    sync_retry_max: int = 900
    sync_timeout: int = 60


def _as_int(key: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{key}: must be a positive integer")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}: must be a positive integer, got {value!r}") from None
    if number <= 0:
        raise ConfigError(f"{key}: must be a positive integer, got {number}")
    return number


def _as_count(key: str, value: Any) -> int:
    """A non-negative integer (0 turns the feature off)."""
    if isinstance(value, bool):
        raise ConfigError(f"{key}: must be a non-negative integer")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}: must be a non-negative integer, got {value!r}") from None
    if number < 0:
        raise ConfigError(f"{key}: must be a non-negative integer, got {number}")
    return number


def _as_str(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}: must be a non-empty string")
    return value.strip()


def _as_origins(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [part for part in re.split(r"[,\s]+", value) if part]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: must be a list of origins or a comma-separated string")
    origins = tuple(v.rstrip("/") for v in value)
    for origin in origins:
        if not _ORIGIN_RE.match(origin):
            raise ConfigError(f"{key}: {origin!r} is not an origin (scheme://host[:port] or *)")
    return origins


def _check_home_page(key: str, value: Any) -> str:
    text = _as_str(key, value).rstrip("/")
    if not re.match(r"^https?://[^\s/]+", text):
        raise ConfigError(f"{key}: must be an absolute http(s) URL")
    return text


def _as_url(key: str, value: Any) -> str:
    """An absolute http(s) URL without credentials, query or fragment ("" = not set)."""
    text = _as_text(key, value)
    if text and not re.match(r"^https?://[^\s/@?#]+(/[^\s?#]*)?$", text):
        raise ConfigError(
            f"{key}: must be an http(s) URL without credentials, query or fragment"
        )
    return text


def _check_version(key: str, value: Any) -> str:
    text = _as_str(key, value)
    if not _VERSION_RE.match(text):
        raise ConfigError(f"{key}: must be a full xAPI version such as 1.0.3")
    return text


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ConfigError(f"{key}: must be true or false")


def _as_secret(key: str, value: Any) -> str:
    """Key text ("" = not set). The value is a key: no message may repeat it."""
    if not isinstance(value, str):
        raise ConfigError(f"{key}: must be a string")
    return value.strip()


def _as_names(key: str, value: Any) -> tuple[str, ...]:
    """A list, or in the environment a comma- or space-separated string; an empty string is
    an empty list."""
    if isinstance(value, str):
        value = [part for part in re.split(r"[,\s]+", value) if part]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: must be a list of strings or a comma-separated string")
    return tuple(dict.fromkeys(value))


def _as_extension_iris(key: str, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    iris = _as_names(key, value)
    for iri in iris:
        if not is_iri(iri):
            raise ConfigError(f"{key}: {iri!r} is not an absolute IRI")
    return iris


def _as_drop_fields(key: str, value: Any) -> tuple[str, ...]:
    names = _as_names(key, value)
    unknown = sorted(set(names) - SUPPORTED_DROP_FIELDS)
    if unknown:
        raise ConfigError(
            f"{key}: unsupported {', '.join(unknown)}; supported: "
            f"{', '.join(sorted(SUPPORTED_DROP_FIELDS))}"
        )
    return names


def _as_optional_int(key: str, value: Any) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    return _as_int(key, value)


def _as_dimensions(key: str, value: Any) -> tuple[tuple[str, str], ...]:
    """`name=IRI` pairs: a mapping, a list of "name=IRI", or in the environment a
    comma-separated string. Names and IRIs are checked with the tenant policy."""
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, list | tuple) and all(
        isinstance(item, list | tuple) and len(item) == 2 for item in value
    ):
        pairs = [tuple(item) for item in value]
    else:
        pairs = []
        for item in _as_names(key, value):
            name, equals, iri = item.partition("=")
            if not equals:
                raise ConfigError(f"{key}: {item!r} is not name=IRI")
            pairs.append((name.strip(), iri.strip()))
    if not all(isinstance(n, str) and isinstance(i, str) for n, i in pairs):
        raise ConfigError(f"{key}: names and IRIs must be strings")
    return tuple(pairs)


def _as_text(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{key}: must be a string")
    return value.strip()


_CONVERTERS = {
    "storage_uri": _as_str,
    "max_body_bytes": _as_int,
    "statements_limit_max": _as_int,
    "cors_origins": _as_origins,
    "authority_home_page": _check_home_page,
    "version_fallback": _check_version,
    "strict_profile_put": _as_bool,
    "strip_2_0_properties": _as_bool,
    "pseudonymize": _as_bool,
    "key_file": _as_str,
    "master_key": _as_secret,
    "mask_allowed_extensions": _as_extension_iris,
    "mask_drop_fields": _as_drop_fields,
    "header_timeout": _as_int,
    "body_timeout": _as_int,
    "auth_failure_limit": _as_int,
    "auth_failure_window": _as_int,
    "auth_failure_delay_ms": _as_count,
    "report_fold_quiet_ms": _as_count,
    "auth_cache_seconds": _as_count,
    "trust_forwarded_for": _as_bool,
    "session_hours": _as_int,
    "secure_cookies": _as_bool,
    "min_group_size": _as_int,
    "report_rounding": _as_int,
    "retention_days": _as_optional_int,
    "dimensions": _as_dimensions,
    "notice_languages": _as_names,
    "erasure_contact": _as_text,
    "refuse_erased": _as_bool,
    "tenant_keys_file": _as_str,
    "sync_url": _as_url,
    "sync_credential_file": _as_text,
    "sync_tenant": _as_str,
    "sync_batch_size": _as_int,
    "sync_interval": _as_int,
    "sync_retry_initial": _as_int,
    "sync_retry_max": _as_int,
    "sync_timeout": _as_int,
}
KEYS = tuple(f.name for f in fields(Config))


def _read_file(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{CONFIG_FILE_VARIABLE}: cannot read {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode()) if path.suffix == ".toml" else json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{CONFIG_FILE_VARIABLE}: {path} is not valid: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{CONFIG_FILE_VARIABLE}: {path} must hold an object of settings")
    return data


def _merge(target: dict[str, Any], source: Mapping[str, Any], origin: str) -> None:
    for key, value in source.items():
        if key not in _CONVERTERS:
            raise ConfigError(f"{origin}: unknown setting {key!r} (known: {', '.join(KEYS)})")
        try:
            target[key] = _CONVERTERS[key](key, value)
        except ConfigError as exc:
            raise ConfigError(f"{origin}: {exc}") from None


def load_config(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Build the configuration from defaults, file, environment and `overrides`.

    `environ` is passed in (the factory gives `os.environ`) so loading stays testable.
    """
    environ = environ or {}
    values: dict[str, Any] = {}
    config_file = environ.get(CONFIG_FILE_VARIABLE)
    if config_file:
        _merge(values, _read_file(Path(config_file)), str(config_file))
    for key in KEYS:
        name = ENV_PREFIX + key.upper()
        if name in environ:
            _merge(values, {key: environ[name]}, f"environment variable {name}")
    if overrides:
        _merge(values, overrides, "configuration")
    return Config(**values)

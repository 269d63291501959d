"""The HTTP transport of edge forwarding (`lrs.service.forwarding.Transport`): the central
LRS's sync API (`lrs.sync`) over one keep-alive connection, with HTTP Basic credentials.

The central LRS is named by its xAPI base, as its clients know it
(`https://central.example.org/xapi/`); the sync API is beside it
(`https://central.example.org/sync/v1`), behind the same prefix when a proxy adds one.
Certificates are verified (the system's trust store); batches travel gzipped. Every
failure becomes a SyncFailedError saying what happened, never with the credential in it.
"""

from __future__ import annotations

import base64
import gzip
import http.client
import os
import ssl
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson

from lrs.service.errors import SyncFailedError, SyncRefusedError

SYNC_PATH = "/sync/v1"
_SHOWN_FIELDS = 5
# Answers about the content sent (bad input, a conflicting re-send, too large), which the
# same content would get again; any other (the credential, the server) is a failure to retry.
_REFUSED = frozenset((400, 409, 413))


def sync_endpoint(url: str) -> str:
    """The sync API's URL for a central LRS's xAPI base (or its root); ValueError for
    anything but an http(s) URL without credentials, query or fragment."""
    parts = urlsplit(url.strip())
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.query
        or parts.fragment
    ):
        raise ValueError(
            "the central LRS must be an http(s) URL without credentials, query or fragment"
        )
    path = parts.path.rstrip("/")
    if path.endswith("/xapi"):
        path = path[: -len("/xapi")]
    if not path.endswith(SYNC_PATH):
        path += SYNC_PATH
    return f"{parts.scheme}://{parts.netloc.lower()}{path}"


def load_credential(value: str) -> tuple[str, str]:
    """The (key, secret) of `--credential`: a file holding `key:secret` or the JSON that
    `lrs credentials create --json` prints (readable by its owner only), else the text
    `key:secret` itself. ValueError naming the rule, never the secret."""
    path = Path(value)
    text = value
    if path.is_file():
        mode = path.stat().st_mode
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ValueError(
                f"permissions {stat.S_IMODE(mode):04o} for credential file {path} are too "
                "open: it must be readable by its owner only (chmod 600)"
            )
        text = path.read_text(encoding="utf-8").strip()
        if text.startswith("{"):
            try:
                data = orjson.loads(text)
            except orjson.JSONDecodeError:
                data = None
            if not (
                isinstance(data, dict)
                and isinstance(data.get("key"), str)
                and isinstance(data.get("secret"), str)
            ):
                raise ValueError(f"credential file {path} must hold {{\"key\", \"secret\"}}")
            return data["key"], data["secret"]
    key, colon, secret = text.partition(":")
    if not colon or not key or not secret:
        raise ValueError("a credential is key:secret, or a file holding it")
    return key, secret


class HttpTransport:
    """The sync API of one central LRS over HTTP(S). Not thread-safe: one per forwarder.
    `batch_bytes` and `sent_bytes` count the batches' bytes before and after gzip (what a
    school's link carries), for `lrs sync` to report."""

    def __init__(self, url: str, key: str, secret: str, *, timeout: float = 60.0) -> None:
        self.target = sync_endpoint(url)
        parts = urlsplit(self.target)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._path = parts.path
        token = base64.b64encode(f"{key}:{secret}".encode()).decode("ascii")
        self._headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        self._timeout = timeout
        self._connection: http.client.HTTPConnection | None = None
        self.batch_bytes = self.sent_bytes = 0

    def __repr__(self) -> str:
        return f"HttpTransport({self.target!r})"

    def hello(self) -> Mapping[str, Any]:
        return self._call("GET", "/hello")

    def send(self, content_type: str, body: bytes) -> Mapping[str, Any]:
        """POST a batch gzipped (level 1: a few ms per batch; the links of the schools this
        is for are slow)."""
        packed = gzip.compress(body, 1)
        self.batch_bytes += len(body)
        self.sent_bytes += len(packed)
        return self._call("POST", "/statements", packed,
                          {"Content-Type": content_type, "Content-Encoding": "gzip"})

    def erasures(self, after: int, limit: int) -> Mapping[str, Any]:
        return self._call("GET", "/erasures?" + urlencode({"after": after, "limit": limit}))

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _call(
        self, method: str, path: str, body: bytes | None = None,
        entity: Mapping[str, str] | None = None,
    ) -> Mapping[str, Any]:
        """One request (`entity`: the body's headers); a kept-alive connection the server
        closed meanwhile is opened again once (every call here may be repeated: a batch sent
        twice is stored once)."""
        headers = {**self._headers, **(entity or {})}
        reused = self._connection is not None
        try:
            status, data = self._exchange(method, path, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            if not reused:
                raise self._unreachable(exc) from None
            try:
                status, data = self._exchange(method, path, body, headers)
            except (OSError, http.client.HTTPException) as again:
                raise self._unreachable(again) from None
        return _answer(self.target, status, data)

    def _exchange(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        try:
            connection = self._connect()
            connection.request(method, self._path + path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except BaseException:
            self.close()
            raise
        if (response.getheader("Connection") or "").lower() == "close":
            self.close()
        return response.status, data

    def _unreachable(self, exc: BaseException) -> SyncFailedError:
        return SyncFailedError(f"cannot reach the central LRS at {self.target}: {_reason(exc)}")

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            if self._https:
                self._connection = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self._timeout,
                    context=ssl.create_default_context(),
                )
            else:
                self._connection = http.client.HTTPConnection(
                    self._host, self._port, timeout=self._timeout
                )
        return self._connection


def _answer(target: str, status: int, data: bytes) -> Mapping[str, Any]:
    """The JSON object of a 200 answer; SyncFailedError with the service's error otherwise
    (SyncRefusedError when it refuses the content: `_REFUSED`)."""
    try:
        parsed = orjson.loads(data) if data else None
    except orjson.JSONDecodeError:
        parsed = None
    if status == 200 and isinstance(parsed, dict):
        return parsed
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, dict):
        raise SyncFailedError(f"the central LRS at {target} answered {status}")
    given = error.get("fields")
    fields: dict[str, Any] = given if isinstance(given, dict) else {}
    shown = "; ".join(
        f"{path}: {', '.join(map(str, rules)) if isinstance(rules, list) else rules}"
        for path, rules in list(fields.items())[:_SHOWN_FIELDS]
    )
    more = f" (+{len(fields) - _SHOWN_FIELDS} more)" if len(fields) > _SHOWN_FIELDS else ""
    failure = SyncRefusedError if status in _REFUSED else SyncFailedError
    raise failure(
        f"the central LRS answered {status} {error.get('code')}: {error.get('message')}"
        + (f" [{shown}{more}]" if shown else ""),
        code=str(error.get("code")),
    )


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 200 else text[:200] + "..."

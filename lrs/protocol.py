"""xAPI rules that hold for every resource: version header, alternate request syntax,
CORS, authorization, parameters and JSON bodies (Communication 1.2, 1.3, 1.5, 3.3).

The version is negotiated per request (xapi-2.0-notes.md section 1): a `1.0` / `1.0.x`
header gets the 1.0.3 rules and `X-Experience-API-Version: 1.0.3`, a `2.0` / `2.0.x` header
the 2.0 rules and `2.0.0`. Views pass `xapi_version()` to the service core.

Alternate request syntax (Communication 1.3) is undone in a WSGI middleware before routing:
a `POST ?method=PUT` with a form body becomes the PUT it stands for (form header fields
become headers, `content` the body, other fields the query string), so every blueprint, HEAD
handling and the request helpers below see an ordinary request.
"""

from __future__ import annotations

import dataclasses
import io
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode

import orjson
from flask import Flask, Response, current_app, g, request

from lrs.config import Config
from lrs.errors import ApiError, bad_request
from lrs.extension import lrs_extension
from lrs.service.principal import Principal
from statements import XAPI_VERSIONS, negotiate_version, version_family

XAPI_PREFIX = "/xapi"
_ALTERNATE_METHODS = frozenset({"GET", "HEAD", "PUT", "POST", "DELETE"})
# Form fields that stand for headers (Communication 1.3), by lower-case name -> WSGI key.
_FORM_HEADERS = {
    "authorization": "HTTP_AUTHORIZATION",
    "x-experience-api-version": "HTTP_X_EXPERIENCE_API_VERSION",
    "content-type": "CONTENT_TYPE",
    "content-length": None,  # recomputed from `content`
    "if-match": "HTTP_IF_MATCH",
    "if-none-match": "HTTP_IF_NONE_MATCH",
}
_ERROR_KEY = "lrs.request_error"
# Set by the middleware to the method an alternate-syntax request stood for.
_ALTERNATE_KEY = "lrs.alternate_syntax"
# Set in the WSGI environ of a request refused for wrong credentials: `lrs serve` then
# waits `auth_failure_delay_ms` before reading the next request on that connection.
LOGIN_FAILED = "lrs.login_failed"
ALLOWED_HEADERS = (
    "Authorization, Content-Type, X-Experience-API-Version, If-Match, If-None-Match, "
    "Accept-Language"
)
EXPOSED_HEADERS = (
    "X-Experience-API-Version, X-Experience-API-Consistent-Through, ETag, Last-Modified, "
    "Content-Type, Content-Length, X-Request-Id"
)
ALLOWED_METHODS = "GET, HEAD, PUT, POST, DELETE, OPTIONS"

F = TypeVar("F", bound=Callable[..., Any])


class AlternateSyntaxMiddleware:
    """Rewrites an alternate-syntax request (Communication 1.3) into the request it encodes."""

    def __init__(self, app: Callable[..., Any], max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        try:
            if environ.get("wsgi.input_terminated") and "chunked" in environ.get(
                "HTTP_TRANSFER_ENCODING", ""
            ).lower():
                self._buffer_chunked(environ)
            query = environ.get("QUERY_STRING", "")
            if "method" in query:
                pairs = parse_qsl(query, keep_blank_values=True)
                if any(name == "method" for name, _ in pairs):
                    self._rewrite(environ, pairs)
        except ApiError as exc:
            environ[_ERROR_KEY] = exc
        if environ.get(_ALTERNATE_KEY) == "HEAD":
            return _bodiless_post(self.app, environ, start_response)
        return self.app(environ, start_response)

    def _buffer_chunked(self, environ: dict[str, Any]) -> None:
        """Read a chunked body up to the limit: 413 past it. Werkzeug stops reading such a
        body (it ignores Content-Length then) at MAX_CONTENT_LENGTH without an error, so a
        document would be stored cut short and a statement batch refused as broken JSON."""
        stream, wanted = environ["wsgi.input"], self.max_body_bytes + 1
        body = bytearray()
        try:
            while len(body) < wanted:  # a stream may return fewer bytes than asked
                chunk = stream.read(wanted - len(body))
                if not chunk:
                    break
                body += chunk
        except OSError:
            raise bad_request("the request body could not be read") from None
        if len(body) > self.max_body_bytes:
            raise ApiError(413, "the request body is larger than this LRS accepts")
        environ["wsgi.input"] = io.BytesIO(bytes(body))
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)

    def _rewrite(self, environ: dict[str, Any], query: list[tuple[str, str]]) -> None:
        if environ.get("REQUEST_METHOD") != "POST":
            raise bad_request("the method parameter is only allowed on POST", field="method")
        if len(query) != 1:
            raise bad_request(
                "alternate request syntax: every parameter but method goes in the form body",
                field="method",
            )
        method = query[0][1].upper()
        if method not in _ALTERNATE_METHODS:
            raise bad_request(f"unsupported method {query[0][1]!r}", field="method")
        mimetype = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if mimetype != "application/x-www-form-urlencoded":
            raise bad_request(
                "alternate request syntax needs Content-Type application/x-www-form-urlencoded"
            )
        form = self._read_form(environ)
        params: list[tuple[str, str]] = []
        content = b""
        environ.pop("CONTENT_TYPE", None)
        for name, value in form:
            lowered = name.lower()
            if name == "content":
                content = value.encode("utf-8")
                # Content without a Content-Type field is JSON: clients (the 1.0.3
                # conformance suite among them) send statements that way.
                environ.setdefault("CONTENT_TYPE", "application/json")
            elif lowered in _FORM_HEADERS:
                wsgi_key = _FORM_HEADERS[lowered]
                if wsgi_key:
                    environ[wsgi_key] = value
            else:
                params.append((name, value))
        environ["REQUEST_METHOD"] = method
        environ["QUERY_STRING"] = urlencode(params)
        environ["CONTENT_LENGTH"] = str(len(content))
        environ["wsgi.input"] = io.BytesIO(content)
        environ[_ALTERNATE_KEY] = method

    def _read_form(self, environ: dict[str, Any]) -> list[tuple[str, str]]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            raise bad_request("invalid Content-Length")
        if length > self.max_body_bytes:
            raise ApiError(413, "the request body is larger than this LRS accepts")
        # A chunked body has its Content-Length by now (`_buffer_chunked`).
        body = environ["wsgi.input"].read(length) if length else b""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise bad_request("the form body is not UTF-8 (Communication 1.4)") from None
        form = parse_qsl(text, keep_blank_values=True)
        names = [name for name, _ in form]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise bad_request(
                f"form parameter given more than once: {', '.join(duplicates)}",
                field=duplicates[0],
            )
        return form


def _bodiless_post(
    app: Callable[..., Any], environ: dict[str, Any], start_response: Callable[..., Any]
) -> list[bytes]:
    """Answer an alternate-syntax HEAD as HEAD would, without a body, but framed for the
    POST it is on the wire (RFC 9112 6.3): `Content-Length: 0`. The app answers it as a
    HEAD and keeps the GET's Content-Length; the server frames by the wire method, so that
    length would make the client read the next response on the connection as this body."""

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        if status[:3] not in ("204", "304"):  # RFC 9110 8.6: no Content-Length on a 204
            headers.append(("Content-Length", "0"))
        return start_response(status, headers, exc_info)

    body = app(environ, start)
    try:
        for _ in body:  # run the app to the end (a WSGI app may answer lazily)
            pass
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return []


def version_exempt(view: F) -> F:
    """Mark a view that answers without an X-Experience-API-Version header (About)."""
    view._xapi_version_exempt = True  # type: ignore[attr-defined]
    return view


def _is_version_exempt() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "_xapi_version_exempt", False))


def is_xapi_request() -> bool:
    """Whether the request is for the xAPI (under XAPI_PREFIX), whose protocol rules apply;
    the admin API, the privacy pages, partner exports and the dashboard are plain HTTP."""
    path = request.path
    return path == XAPI_PREFIX or path.startswith(XAPI_PREFIX + "/")


def _before_request() -> Response | None:
    g.request_id = uuid.uuid4().hex
    header = request.headers.get("X-Experience-API-Version")
    # Every 1.0.x request follows the 1.0.3 rules (Communication 3.3), every 2.0.x one the
    # 2.0 rules; known first, so that even an error answer carries the request's version.
    version = negotiate_version(header)
    if version is not None:
        g.xapi_version = version
    error = request.environ.get(_ERROR_KEY)
    if error is not None:
        raise error
    if not is_xapi_request():
        return None
    if request.method == "OPTIONS":
        return _preflight()
    if version is None and not _is_version_exempt():
        message = (
            "X-Experience-API-Version header is required"
            if header is None
            else f"unsupported X-Experience-API-Version {header!r}; this LRS speaks "
            + " and ".join(f"{known[:3]}.x" for known in XAPI_VERSIONS)
        )
        raise bad_request(message, field="X-Experience-API-Version", code="bad_version")
    if (
        version is not None
        and version_family(version) == "2.0"
        and _ALTERNATE_KEY in request.environ
    ):
        # 9274.1.1 removed the alternate request syntax (xapi-2.0-notes.md section 8).
        raise bad_request(
            "alternate request syntax (the method parameter) is not part of xAPI 2.0",
            field="method",
        )
    return None


def _preflight() -> Response:
    response = Response(status=204)
    response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
    response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
    response.headers["Access-Control-Max-Age"] = "86400"
    return response


def _after_request(response: Response) -> Response:
    response.headers["X-Request-Id"] = g.get("request_id", "")
    if not is_xapi_request():
        return response
    config = lrs_extension().config
    response.headers["X-Experience-API-Version"] = (
        g.get("xapi_version") or config.version_fallback
    )
    origin = request.headers.get("Origin")
    if origin:
        allowed = config.cors_origins
        if "*" in allowed:
            response.headers["Access-Control-Allow-Origin"] = "*"
        elif origin.rstrip("/") in allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.vary.add("Origin")
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return response


def init_app(app: Flask, *, max_body_bytes: int) -> None:
    app.wsgi_app = AlternateSyntaxMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, max_body_bytes
    )
    app.before_request(_before_request)
    app.after_request(_after_request)


# --- helpers for views -----------------------------------------------------------------


def requested_version() -> str | None:
    """The version a request's header negotiated, None without a usable header (only a
    version-exempt view sees that)."""
    version: str | None = g.get("xapi_version")
    return version


def xapi_version() -> str:
    """The xAPI version whose rules apply to this request (`1.0.3` or `2.0.0`), passed to
    the service core; 1.0.3 on a view that needs no version header."""
    return requested_version() or XAPI_VERSIONS[0]


def authorize(allowed: Iterable[str]) -> Principal:
    """The authenticated principal if it holds one of `allowed` scopes: else 401 / 403."""
    extension = lrs_extension()
    authorization = request.headers.get("Authorization")
    try:
        principal = extension.authenticator.authenticate(
            authorization, client=_client_address(extension.config)
        )
    except ApiError:
        if authorization:  # wrong credentials; not a browser's first, credential-less try
            request.environ[LOGIN_FAILED] = True
        raise
    principal.require(allowed)  # 403 before a body is read
    principal = dataclasses.replace(principal, request_id=g.get("request_id", ""))
    g.principal = principal
    return principal


def _client_address(config: Config) -> str | None:
    """Whom to count failed logins against: the peer, or behind a trusted reverse proxy
    (`trust_forwarded_for`) the address that proxy appended to X-Forwarded-For, the last
    one (the others were written by the client and prove nothing)."""
    if config.trust_forwarded_for:
        hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
        if hops[-1]:
            return hops[-1]
    return request.remote_addr


def query_params(allowed: Iterable[str] | None = None) -> dict[str, str]:
    """The query parameters as single strings; 400 for a repeated one, or one not in
    `allowed` when given (Communication 3.2: unrecognized parameters, including case
    variants, are rejected)."""
    params = request.args.to_dict(flat=False)
    known = None if allowed is None else frozenset(allowed)
    for name, values in params.items():
        if len(values) > 1:
            raise bad_request(f"parameter {name} given more than once", field=name)
        if known is not None and name not in known:
            raise bad_request(f"unknown parameter {name}", field=name)
    return {name: values[0] for name, values in params.items()}


def json_body() -> Any:
    """The request body parsed as JSON; 400 unless it is application/json (Communication 1.5)."""
    if request.mimetype != "application/json":
        raise bad_request(
            "Content-Type must be application/json", field="Content-Type",
            code="unsupported_content_type",
        )
    data = request.get_data(cache=False)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"the body is not valid JSON: {exc}", code="invalid_json") from None


def stored_content(response: Response) -> Response:
    """Mark a response carrying content clients stored (documents, attachment data) so that a
    browser never runs it as a page of the LRS's origin: no MIME sniffing, and a sandbox
    with no scripts, forms or same-origin access should it be opened anyway."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    return response


def iso_now() -> str:
    """Now in ISO 8601 UTC, for X-Experience-API-Consistent-Through."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")

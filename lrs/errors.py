"""Every error the service returns, in one JSON shape.

    {"error": {"code": "...", "message": "...", "fields": {"json.path": ["rule", ...]}}}

Library errors (the service core's, statements', storage's) are mapped to their xAPI status
here and nowhere else (Communication 3.2). Unexpected exceptions become a bare 500: never a
stack trace, never a secret, in a response.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping

import orjson
from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from lrs.service.errors import (
    ForbiddenError,
    IdentityVaultError,
    InvalidRequestError,
    NotFoundError,
    RequestConflictError,
    ServiceError,
)
from statements import StatementError
from storage.errors import (
    ConflictError,
    DocumentMergeError,
    PreconditionFailedError,
    StorageError,
    UnavailableError,
)

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    415: "unsupported_media_type",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error the service answers with `status`; raised by views and request helpers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        fields: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _HTTP_CODES.get(status, "error")
        self.fields = dict(fields or {})
        self.headers = dict(headers or {})


def bad_request(message: str, *, field: str | None = None, code: str = "bad_request") -> ApiError:
    """A 400 naming the offending parameter or header when there is one."""
    return ApiError(400, message, code=code, fields={field: [message]} if field else None)


def error_response(error: ApiError) -> Response:
    body: dict[str, object] = {"code": error.code, "message": error.message}
    if error.fields:
        body["fields"] = error.fields
    response = Response(
        orjson.dumps({"error": body}), status=error.status, mimetype="application/json"
    )
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


def _from_statement_error(exc: StatementError) -> Response:
    message = "the request is not valid xAPI" if exc.code == "invalid_statement" else (
        "invalid query parameters"
    )
    return error_response(ApiError(400, message, code=exc.code, fields=exc.errors))


def _from_storage_error(exc: StorageError) -> Response:
    if isinstance(exc, DocumentMergeError):
        error = ApiError(400, str(exc), code="invalid_document")
    elif isinstance(exc, ConflictError):
        error = ApiError(409, str(exc), code="conflict")
    elif isinstance(exc, PreconditionFailedError):
        error = ApiError(412, str(exc), code="precondition_failed")
    elif isinstance(exc, UnavailableError):
        log.error("storage unavailable: %s", exc)
        error = ApiError(503, "the store is unavailable", code="unavailable")
    else:
        log.error("storage error: %s", exc)
        error = ApiError(500, "internal error", code="internal_error")
    return error_response(error)


_SERVICE_STATUS: tuple[tuple[type[ServiceError], int], ...] = (
    (InvalidRequestError, 400),
    (ForbiddenError, 403),
    (NotFoundError, 404),
    (RequestConflictError, 409),
    (IdentityVaultError, 500),
)


def _from_service_error(exc: ServiceError) -> Response:
    status = next((code for kind, code in _SERVICE_STATUS if isinstance(exc, kind)), 500)
    if status >= 500:
        log.error("service error %s", exc.code)
    return error_response(ApiError(status, exc.message, code=exc.code, fields=exc.fields))


def _from_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    message = {
        404: "no such resource",
        405: "method not allowed on this resource",
        413: "the request body is larger than this LRS accepts",
    }.get(status, exc.description or exc.name)
    response = error_response(ApiError(status, message))
    if status == 405 and exc.response is None and hasattr(exc, "valid_methods"):
        response.headers["Allow"] = ", ".join(exc.valid_methods or ())
    return response


def _from_unexpected(exc: Exception) -> Response:
    log.error("unexpected error\n%s", redacted_traceback(exc))
    return error_response(ApiError(500, "internal error", code="internal_error"))


def redacted_traceback(exc: BaseException) -> str:
    """The traceback of `exc` and the exceptions it was raised from, each message left
    out: a message may quote a value (a statement, an e-mail address, a key), and logs
    must hold none. Frames show code and line numbers only."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    lines: list[str] = []
    for item in reversed(chain):
        if lines:
            lines.append("\nwhile handling it, this was raised:\n")
        lines.append("Traceback (most recent call last):\n")
        lines.extend(traceback.format_tb(item.__traceback__))
        kind = type(item)
        lines.append(f"{kind.__module__}.{kind.__qualname__} (message withheld)\n")
    return "".join(lines).rstrip("\n")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, error_response)
    app.register_error_handler(ServiceError, _from_service_error)
    app.register_error_handler(StatementError, _from_statement_error)
    app.register_error_handler(StorageError, _from_storage_error)
    app.register_error_handler(HTTPException, _from_http_exception)
    app.register_error_handler(Exception, _from_unexpected)

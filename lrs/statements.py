"""The Statement resource over HTTP (Communication 2.1): parse the request, call the service
core (`lrs.service.statements`), render its answer.

A StatementResult in `exact` format is built by concatenating the stored statements' bytes,
never re-encoding them. `more` is a relative IRL (`<prefix>/statements/more/<token>`) whose
token the service wrote. PUT and POST take application/json, or multipart/mixed with the
attachment data (Communication 1.5.2); GET with `attachments=true` answers multipart/mixed.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Blueprint, Response, request
from werkzeug.http import http_date

from lrs.errors import bad_request
from lrs.extension import service
from lrs.protocol import (
    authorize,
    iso_now,
    json_body,
    query_params,
    stored_content,
    xapi_version,
)
from lrs.service.principal import STATEMENT_READ_SCOPES, STATEMENT_WRITE_SCOPES
from lrs.service.statements import StatementPage, parse_statement_id
from statements import (
    AttachmentPart,
    build_multipart,
    parse_accept_language,
    parse_statement_parts,
    parse_timestamp,
)

bp = Blueprint("statements", __name__)

MORE_PATH = "/statements/more/"


@bp.after_request
def _consistent_through(response: Response) -> Response:
    """Every Statement resource response carries X-Experience-API-Consistent-Through
    (Communication 2.1.3): writes commit before they are answered, so "now" is safe."""
    response.headers["X-Experience-API-Consistent-Through"] = iso_now()
    return response


def _statements_body() -> tuple[Any, list[AttachmentPart]]:
    """The parsed statements and any attachment parts: a multipart/mixed body's first part
    is the statements JSON (Communication 1.5.2), else the body is (`json_body`)."""
    if request.mimetype != "multipart/mixed":
        return json_body(), []
    first, parts = parse_statement_parts(request.get_data(cache=False), request.content_type or "")
    try:
        return orjson.loads(first), parts
    except orjson.JSONDecodeError as exc:
        raise bad_request(
            f"the statements part is not valid JSON: {exc}", code="invalid_json"
        ) from None


@bp.put("/statements")
def put_statement() -> Response:
    """Store one statement under the given id: 204 (Communication 2.1.1)."""
    principal = authorize(STATEMENT_WRITE_SCOPES)
    statement_id = parse_statement_id(
        query_params(allowed=("statementId",)).get("statementId"), "statementId"
    )
    body, parts = _statements_body()
    service().put_statement(principal, statement_id, body, parts, version=xapi_version())
    return Response(status=204)


@bp.post("/statements")
def post_statements() -> Response:
    """Store one statement or a batch, all or none: 200 with the ids in order
    (Communication 2.1.2)."""
    principal = authorize(STATEMENT_WRITE_SCOPES)
    query_params(allowed=())
    body, parts = _statements_body()
    ids = service().post_statements(principal, body, parts, version=xapi_version())
    return Response(orjson.dumps(ids), mimetype="application/json")


@bp.get("/statements")
def get_statements() -> Response:
    """A single statement or a StatementResult (Communication 2.1.3). HEAD too (1.1)."""
    principal = authorize(STATEMENT_READ_SCOPES)
    page = service().read_statements(
        principal, query_params(), languages=_languages(), version=xapi_version()
    )
    return _respond(page)


@bp.get("/statements/more/<token>")
def get_more_statements(token: str) -> Response:
    """The next page of a StatementResult, from the `more` IRL."""
    principal = authorize(STATEMENT_READ_SCOPES)
    query_params(allowed=())
    page = service().read_statements(
        principal, {}, more=token, languages=_languages(), version=xapi_version()
    )
    return _respond(page)


def _languages() -> list[str]:
    return parse_accept_language(request.headers.get("Accept-Language"))


def _respond(page: StatementPage) -> Response:
    if page.single:
        [body] = page.statements
    else:
        more = b""
        if page.more:
            more = (request.script_root + _prefix() + MORE_PATH + page.more).encode()
        body = b'{"statements":[' + b",".join(page.statements) + b'],"more":"' + more + b'"}'
    if page.attachments is not None:
        # Communication 2.1.3 attachments=true: multipart/mixed, the statements first, then
        # the data of their attachments (Communication 1.5.2).
        content_type, body = build_multipart(body, page.attachments)
        response = stored_content(Response(body, content_type=content_type))
    else:
        response = Response(body, mimetype="application/json")
    stored = page.last_stored
    response.headers["Last-Modified"] = http_date(parse_timestamp(stored) if stored else None)
    return response


def _prefix() -> str:
    """The URL prefix this blueprint is mounted under (e.g. /xapi)."""
    rule = request.url_rule
    path = rule.rule if rule is not None else ""
    return path[: path.index("/statements")] if "/statements" in path else ""

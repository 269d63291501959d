"""The Statement resource (Communication 2.1): PUT, POST, GET single and GET list.

Stored statements are returned as the bytes the store holds: a StatementResult in `exact`
format is built by concatenating them, never re-encoded. `more` is a relative IRL holding
the query and a keyset cursor (stored, id), so paging stays correct while clients write.

Pseudonymization (`lrs.privacy`) has two seams: every statement write goes through
`_store_statements`, every `agent` query parameter through `_statement_filter`; only a
`reidentify` reader gets original agents back (`_readable`).

PUT and POST take application/json, or multipart/mixed with attachment data (Communication
1.5.2); the data is matched to the attachment objects and signatures are checked (Data 2.6)
before anything is written, and stored by sha2 apart from the statements.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from flask import Blueprint, Response, request
from werkzeug.http import http_date

from lrs.activities import DEFINE_SCOPES, canonical_definitions, with_canonical_definitions
from lrs.auth import REIDENTIFY, STATEMENT_READ_SCOPES, STATEMENT_WRITE_SCOPES, Principal
from lrs.errors import ApiError, bad_request
from lrs.protocol import authorize, iso_now, json_body, query_params, xapi_version
from lrs.state import lrs_state
from statements import (
    AttachmentData,
    AttachmentPart,
    attachment_hashes,
    build_multipart,
    match_attachments,
    parse_statement_parts,
    validate_statements,
)
from statements.formatting import format_canonical, format_ids, parse_accept_language
from statements.query import StatementQuery, parse_statement_query
from statements.timestamps import parse_timestamp
from storage.base import StatementFilter, StoredStatement
from storage.ingest import store_statements

bp = Blueprint("statements", __name__)

MORE_PATH = "/statements/more/"
_UUID_HEX = frozenset("0123456789abcdef")


@bp.after_request
def _consistent_through(response: Response) -> Response:
    """Every Statement resource response carries X-Experience-API-Consistent-Through
    (Communication 2.1.3): writes commit before they are answered, so "now" is safe."""
    response.headers["X-Experience-API-Consistent-Through"] = iso_now()
    return response


# --- writes ----------------------------------------------------------------------------


def _store_statements(
    principal: Principal, statements: list[dict[str, Any]], attachments: AttachmentData
) -> list[str]:
    """The only write path of statements: pseudonymized and masked here (`lrs.privacy`),
    which refuses signed statements while pseudonymization is on (their signature data holds
    the statement with identities in clear). `attachments` is the matched data by sha2."""
    state = lrs_state()
    for statement in statements:
        if "id" not in statement:
            # The vault entry is bound to the id, so it is assigned before pseudonymizing.
            statement["id"] = str(uuid.uuid4())
    prepared = state.privacy.prepare(principal.tenant, statements)
    ids = store_statements(
        state.store,
        principal.tenant,
        prepared.statements,
        authority=principal.authority,
        writer=principal.key,
        attachments=attachments,
        sealed=prepared.sealed,
        identities=prepared.identities,
        define_activities=principal.allows(DEFINE_SCOPES),
    )
    state.privacy.remember(prepared)
    return ids


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


def _statement_id_param(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if value is None:
        raise bad_request(f"{name} parameter is required", field=name)
    canonical = value.lower()
    if (
        len(canonical) != 36
        or [i for i, c in enumerate(canonical) if c == "-"] != [8, 13, 18, 23]
        or not set(canonical.replace("-", "")) <= _UUID_HEX
    ):
        raise bad_request(f"{name} must be a UUID", field=name)
    return canonical


@bp.put("/statements")
def put_statement() -> Response:
    """Store one statement under the given id: 204 (Communication 2.1.1)."""
    principal = authorize(STATEMENT_WRITE_SCOPES)
    statement_id = _statement_id_param(query_params(allowed=("statementId",)), "statementId")
    body, parts = _statements_body()
    if not isinstance(body, dict):
        raise bad_request("PUT takes a single statement object", code="invalid_statement")
    [statement] = validate_statements(body, version=xapi_version())
    sent_id = statement.get("id")
    if sent_id is None:
        statement["id"] = statement_id
    elif not isinstance(sent_id, str) or sent_id.lower() != statement_id:
        raise ApiError(
            400,
            "the statement id does not match the statementId parameter",
            code="invalid_statement",
            fields={"id": ["must match the statementId parameter"]},
        )
    data = match_attachments([statement], parts, batch=False, version=xapi_version())
    _store_statements(principal, [statement], data)
    return Response(status=204)


@bp.post("/statements")
def post_statements() -> Response:
    """Store one statement or a batch, all or none: 200 with the ids in order
    (Communication 2.1.2)."""
    principal = authorize(STATEMENT_WRITE_SCOPES)
    query_params(allowed=())
    body, parts = _statements_body()
    version = xapi_version()
    statements = validate_statements(body, version=version)
    data = match_attachments(statements, parts, batch=type(body) is list, version=version)
    ids = _store_statements(principal, statements, data)
    return Response(orjson.dumps(ids), mimetype="application/json")


# --- reads -----------------------------------------------------------------------------


def _statement_filter(
    query: StatementQuery, principal: Principal, after: tuple[str, str] | None
) -> StatementFilter:
    """The storage filter for a query: the only place an `agent` parameter is read."""
    return StatementFilter(
        agent=(
            lrs_state().privacy.agent_key(principal.tenant, query.agent)
            if query.agent is not None
            else None
        ),
        verb=query.verb,
        activity=query.activity,
        registration=query.registration,
        related_agents=query.related_agents,
        related_activities=query.related_activities,
        since=query.since,
        until=query.until,
        ascending=query.ascending,
        writer=principal.key if principal.reads_only_own else None,
        after=after,
    )


def _readable(row: StoredStatement, principal: Principal) -> bytes:
    """The stored statement, with its original agents only for a `reidentify` reader."""
    if row.sealed is None or REIDENTIFY not in principal.scopes:
        return row.statement
    return lrs_state().privacy.reveal(principal.tenant, row)


def _render(raws: list[bytes], query: StatementQuery, tenant: str) -> list[bytes]:
    """Stored statements in the asked format; `exact` is the stored bytes untouched.
    `canonical` puts in the LRS's canonical Activity definitions (one read for all), then
    filters every language map by Accept-Language (Communication 2.1.3)."""
    if query.format == "exact":
        return raws
    statements = [orjson.loads(raw) for raw in raws]
    if query.format == "ids":
        return [orjson.dumps(format_ids(statement)) for statement in statements]
    languages = parse_accept_language(request.headers.get("Accept-Language"))
    definitions = canonical_definitions(tenant, statements)
    return [
        orjson.dumps(
            format_canonical(with_canonical_definitions(statement, definitions), languages)
        )
        for statement in statements
    ]


def _last_modified(stored: str) -> str:
    return http_date(parse_timestamp(stored))


def _attachment_data(tenant: str, raws: Iterable[bytes]) -> AttachmentData:
    """The stored data of every attachment of these statements, once per sha2, in order of
    first reference; attachments known only by fileUrl have none and are left out."""
    hashes: dict[str, None] = {}
    for raw in raws:
        if b'"attachments"' in raw:
            hashes.update(dict.fromkeys(attachment_hashes(orjson.loads(raw))))
    if not hashes:
        return {}
    stored = lrs_state().store.get_attachments(tenant, list(hashes))
    return {sha2: stored[sha2] for sha2 in hashes if sha2 in stored}


def _respond(
    body: bytes,
    query: StatementQuery,
    last_modified: str,
    tenant: str,
    raws: Iterable[bytes],
) -> Response:
    if query.attachments:
        # Communication 2.1.3 attachments=true: multipart/mixed, the statements first, then
        # the data of their attachments (Communication 1.5.2).
        content_type, body = build_multipart(body, _attachment_data(tenant, raws))
        response = Response(body, content_type=content_type)
    else:
        response = Response(body, mimetype="application/json")
    response.headers["Last-Modified"] = last_modified
    return response


def _get_single(query: StatementQuery, principal: Principal) -> Response:
    """statementId / voidedStatementId (Communication 2.1.3, 2.1.4): 404 for an unknown id,
    for a voided statement asked by statementId, and a live one asked by voidedStatementId."""
    wanted = query.statement_id or query.voided_statement_id
    assert wanted is not None
    found = lrs_state().store.get_statements(principal.tenant, [wanted]).get(wanted)
    if (
        found is None
        or found.voided != (query.voided_statement_id is not None)
        or (principal.reads_only_own and found.writer != principal.key)
    ):
        raise ApiError(404, "no such statement", code="not_found")
    [body] = _render([_readable(found, principal)], query, principal.tenant)
    return _respond(
        body, query, _last_modified(found.stored), principal.tenant, [found.statement],
    )


def _encode_more(
    params: Mapping[str, str], query: StatementQuery, tenant: str, last: StoredStatement
) -> str:
    """The `more` token: the query and the keyset cursor. An `agent` goes in as its pseudonym,
    so the raw identifier never travels in a URL that proxies may log; reading the token
    maps the pseudonym to itself."""
    params = dict(params)
    if query.agent is not None:
        stored = lrs_state().privacy.stored_agent(tenant, query.agent)
        params["agent"] = orjson.dumps(stored).decode()
    payload = orjson.dumps({"q": params, "after": [last.stored, last.id]})
    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode()


def _decode_more(token: str) -> tuple[dict[str, str], tuple[str, str]]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        params, (stored, last_id) = data["q"], data["after"]
        if not (
            isinstance(params, dict)
            and all(isinstance(v, str) for v in params.values())
            and isinstance(stored, str)
            and isinstance(last_id, str)
        ):
            raise ValueError
    except (ValueError, TypeError, KeyError, binascii.Error, orjson.JSONDecodeError):
        raise ApiError(404, "no such page of statements", code="not_found") from None
    return params, (stored, last_id)


def _get_list(
    params: Mapping[str, str], principal: Principal, after: tuple[str, str] | None
) -> Response:
    query = parse_statement_query(params)
    if query.is_single:
        return _get_single(query, principal)
    state = lrs_state()
    server_max = state.config.statements_limit_max
    limit = min(query.limit or server_max, server_max)
    rows = state.store.query_statements(
        principal.tenant, _statement_filter(query, principal, after), limit + 1
    )
    more = b""
    if len(rows) > limit:
        rows = rows[:limit]
        more = (request.script_root + bp_prefix() + MORE_PATH).encode() + _encode_more(
            params, query, principal.tenant, rows[-1]
        ).encode()
    body = (
        b'{"statements":['
        + b",".join(_render([_readable(row, principal) for row in rows], query, principal.tenant))
        + b'],"more":"'
        + more
        + b'"}'
    )
    newest = max((row.stored for row in rows), default=None)
    last_modified = _last_modified(newest) if newest else http_date(None)
    return _respond(
        body, query, last_modified, principal.tenant, (row.statement for row in rows)
    )


def bp_prefix() -> str:
    """The URL prefix this blueprint is mounted under (e.g. /xapi)."""
    rule = request.url_rule
    path = rule.rule if rule is not None else ""
    return path[: path.index("/statements")] if "/statements" in path else ""


@bp.get("/statements")
def get_statements() -> Response:
    """A single statement or a StatementResult (Communication 2.1.3). HEAD too (1.1)."""
    principal = authorize(STATEMENT_READ_SCOPES)
    return _get_list(query_params(), principal, None)


@bp.get("/statements/more/<token>")
def get_more_statements(token: str) -> Response:
    """The next page of a StatementResult, from the `more` IRL."""
    principal = authorize(STATEMENT_READ_SCOPES)
    query_params(allowed=())
    params, after = _decode_more(token)
    return _get_list(params, principal, after)

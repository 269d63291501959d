"""The document resources: State, Activity Profile and Agent Profile (Communication 2.2 to
2.7), with ETag concurrency control (Communication 3.1).

Documents are stored and returned byte for byte with the Content-Type they were sent with.
Every `agent` parameter is read through `_agent_key`, where it is pseudonymized
(`lrs.privacy`); the store only ever sees the key of the agent's pseudonym, never the agent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from flask import Blueprint, Response, request
from werkzeug.http import http_date

from lrs.auth import (
    PROFILE_READ_SCOPES,
    PROFILE_WRITE_SCOPES,
    STATE_READ_SCOPES,
    STATE_WRITE_SCOPES,
    Principal,
)
from lrs.errors import ApiError, bad_request
from lrs.protocol import authorize, query_params
from lrs.state import lrs_state
from statements import StatementError, validate_agent
from statements.formats import IRI_ERROR, TIMESTAMP_ERROR, UUID_ERROR, is_iri, is_uuid
from statements.timestamps import parse_timestamp, stored_timestamp
from storage.base import ACTIVITY_PROFILE, AGENT_PROFILE, STATE, Document, DocumentScope

bp = Blueprint("documents", __name__)

DEFAULT_CONTENT_TYPE = "application/octet-stream"
_DOCUMENT_METHODS = ("GET", "PUT", "POST", "DELETE")


@dataclass(frozen=True, slots=True)
class _Resource:
    """What distinguishes the three document resources."""

    name: str
    id_param: str
    activity: bool
    agent: bool
    registration: bool
    read_scopes: tuple[str, ...]
    write_scopes: tuple[str, ...]
    # Communication 3.1: a profile PUT must carry If-Match or If-None-Match; State need not.
    put_needs_precondition: bool
    # Communication 2.3: State alone has a multiple-document DELETE.
    delete_many: bool


_STATE = _Resource(
    STATE, "stateId", activity=True, agent=True, registration=True,
    read_scopes=STATE_READ_SCOPES, write_scopes=STATE_WRITE_SCOPES,
    put_needs_precondition=False, delete_many=True,
)
_ACTIVITY_PROFILE = _Resource(
    ACTIVITY_PROFILE, "profileId", activity=True, agent=False, registration=False,
    read_scopes=PROFILE_READ_SCOPES, write_scopes=PROFILE_WRITE_SCOPES,
    put_needs_precondition=True, delete_many=False,
)
_AGENT_PROFILE = _Resource(
    AGENT_PROFILE, "profileId", activity=False, agent=True, registration=False,
    read_scopes=PROFILE_READ_SCOPES, write_scopes=PROFILE_WRITE_SCOPES,
    put_needs_precondition=True, delete_many=False,
)


@bp.route("/activities/state", methods=_DOCUMENT_METHODS)
def state() -> Response:
    """Communication 2.3. HEAD is answered as GET without a body (Communication 1.1)."""
    return _handle(_STATE)


@bp.route("/activities/profile", methods=_DOCUMENT_METHODS)
def activity_profile() -> Response:
    """Communication 2.7."""
    return _handle(_ACTIVITY_PROFILE)


@bp.route("/agents/profile", methods=_DOCUMENT_METHODS)
def agent_profile() -> Response:
    """Communication 2.6."""
    return _handle(_AGENT_PROFILE)


# --- parameters ------------------------------------------------------------------------


def _agent_key(raw: str, tenant: str) -> str:
    """The storage key of an `agent` parameter: the only place one is read."""
    return lrs_state().privacy.agent_key(tenant, parse_agent(raw))


def parse_agent(raw: str) -> dict:
    """An `agent` parameter: an Agent, not a Group (Communication 2.3, 2.4, 2.6); an
    identified Group's documents are kept under an Agent carrying the Group's identifier."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise bad_request("agent must be an Agent object in JSON", field="agent") from None
    agent = validate_agent(data, path="agent")
    if agent.get("objectType", "Agent") != "Agent":
        raise StatementError({"agent.objectType": ["must be Agent"]})
    return agent


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise bad_request(f"{name} parameter is required", field=name)
    return value


def _scope(resource: _Resource, params: Mapping[str, str], tenant: str) -> DocumentScope:
    activity = agent = ""
    registration = None
    if resource.activity:
        activity = _required(params, "activityId")
        if not is_iri(activity):
            raise bad_request(f"activityId {IRI_ERROR}", field="activityId")
    if resource.agent:
        agent = _agent_key(_required(params, "agent"), tenant)
    if resource.registration and "registration" in params:
        registration = params["registration"]
        if not is_uuid(registration):
            raise bad_request(f"registration {UUID_ERROR}", field="registration")
        registration = registration.lower()
    return DocumentScope(resource.name, activity=activity, agent=agent, registration=registration)


def _params(resource: _Resource, *extra: str) -> dict[str, str]:
    allowed = [resource.id_param, *extra]
    if resource.activity:
        allowed.append("activityId")
    if resource.agent:
        allowed.append("agent")
    if resource.registration:
        allowed.append("registration")
    return query_params(allowed=allowed)


def _since(params: Mapping[str, str]) -> str | None:
    if "since" not in params:
        return None
    try:
        return stored_timestamp(parse_timestamp(params["since"]))
    except ValueError:
        raise bad_request(f"since {TIMESTAMP_ERROR}", field="since") from None


def _etags(header: str) -> tuple[str, ...] | None:
    """An If-Match / If-None-Match value as bare ETags ("*" kept). Quotes and the weak
    prefix are dropped and case folded: our ETags are lowercase hex (Communication 3.1)."""
    value = request.headers.get(header)
    if value is None:
        return None
    tags = []
    for part in value.split(","):
        tag = part.strip()
        tag = tag.removeprefix("W/").strip('"').strip()
        if tag:
            tags.append(tag.lower())
    if not tags:
        raise bad_request(f"{header} needs an ETag or *", field=header)
    return tuple(tags)


# --- the methods -----------------------------------------------------------------------


def _handle(resource: _Resource) -> Response:
    method = request.method
    principal = authorize(
        resource.read_scopes if method in ("GET", "HEAD") else resource.write_scopes
    )
    if method in ("GET", "HEAD"):
        return _get(resource, principal)
    if method == "DELETE":
        return _delete(resource, principal)
    return _write(resource, principal, merge=method == "POST")


def _get(resource: _Resource, principal: Principal) -> Response:
    params = _params(resource, "since")
    scope = _scope(resource, params, principal.tenant)
    since = _since(params)
    store = lrs_state().store
    doc_id = params.get(resource.id_param)
    if doc_id is None:
        ids = store.list_documents(principal.tenant, scope, since)
        response = Response(orjson.dumps(list(ids)), mimetype="application/json")
        if ids:
            response.headers["Last-Modified"] = _http_date(max(ids.values()))
        return response
    document = store.get_document(principal.tenant, scope, _required(params, resource.id_param))
    if document is None:
        raise ApiError(404, f"no such document for this {resource.id_param}", code="not_found")
    return _document_response(document)


def _write(resource: _Resource, principal: Principal, *, merge: bool) -> Response:
    params = _params(resource)
    scope = _scope(resource, params, principal.tenant)
    doc_id = _required(params, resource.id_param)
    if_match, if_none_match = _etags("If-Match"), _etags("If-None-Match")
    store = lrs_state().store
    if not merge and resource.put_needs_precondition and if_match is if_none_match is None:
        _refuse_unconditional_put(
            store.get_document(principal.tenant, scope, doc_id),
            strict=lrs_state().config.strict_profile_put,
        )
    content = request.get_data()
    content_type = request.headers.get("Content-Type") or DEFAULT_CONTENT_TYPE
    # A POST that cannot merge raises DocumentMergeError: 400 (lrs.errors).
    store.put_document(
        principal.tenant, scope, doc_id, content, content_type,
        updated=stored_timestamp(datetime.now(UTC)),
        if_match=if_match, if_none_match=if_none_match, merge=merge,
    )
    return Response(status=204)


def _refuse_unconditional_put(current: Document | None, *, strict: bool) -> None:
    """A profile PUT without If-Match / If-None-Match never replaces a document: 409 onto an
    existing one (Communication 3.1). Onto a new one it creates it, as clients such as tincan
    expect, unless `strict_profile_put` asks for the 1.0.3 conformance suite's 400
    (XAPI-00273), which the specification text itself does not require."""
    if current is not None:
        raise ApiError(
            409,
            "the document exists: check its current state, then send If-Match with its ETag "
            "to replace it",
            code="conflict",
        )
    if strict:
        raise ApiError(
            400,
            "a PUT to a profile needs If-Match (to replace) or If-None-Match: * (to create)",
            fields={"If-Match": ["If-Match or If-None-Match is required"]},
            code="precondition_required",
        )


def _delete(resource: _Resource, principal: Principal) -> Response:
    params = _params(resource)
    scope = _scope(resource, params, principal.tenant)
    store = lrs_state().store
    if resource.delete_many and resource.id_param not in params:
        store.delete_documents(principal.tenant, scope)
    else:
        store.delete_document(
            principal.tenant, scope, _required(params, resource.id_param),
            if_match=_etags("If-Match"), if_none_match=_etags("If-None-Match"),
        )
    return Response(status=204)


def _document_response(document: Document) -> Response:
    response = Response(document.content, content_type=document.content_type)
    response.headers["ETag"] = f'"{document.etag}"'
    response.headers["Last-Modified"] = _http_date(document.updated)
    return response


def _http_date(updated: str) -> str:
    """RFC 7231 date for Last-Modified (Communication 2.2 Last Modified)."""
    return http_date(parse_timestamp(updated))

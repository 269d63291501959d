"""The document resources over HTTP: State, Activity Profile and Agent Profile
(Communication 2.2 to 2.7), with ETag concurrency control (Communication 3.1). The rules are
the service core's (`lrs.service.documents`); here the query string, the ETag headers and
the body are read, and the document or id list rendered.
"""

from __future__ import annotations

import orjson
from flask import Blueprint, Response, request
from werkzeug.http import http_date

from lrs.errors import bad_request
from lrs.extension import service
from lrs.protocol import authorize, query_params, stored_content, xapi_version
from lrs.service import (
    ACTIVITY_PROFILE_RESOURCE,
    AGENT_PROFILE_RESOURCE,
    STATE_RESOURCE,
    DocumentResource,
)
from statements import parse_timestamp, safe_media_type
from storage import Document

bp = Blueprint("documents", __name__)

_DOCUMENT_METHODS = ("GET", "PUT", "POST", "DELETE")


@bp.route("/activities/state", methods=_DOCUMENT_METHODS)
def state() -> Response:
    """Communication 2.3. HEAD is answered as GET without a body (Communication 1.1)."""
    return _handle(STATE_RESOURCE)


@bp.route("/activities/profile", methods=_DOCUMENT_METHODS)
def activity_profile() -> Response:
    """Communication 2.7."""
    return _handle(ACTIVITY_PROFILE_RESOURCE)


@bp.route("/agents/profile", methods=_DOCUMENT_METHODS)
def agent_profile() -> Response:
    """Communication 2.6."""
    return _handle(AGENT_PROFILE_RESOURCE)


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


def _handle(resource: DocumentResource) -> Response:
    method = request.method
    reading = method in ("GET", "HEAD")
    principal = authorize(resource.read_scopes if reading else resource.write_scopes)
    lrs = service()
    if reading:
        found = lrs.get_document(
            principal, resource, query_params(allowed=resource.parameters("since"))
        )
        if isinstance(found, Document):
            return _document_response(found)
        response = Response(orjson.dumps(list(found)), mimetype="application/json")
        if found:
            response.headers["Last-Modified"] = _http_date(max(found.values()))
        return response
    params = query_params(allowed=resource.parameters())
    if_match, if_none_match = _etags("If-Match"), _etags("If-None-Match")
    if method == "DELETE":
        lrs.delete_document(
            principal, resource, params, if_match=if_match, if_none_match=if_none_match
        )
    else:
        # A POST that cannot merge raises DocumentMergeError: 400 (lrs.errors).
        lrs.put_document(
            principal, resource, params, request.get_data(), request.headers.get("Content-Type"),
            if_match=if_match, if_none_match=if_none_match, merge=method == "POST",
            version=xapi_version(),
        )
    return Response(status=204)


def _document_response(document: Document) -> Response:
    response = Response(document.content, content_type=safe_media_type(document.content_type))
    response.headers["ETag"] = f'"{document.etag}"'
    response.headers["Last-Modified"] = _http_date(document.updated)
    return stored_content(response)


def _http_date(updated: str) -> str:
    """RFC 7231 date for Last-Modified (Communication 2.2 Last Modified)."""
    return http_date(parse_timestamp(updated))

"""The sync API (JSON, not xAPI) under `/sync/v1/`: what an edge LRS's `sync` credential
calls to forward its statements here (`lrs.service.sync` holds the rules; the edge side is
`lrs.service.forwarding` over `lrs.sync_client`).

    GET  /sync/v1/hello                      protocol, tenant, key ids, limits
    POST /sync/v1/statements                 one batch: application/json, or
                                             multipart/mixed with the attachment parts;
                                             `Content-Encoding: gzip` allowed (schools'
                                             links are slow: batches shrink about 4.5 times)
    GET  /sync/v1/erasures?after=N&limit=M   the erasure list after entry N

HTTP Basic credentials with the `sync` scope (403 otherwise, before a body is read); errors
have the service's one JSON shape. The version in the path changes only with an
incompatible change of these bodies.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from flask import Blueprint, Response, request

from lrs.errors import ApiError, bad_request
from lrs.extension import lrs_extension, service
from lrs.protocol import authorize, query_params
from lrs.service.principal import SYNC_SCOPES
from lrs.service.sync import MAX_ERASURES_PAGE
from statements import AttachmentPart, parse_statement_parts

bp = Blueprint("sync", __name__)


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data), mimetype="application/json")


@bp.get("/v1/hello")
def hello() -> Response:
    principal = authorize(SYNC_SCOPES)
    query_params(allowed=())
    answer = service().sync.hello(principal)
    answer["max_body_bytes"] = lrs_extension().config.max_body_bytes
    return _json(answer)


@bp.post("/v1/statements")
def receive() -> Response:
    """Store one forwarded batch; `{"ids": [...], "skipped": [...]}` acknowledges it."""
    principal = authorize(SYNC_SCOPES)
    query_params(allowed=())
    body, parts = _batch_body()
    receipt = service().sync.receive(principal, body, parts)
    return _json({"ids": receipt.ids, "skipped": receipt.skipped})


@bp.get("/v1/erasures")
def erasures() -> Response:
    principal = authorize(SYNC_SCOPES)
    params = query_params(allowed=("after", "limit"))
    after = _count(params, "after", 0)
    limit = min(_count(params, "limit", MAX_ERASURES_PAGE) or MAX_ERASURES_PAGE,
                MAX_ERASURES_PAGE)
    entries = service().sync.erasures(principal, after=after, limit=limit)
    return _json({
        "erasures": [{"seq": e.seq, "agent": e.agent, "time": e.time} for e in entries],
        "more": len(entries) == limit,
    })


def _batch_body() -> tuple[Any, list[AttachmentPart]]:
    """The batch JSON and its attachment parts (multipart/mixed: the batch first)."""
    data = _decoded_body()
    if request.mimetype == "multipart/mixed":
        data, parts = parse_statement_parts(data, request.content_type or "")
    elif request.mimetype == "application/json":
        parts = []
    else:
        raise bad_request(
            "Content-Type must be application/json or multipart/mixed", field="Content-Type",
            code="unsupported_content_type",
        )
    try:
        return orjson.loads(data), parts
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"the batch is not valid JSON: {exc}", code="invalid_json") from None


def _decoded_body() -> bytes:
    """The body, gunzipped when sent so; a gzip body growing past `max_body_bytes` is 413
    (decompressed in bounded steps, never whole first)."""
    data = request.get_data(cache=False)
    encoding = (request.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding == "identity":
        return data
    if encoding != "gzip":
        raise bad_request("Content-Encoding must be gzip or absent", field="Content-Encoding")
    limit = lrs_extension().config.max_body_bytes
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        plain = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise bad_request("the body is not gzip data", field="Content-Encoding") from None
    if len(plain) > limit:
        raise ApiError(413, "the request body is larger than this LRS accepts")
    if not inflater.eof or inflater.unused_data:
        raise bad_request("the gzip data is cut short or followed by more",
                          field="Content-Encoding")
    return plain


def _count(params: dict[str, str], name: str, default: int) -> int:
    if name not in params:
        return default
    text = params[name]
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise bad_request(f"{name} must be a non-negative integer", field=name)
    return int(text)

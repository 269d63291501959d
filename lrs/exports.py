"""Partner exports under `/exports/` (plain HTTP, not xAPI): `GET /exports/<agreement id>`
streams the agreement's export as NDJSON, or CSV with `Accept: text/csv`; `?cursor=`
continues an interrupted download; `GET /exports/<agreement id>/receipts` lists what was
sent. Only the export credential bound to the agreement gets in (`lrs.service.exports`)."""

from __future__ import annotations

import orjson
from flask import Blueprint, Response, request

from lrs.errors import ApiError
from lrs.extension import service
from lrs.protocol import authorize, query_params
from lrs.service.exports import CSV, NDJSON
from lrs.service.principal import EXPORT_SCOPES

bp = Blueprint("exports", __name__)


@bp.get("/<agreement_id>")
def export(agreement_id: str) -> Response:
    """The body streams: the service reads a page of statements per chunk."""
    principal = authorize(EXPORT_SCOPES)
    params = query_params(allowed=("cursor",))
    best = request.accept_mimetypes.best_match([NDJSON, CSV])
    if best is None and request.accept_mimetypes:  # an Accept header allowing neither
        raise ApiError(
            406, "exports are NDJSON or CSV", code="not_acceptable",
            fields={"Accept": [f"must accept {NDJSON} or {CSV}"]},
        )
    wanted = best or NDJSON
    found = service().export(
        principal, agreement_id, media_type=wanted, cursor=params.get("cursor")
    )
    mimetype = f"{found.media_type}; charset=utf-8"
    response = Response(found.chunks, content_type=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<agreement_id>/receipts")
def receipts(agreement_id: str) -> Response:
    """The audit entries of the agreement's exports: what was sent, its count and digest;
    `request_id` matches the `X-Request-Id` of the download."""
    principal = authorize(EXPORT_SCOPES)
    query_params(allowed=())
    found = service().export_receipts(principal, agreement_id)
    return Response(orjson.dumps({"receipts": found}), mimetype="application/json")

"""The public transparency page `/privacy/<tenant>`: HTML in plain language, or JSON with
`Accept: application/json` (`lrs.service.transparency`). No credential needed."""

from __future__ import annotations

import orjson
from flask import Blueprint, Response, render_template, request

from lrs.extension import service
from lrs.protocol import query_params
from lrs.service.transparency import transparency

bp = Blueprint("privacy", __name__, template_folder="templates")


@bp.get("/<tenant>")
def privacy_page(tenant: str) -> Response:
    query_params(allowed=())
    lrs = service()
    page = transparency(lrs.store, lrs.tenants, lrs.privacy, lrs.agreements, tenant)
    wants = request.accept_mimetypes
    if wants.best_match(["text/html", "application/json"]) == "application/json":
        return Response(orjson.dumps(page), mimetype="application/json")
    return Response(render_template("privacy.html", page=page), mimetype="text/html")

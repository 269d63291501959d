"""The About resource (Communication 2.8): versions spoken, open to everyone."""

from __future__ import annotations

import orjson
from flask import Blueprint, Response

from lrs.protocol import LATEST_VERSION, query_params, version_exempt

bp = Blueprint("about", __name__)
_BODY = orjson.dumps({"version": [LATEST_VERSION], "extensions": {}})


@bp.get("/about")
@version_exempt
def about() -> Response:
    """No credentials, no version header needed (Communication 2.8: SHOULD allow
    unauthenticated access, MUST NOT reject based on the version header)."""
    query_params(allowed=())
    return Response(_BODY, mimetype="application/json")

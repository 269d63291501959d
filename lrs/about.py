"""The About resource (Communication 2.8): the versions spoken, open to everyone.

Without a version header, or to a 2.0.x request, About lists 1.0.3 and 2.0.0 (each run of
the conformance suite looks for its own, xapi-2.0-notes.md section 7). A 1.0.x request gets
1.0.3 alone: a 1.0.x client has no use for a version it cannot speak, the 1.0.3 suite
(XAPI-00316) allows only 0.9 to 1.0.x in the list, and the `tincan` client refuses an About
naming any other version.
"""

from __future__ import annotations

import orjson
from flask import Blueprint, Response

from lrs.protocol import query_params, requested_version, version_exempt
from statements import XAPI_VERSIONS, version_family

bp = Blueprint("about", __name__)
_BODIES = {
    None: orjson.dumps({"version": list(XAPI_VERSIONS), "extensions": {}}),
    "1.0": orjson.dumps(
        {"version": [v for v in XAPI_VERSIONS if version_family(v) == "1.0"], "extensions": {}}
    ),
}


@bp.get("/about")
@version_exempt
def about() -> Response:
    """No credentials, no version header needed (Communication 2.8: SHOULD allow
    unauthenticated access, MUST NOT reject based on the version header)."""
    query_params(allowed=())
    version = requested_version()
    family = None if version is None else version_family(version)
    return Response(_BODIES.get(family, _BODIES[None]), mimetype="application/json")

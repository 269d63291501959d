"""The Activities resource over HTTP (Communication 2.5): the Activity object with the
canonical definition the LRS holds (`lrs.service.activities`)."""

from __future__ import annotations

import orjson
from flask import Blueprint, Response

from lrs.errors import bad_request
from lrs.extension import service
from lrs.protocol import authorize, query_params
from lrs.service.principal import ACTIVITY_READ_SCOPES

bp = Blueprint("activities", __name__)


@bp.get("/activities")
def get_activity() -> Response:
    """GET (and HEAD) `?activityId=`: 200 with the Activity object."""
    principal = authorize(ACTIVITY_READ_SCOPES)
    activity_id = query_params(allowed=("activityId",)).get("activityId")
    if activity_id is None:
        raise bad_request("activityId parameter is required", field="activityId")
    activity = service().get_activity(principal, activity_id)
    return Response(orjson.dumps(activity), mimetype="application/json")

"""The Activities resource (Communication 2.5) and the canonical definitions behind
`format=canonical` (Communication 2.1.3).

The canonical definition of an Activity is built at ingest (`storage.ingest`): definitions
sent by a credential with the `define` or `all` scope are merged into it; without one the
Activity's id is recorded and its definition left as it is (Communication 4.2).

Reading needs any read scope: `statements/read`, `statements/read/mine`, `all/read`, `all`,
and also `define`, `state` and `profile`, whose clients work with the same activities.
Definitions are metadata about content, not about learners (the masking policy has already
dropped extensions it does not allow), so `statements/read/mine` reads every definition too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from flask import Blueprint, Response

from lrs.auth import (
    ALL,
    ALL_READ,
    DEFINE,
    PROFILE,
    STATE,
    STATEMENTS_READ,
    STATEMENTS_READ_MINE,
)
from lrs.errors import bad_request
from lrs.protocol import authorize, query_params
from lrs.state import lrs_state
from statements.formats import IRI_ERROR, is_iri
from storage.ingest import statement_activities

bp = Blueprint("activities", __name__)

READ_SCOPES = (STATEMENTS_READ, STATEMENTS_READ_MINE, ALL_READ, ALL, DEFINE, STATE, PROFILE)
DEFINE_SCOPES = (DEFINE, ALL)


@bp.get("/activities")
def get_activity() -> Response:
    """GET (and HEAD) `?activityId=`: 200 with the Activity object and the canonical
    definition the LRS holds; an Activity object without one for an id the LRS does not
    know or holds no definition for (Communication 2.5: "SHOULD* still return an Activity
    Object")."""
    principal = authorize(READ_SCOPES)
    params = query_params(allowed=("activityId",))
    activity_id = params.get("activityId")
    if activity_id is None:
        raise bad_request("activityId parameter is required", field="activityId")
    if not is_iri(activity_id):
        raise bad_request(f"activityId {IRI_ERROR}", field="activityId")
    found = lrs_state().store.get_activities(principal.tenant, [activity_id])
    activity: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    if found.get(activity_id):
        activity["definition"] = found[activity_id]
    return Response(orjson.dumps(activity), mimetype="application/json")


def canonical_definitions(tenant: str, statements: Iterable[Mapping]) -> dict[str, dict]:
    """The canonical definitions of every Activity in `statements`, one read for all;
    activities without one are left out."""
    ids = {activity["id"] for s in statements for activity in statement_activities(s)}
    if not ids:
        return {}
    found = lrs_state().store.get_activities(tenant, sorted(ids))
    return {activity_id: d for activity_id, d in found.items() if d}


def with_canonical_definitions(statement: dict, definitions: Mapping[str, dict]) -> dict:
    """The statement with each Activity's definition replaced by its canonical one
    (Communication 2.1.3 `format=canonical`), before language filtering. An Activity the
    LRS holds no definition for keeps the one it was sent with. Returns a new statement;
    unchanged parts are shared with the input."""
    out = dict(statement)
    obj = out.get("object")
    if obj is not None:
        kind = obj.get("objectType", "Activity")
        if kind == "Activity":
            out["object"] = _canonical_activity(obj, definitions)
        elif kind == "SubStatement":
            out["object"] = with_canonical_definitions(obj, definitions)
    context = out.get("context")
    if context is not None and context.get("contextActivities"):
        out["context"] = {
            **context,
            "contextActivities": {
                kind: (
                    [_canonical_activity(a, definitions) for a in value]
                    if type(value) is list
                    else _canonical_activity(value, definitions)
                )
                for kind, value in context["contextActivities"].items()
            },
        }
    return out


def _canonical_activity(activity: dict, definitions: Mapping[str, dict]) -> dict:
    definition = definitions.get(activity["id"])
    if definition is None:
        return activity
    return {**activity, "definition": definition}

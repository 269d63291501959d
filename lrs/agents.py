"""The Agents resource over HTTP (Communication 2.4): the Person object for an agent, with
names and identifiers only for a `reidentify` reader (`lrs.service.agents`)."""

from __future__ import annotations

import orjson
from flask import Blueprint, Response

from lrs.extension import service
from lrs.protocol import authorize, query_params
from lrs.service.principal import AGENT_READ_SCOPES

bp = Blueprint("agents", __name__)


@bp.get("/agents")
def agents() -> Response:
    """GET (and HEAD) `?agent=`: 200 with a Person object."""
    principal = authorize(AGENT_READ_SCOPES)
    agent = query_params(allowed=("agent",)).get("agent")
    person = service().get_person(principal, agent)
    return Response(orjson.dumps(person), mimetype="application/json")

"""The Agents resource (Communication 2.4): the Person object for an agent.

With pseudonymization on, the Person holds the agent's pseudonym; a credential with the
`reidentify` scope also gets every name and identifier the identity vault holds for that
pseudonym (Communication 2.4: returning several identifiers SHOULD need increased, explicitly
given permissions).
"""

from __future__ import annotations

import orjson
from flask import Blueprint, Response

from lrs.auth import PROFILE_READ_SCOPES, REIDENTIFY, STATEMENT_READ_SCOPES
from lrs.documents import parse_agent
from lrs.errors import bad_request
from lrs.protocol import authorize, query_params
from lrs.state import lrs_state

bp = Blueprint("agents", __name__)

READ_SCOPES = tuple(dict.fromkeys((*STATEMENT_READ_SCOPES, *PROFILE_READ_SCOPES)))


@bp.get("/agents")
def agents() -> Response:
    """GET (and HEAD) `?agent=`: 200 with a Person object."""
    principal = authorize(READ_SCOPES)
    params = query_params(allowed=("agent",))
    if not params.get("agent"):
        raise bad_request("agent parameter is required", field="agent")
    state = lrs_state()
    person = state.privacy.person(
        principal.tenant,
        parse_agent(params["agent"]),
        state.store,
        reidentify=REIDENTIFY in principal.scopes,
    )
    return Response(orjson.dumps(person), mimetype="application/json")

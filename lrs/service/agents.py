"""The Agents resource (Communication 2.4): the Person object for an agent.

With pseudonymization on, the Person holds the agent's pseudonym; a principal with the
`reidentify` scope also gets every name and identifier the identity vault holds for that
pseudonym (Communication 2.4: returning several identifiers SHOULD need increased,
explicitly given permissions).
"""

from __future__ import annotations

from typing import Any

import orjson

from lrs.service.audit import UNPSEUDONYMIZED, Auditor
from lrs.service.documents import parse_agent
from lrs.service.errors import invalid
from lrs.service.principal import AGENT_READ_SCOPES, Principal
from lrs.service.privacy import Privacy
from lrs.service.tenants import Tenants
from storage import Storage


def get_person(
    store: Storage,
    privacy: Privacy,
    tenants: Tenants,
    audit: Auditor,
    principal: Principal,
    agent: str | None,
) -> dict[str, Any]:
    """The Person object for the `agent` parameter (JSON text); audited, and re-identification
    audited apart."""
    principal.require(AGENT_READ_SCOPES)
    if not agent:
        raise invalid("agent parameter is required", field="agent")
    view = tenants.get(principal.tenant)
    parsed = parse_agent(agent)
    person, revealed = privacy.person(view, parsed, store, reidentify=principal.reidentifies)
    filters = {
        "agent": (
            orjson.dumps(privacy.stored_agent(view, parsed)).decode()
            if privacy.pseudonymizes(view)
            else UNPSEUDONYMIZED
        )
    }
    audit.record(principal, "agents.read", "agents", filters=filters, count=1)
    if revealed:
        audit.record(principal, "agents.reidentify", "agents", filters=filters, count=revealed)
    return person

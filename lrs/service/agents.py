"""The Agents resource (Communication 2.4): the Person object for an agent.

With pseudonymization on, the Person holds the agent's pseudonym; a principal with the
`reidentify` scope also gets every name and identifier the identity vault holds for that
pseudonym (Communication 2.4: returning several identifiers SHOULD need increased,
explicitly given permissions).
"""

from __future__ import annotations

from typing import Any

from lrs.service.documents import parse_agent
from lrs.service.errors import invalid
from lrs.service.principal import AGENT_READ_SCOPES, Principal
from lrs.service.privacy import Privacy
from storage import Storage


def get_person(
    store: Storage, privacy: Privacy, principal: Principal, agent: str | None
) -> dict[str, Any]:
    """The Person object for the `agent` parameter (JSON text)."""
    principal.require(AGENT_READ_SCOPES)
    if not agent:
        raise invalid("agent parameter is required", field="agent")
    return privacy.person(
        principal.tenant, parse_agent(agent), store, reidentify=principal.reidentifies
    )

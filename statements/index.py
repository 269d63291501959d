"""The query fields of a statement, computed once when it is stored.

They answer the Statement resource filters (Communication 2.1.3): `agent` and
`related_agents`, `activity` and `related_activities`, `verb`, `registration`, and the
voiding bookkeeping (Data 2.3.2).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

from statements.agent import agent_key
from statements.verb import VOIDED


@dataclass(frozen=True, slots=True)
class IndexFields:
    """Query fields of one validated statement; identifiers are canonical (lowercase UUIDs,
    `agent_key` forms), tuples hold no duplicates and keep first-seen order."""

    verb: str
    registration: str | None
    ref: str | None
    voids: str | None
    agents: tuple[str, ...]
    related_agents: tuple[str, ...]
    activities: tuple[str, ...]
    related_activities: tuple[str, ...]


def _agent_keys(agent: Any) -> Iterator[str]:
    """The keys an Agent or Group matches as: its own IFI and its members' (Communication
    2.1.3 `agent`: a Group whose members match is a match)."""
    if type(agent) is not dict:
        return
    key = agent_key(agent)
    if key is not None:
        yield key
    for member in agent.get("member") or ():
        member_key = agent_key(member)
        if member_key is not None:
            yield member_key


def _object_agents(target: dict[str, Any]) -> Iterator[str]:
    if target.get("objectType") in ("Agent", "Group"):
        yield from _agent_keys(target)


def _context_agents(context: Any) -> Iterator[str]:
    if type(context) is dict:
        yield from _agent_keys(context.get("instructor"))
        yield from _agent_keys(context.get("team"))


def _context_activities(context: Any) -> Iterator[str]:
    if type(context) is not dict:
        return
    for value in (context.get("contextActivities") or {}).values():
        for activity in [value] if type(value) is dict else value:
            yield activity["id"]


def _object_activity(target: dict[str, Any]) -> Iterator[str]:
    if target.get("objectType", "Activity") == "Activity":
        yield target["id"]


def _unique(keys: Iterator[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(keys))


def statement_index_fields(statement: dict[str, Any]) -> IndexFields:
    """Compute the query fields of a validated statement."""
    target = statement["object"]
    kind = target.get("objectType")
    context = statement.get("context")
    registration = context.get("registration") if type(context) is dict else None
    ref = target["id"].lower() if kind == "StatementRef" else None
    voids = ref if statement["verb"]["id"] == VOIDED else None

    agents = _unique(chain(_agent_keys(statement["actor"]), _object_agents(target)))
    activities = _unique(_object_activity(target))
    related_agents = [*agents, *_agent_keys(statement.get("authority")), *_context_agents(context)]
    related_activities = [*activities, *_context_activities(context)]
    if kind == "SubStatement":
        sub_target, sub_context = target["object"], target.get("context")
        related_agents += [
            *_agent_keys(target["actor"]),
            *_object_agents(sub_target),
            *_context_agents(sub_context),
        ]
        related_activities += [*_object_activity(sub_target), *_context_activities(sub_context)]
    return IndexFields(
        verb=statement["verb"]["id"],
        registration=registration.lower() if registration else None,
        ref=ref,
        voids=voids,
        agents=agents,
        related_agents=_unique(iter(related_agents)),
        activities=activities,
        related_activities=_unique(iter(related_activities)),
    )

"""Where a statement's agents and activities are: the one walker every other module uses.

Pseudonymization, the query fields, the response formats, masking and storage all need the
agent or activity positions of a statement. They find them here, so a position added by a
later xAPI version (2.0's `context.contextAgents` and `context.contextGroups`, SubStatement
contexts included: xapi-2.0-notes.md section 2) is added once, and no walker can miss it and
store a child's identity in clear.

Layering: this module imports only the standard library, nothing of ours. `anonymize` may
import `statements.walk` and nothing else of ours (it never imports the data model or
marshmallow); `statements/__init__.py` loads its other modules lazily, so importing this one
loads nothing else of `statements`.

Agent positions, in document order: the order of the property tables of Data 2.4 (actor,
object, context, authority), whatever the key order of the input, a SubStatement's positions
in place of the object, each Group's members right after the Group::

    path                                    root          notes
    actor                                   actor
    actor.member[0]                         actor         member=True
    object                                  object        when the object is an Agent/Group
    object.actor, object.context.team ...   (as above)    nested=True: inside a SubStatement
    context.instructor                      instructor
    context.team                            team
    context.contextAgents[0].agent          contextAgent  xAPI 2.0
    context.contextGroups[0].group          contextGroup  xAPI 2.0
    authority                               authority

Activity positions: `object` (root `object`) when the object is an Activity, and each context
activity (Data 2.4.6.2), `context.contextActivities.parent` for a single Activity or
`context.contextActivities.parent[0]` in an array (root: the kind), in the order of the
statement's contextActivities keys; a SubStatement's (`object.object`, `object.context...`,
nested=True) in place of the object.

A SubStatement inside a SubStatement is invalid (Data 2.4.4.3) but is walked all the same:
skipping it would store its agents raw.

Reading: `agent_positions` and `activity_positions` yield `Position`s; on the ingest hot path
use `agent_position_tuples` and `activity_position_tuples`, the same fields as plain tuples.
Writing: `map_agents` and `map_activities` return a copy with each position replaced by a
callback, sharing everything they leave alone with the input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import starmap
from typing import Any

__all__ = [
    "CONTEXT_ACTIVITY_KINDS",
    "CONTEXT_AGENT_LISTS",
    "IFI_FIELDS",
    "VOIDED",
    "Position",
    "PositionTuple",
    "activity_position_tuples",
    "activity_positions",
    "agent_position_tuples",
    "agent_positions",
    "map_activities",
    "map_agents",
    "normalize_mbox",
]

# Data 2.4.2.3: the Inverse Functional Identifiers, one of which identifies an Agent.
IFI_FIELDS = ("mbox", "mbox_sha1sum", "openid", "account")
# Data 2.3.2: the verb of a voiding statement.
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
# Data 2.4.6.2: the keys of contextActivities.
CONTEXT_ACTIVITY_KINDS = ("parent", "grouping", "category", "other")
# xAPI 2.0 (9274.1.1, xapi-2.0-notes.md section 2): the context lists of agents and groups,
# each with the key holding the Agent or Group in each of its items.
CONTEXT_AGENT_LISTS = (("contextAgents", "agent"), ("contextGroups", "group"))

# (list key, item key, root): the root is the items' objectType, the list key in the singular.
_CONTEXT_LISTS = tuple((key, item_key, key[:-1]) for key, item_key in CONTEXT_AGENT_LISTS)
_CONTEXT_ROLES = (("instructor", "context.instructor"), ("team", "context.team"))

# The paths of context activities, built once for a statement and its SubStatement (a deeper
# one is invalid: built on each visit): per kind, the path of a single Activity and those of
# the first items of an array. Formatting them was a quarter of a walk.
_TABLED = 16


def _activity_paths(prefix: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    base = prefix + "context.contextActivities."
    return {
        kind: (base + kind, tuple(f"{base}{kind}[{index}]" for index in range(_TABLED)))
        for kind in CONTEXT_ACTIVITY_KINDS
    }


_ACTIVITY_PATHS = {prefix: _activity_paths(prefix) for prefix in ("", "object.")}

PositionTuple = tuple[str, dict[str, Any], str, bool, bool]
"""A Position's fields (path, node, root, nested, member) as a plain tuple."""


@dataclass(frozen=True, slots=True)
class Position:
    """One agent or activity position of a statement.

    `path` is the JSON path (`actor`, `object.member[1]`, `object.context.team`,
    `context.contextAgents[0].agent`, `context.contextActivities.parent[0]`), as the
    pseudonymizer records originals; `node` the Agent, Group or Activity found there;
    `root` the role it fills (`actor`, `object`, `instructor`, `team`, `contextAgent`,
    `contextGroup`, `authority` for agents; `object`, `parent`, `grouping`, `category`,
    `other` for activities), a Group member's being its Group's; `nested` True inside a
    SubStatement; `member` True for a Group member.
    """

    path: str
    node: dict[str, Any]
    root: str
    nested: bool
    member: bool


def normalize_mbox(mbox: str) -> str:
    """`mbox` with its scheme written `mailto:` and the domain after its last `@` lowercased
    (both are case-insensitive, Data 2.4.2.3; the local part is not, RFC 5321 2.4).

    A string whose scheme is not `mailto:` (in any case) is returned unchanged; one without
    `@` has no domain and gets only its scheme normalized.
    """
    scheme = mbox[:7]
    if scheme == "mailto:" and mbox.islower():
        # The common case. An all-lowercase string is its own lower(): checked for every
        # code point in tests/statements/test_walk.py.
        return mbox
    if scheme != "mailto:" and scheme.lower() != "mailto:":
        return mbox
    at = mbox.rfind("@")  # the scheme holds none
    if at < 0:
        return mbox if scheme == "mailto:" else "mailto:" + mbox[7:]
    domain = mbox[at + 1 :]
    lowered = domain.lower()
    if scheme == "mailto:" and lowered == domain:
        return mbox  # already normal: no new string
    return "mailto:" + mbox[7 : at + 1] + lowered


# -- reading: positions ----------------------------------------------------------------------


def agent_positions(
    statement: Mapping[str, Any], *, authority: bool = True, members: bool = True
) -> Iterator[Position]:
    """Every Agent and Group of `statement`, in document order (see the module docstring):
    actor, object, context instructor and team, 2.0 context agents and groups, authority
    (unless `authority=False`), a SubStatement's in place, each Group's members (unless
    `members=False`). Only objects are positions: a value that is not one is skipped, and a
    2.0 list item without its `agent`/`group` is yielded itself, at the item's path."""
    found = agent_position_tuples(statement, authority=authority, members=members)
    return starmap(Position, found)


def activity_positions(statement: Mapping[str, Any]) -> Iterator[Position]:
    """Every Activity of `statement`: the object when it is an Activity, the context
    activities (one Activity or an array per kind), and the same in a SubStatement."""
    return starmap(Position, activity_position_tuples(statement))


def agent_position_tuples(
    statement: Mapping[str, Any], *, authority: bool = True, members: bool = True
) -> Iterator[PositionTuple]:
    """`agent_positions` as plain tuples, ten times cheaper to make than Positions: for the
    ingest hot path (the query fields)."""
    found: list[PositionTuple] = []
    _agents(statement, "", False, authority, members, found)
    return iter(found)


def activity_position_tuples(statement: Mapping[str, Any]) -> Iterator[PositionTuple]:
    """`activity_positions` as plain tuples (see `agent_position_tuples`)."""
    found: list[PositionTuple] = []
    _activities(statement, "", False, found)
    return iter(found)


def _agents(
    statement: Mapping[str, Any],
    prefix: str,
    nested: bool,
    authority: bool,
    members: bool,
    found: list[PositionTuple],
) -> None:
    # Written out position by position (no helper call per position): the ingest hot path.
    actor = statement.get("actor")
    if isinstance(actor, dict):
        path = prefix + "actor"
        found.append((path, actor, "actor", nested, False))
        if members and "member" in actor:
            _members(actor, path, "actor", nested, found)
    obj = statement.get("object")
    if isinstance(obj, dict):
        kind = obj.get("objectType")
        if kind == "Agent" or kind == "Group":
            path = prefix + "object"
            found.append((path, obj, "object", nested, False))
            if members and "member" in obj:
                _members(obj, path, "object", nested, found)
        elif kind == "SubStatement":
            _agents(obj, prefix + "object.", True, authority, members, found)
    context = statement.get("context")
    if isinstance(context, dict):
        for role, role_path in _CONTEXT_ROLES:
            node = context.get(role)
            if isinstance(node, dict):
                path = prefix + role_path
                found.append((path, node, role, nested, False))
                if members and "member" in node:
                    _members(node, path, role, nested, found)
        if "contextAgents" in context or "contextGroups" in context:
            _context_lists(context, prefix, nested, members, found)
    if authority:
        node = statement.get("authority")
        if isinstance(node, dict):
            path = prefix + "authority"
            found.append((path, node, "authority", nested, False))
            if members and "member" in node:
                _members(node, path, "authority", nested, found)


def _context_lists(
    context: dict[str, Any],
    prefix: str,
    nested: bool,
    members: bool,
    found: list[PositionTuple],
) -> None:
    """The xAPI 2.0 contextAgents and contextGroups (keys in CONTEXT_AGENT_LISTS)."""
    for key, item_key, root in _CONTEXT_LISTS:
        items = context.get(key)
        if not isinstance(items, list):
            continue
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            node = item.get(item_key)
            if node is None:  # malformed: the item is where its agent would be
                path = f"{prefix}context.{key}[{index}]"
                node = item
            elif isinstance(node, dict):
                path = f"{prefix}context.{key}[{index}].{item_key}"
            else:
                continue
            found.append((path, node, root, nested, False))
            if members and "member" in node:
                _members(node, path, root, nested, found)


def _members(
    node: dict[str, Any], path: str, root: str, nested: bool, found: list[PositionTuple]
) -> None:
    """The members of `node` (any object listing them; only a Group may)."""
    group = node["member"]
    if isinstance(group, list):
        for index, member in enumerate(group):
            if isinstance(member, dict):
                found.append((f"{path}.member[{index}]", member, root, nested, True))


def _activities(
    statement: Mapping[str, Any], prefix: str, nested: bool, found: list[PositionTuple]
) -> None:
    obj = statement.get("object")
    if isinstance(obj, dict):
        kind = obj.get("objectType", "Activity")
        if kind == "Activity":
            found.append((prefix + "object", obj, "object", nested, False))
        elif kind == "SubStatement":
            _activities(obj, prefix + "object.", True, found)
    context = statement.get("context")
    if not isinstance(context, dict):
        return
    activities = context.get("contextActivities")
    if not isinstance(activities, dict):
        return
    paths = _ACTIVITY_PATHS.get(prefix) or _activity_paths(prefix)
    for kind, value in activities.items():
        entry = paths.get(kind)
        if entry is None:  # not one of CONTEXT_ACTIVITY_KINDS
            continue
        path, item_paths = entry
        if isinstance(value, list):  # first: the form validation normalizes to
            for index, activity in enumerate(value):
                if isinstance(activity, dict):
                    item_path = item_paths[index] if index < _TABLED else f"{path}[{index}]"
                    found.append((item_path, activity, kind, nested, False))
        elif isinstance(value, dict):
            found.append((path, value, kind, nested, False))


# -- writing: copy on write ------------------------------------------------------------------


def map_agents(
    statement: Mapping[str, Any],
    replace: Callable[[Any, str], Any],
    *,
    authority: bool = False,
) -> dict[str, Any]:
    """A new statement with each agent position's value replaced by `replace(value, path)`.

    The positions: actor, the object when it is an Agent or Group, context instructor and
    team, each 2.0 contextAgents item's `agent` and contextGroups item's `group`, authority
    only if `authority=True`, and the same inside a SubStatement (paths `object.actor`...).
    Group members are the callback's business (it gets the whole Group). Copy on write: the
    input is never modified, every object or array holding no replaced value is shared with
    it, and a value `replace` returns as it got it (the same object) changes nothing.

    Defensive, for the privacy callers: `replace` gets whatever is at a position, not only
    objects (only an absent or null value is skipped), and at a 2.0 list whatever is not the
    expected shape (the value not an array, an item not an object holding its `agent` or
    `group`) whole, at its own path (`context.contextAgents`, `context.contextAgents[0]`),
    so a callback that refuses non-agents refuses the statement rather than let it through.
    """
    out = _map_agents(statement, replace, authority, "")
    return dict(statement) if out is None else out


def _map_agents(
    statement: Mapping[str, Any],
    replace: Callable[[Any, str], Any],
    authority: bool,
    prefix: str,
) -> dict[str, Any] | None:
    """The mapped statement, or None when nothing in it changed. Written out position by
    position (no loops over role names, no helper calls): the ingest hot path."""
    out: dict[str, Any] | None = None
    actor = statement.get("actor")
    if actor is not None:
        new = replace(actor, prefix + "actor")
        if new is not actor:
            out = dict(statement)
            out["actor"] = new
    obj = statement.get("object")
    if isinstance(obj, dict):
        kind = obj.get("objectType")
        if kind == "Agent" or kind == "Group":
            new = replace(obj, prefix + "object")
            if new is not obj:
                if out is None:
                    out = dict(statement)
                out["object"] = new
        elif kind == "SubStatement":
            new = _map_agents(obj, replace, authority, prefix + "object.")
            if new is not None:
                if out is None:
                    out = dict(statement)
                out["object"] = new
    context = statement.get("context")
    if isinstance(context, dict):
        new_context: dict[str, Any] | None = None
        node = context.get("instructor")
        if node is not None:
            new = replace(node, prefix + "context.instructor")
            if new is not node:
                new_context = dict(context)
                new_context["instructor"] = new
        node = context.get("team")
        if node is not None:
            new = replace(node, prefix + "context.team")
            if new is not node:
                if new_context is None:
                    new_context = dict(context)
                new_context["team"] = new
        if "contextAgents" in context or "contextGroups" in context:
            for key, item_key, _ in _CONTEXT_LISTS:
                items = context.get(key)
                if items is not None:
                    new = _map_items(items, item_key, replace, f"{prefix}context.{key}")
                    if new is not items:
                        if new_context is None:
                            new_context = dict(context)
                        new_context[key] = new
        if new_context is not None:
            if out is None:
                out = dict(statement)
            out["context"] = new_context
    if authority:
        node = statement.get("authority")
        if node is not None:
            new = replace(node, prefix + "authority")
            if new is not node:
                if out is None:
                    out = dict(statement)
                out["authority"] = new
    return out


def _map_items(items: Any, item_key: str, replace: Callable[[Any, str], Any], path: str) -> Any:
    """A 2.0 list with each item's agent replaced (the list itself when nothing changed)."""
    if not isinstance(items, list):
        return replace(items, path)  # malformed: let the callback judge it
    out: list[Any] | None = None
    for index, item in enumerate(items):
        node = item.get(item_key) if isinstance(item, dict) else None
        if node is None:
            new_item = replace(item, f"{path}[{index}]")  # malformed, as above
        else:
            new = replace(node, f"{path}[{index}].{item_key}")
            if new is node:
                continue
            new_item = dict(item)
            new_item[item_key] = new
        if new_item is not item:
            if out is None:
                out = list(items)
            out[index] = new_item
    return items if out is None else out


def map_activities(
    statement: Mapping[str, Any], replace: Callable[[dict[str, Any], str], dict[str, Any]]
) -> dict[str, Any]:
    """A new statement with each Activity replaced by `replace(activity, path)`: the object
    when it is an Activity, every context activity (a single Activity stays single, an array
    stays an array), and the same in a SubStatement. Copy on write, as `map_agents`; values
    that are not objects are left as they are (an Activity holds no identity)."""
    out = _map_activities(statement, replace, "")
    return dict(statement) if out is None else out


def _map_activities(
    statement: Mapping[str, Any],
    replace: Callable[[dict[str, Any], str], dict[str, Any]],
    prefix: str,
) -> dict[str, Any] | None:
    out: dict[str, Any] | None = None
    obj = statement.get("object")
    if isinstance(obj, dict):
        kind = obj.get("objectType", "Activity")
        new: dict[str, Any] | None = None
        if kind == "Activity":
            new = replace(obj, prefix + "object")
            if new is obj:
                new = None
        elif kind == "SubStatement":
            new = _map_activities(obj, replace, prefix + "object.")
        if new is not None:
            out = dict(statement)
            out["object"] = new
    context = statement.get("context")
    if isinstance(context, dict):
        activities = context.get("contextActivities")
        if isinstance(activities, dict):
            mapped = _map_context_activities(activities, replace, prefix)
            if mapped is not None:
                if out is None:
                    out = dict(statement)
                out["context"] = {**context, "contextActivities": mapped}
    return out


def _map_context_activities(
    activities: dict[str, Any],
    replace: Callable[[dict[str, Any], str], dict[str, Any]],
    prefix: str,
) -> dict[str, Any] | None:
    out: dict[str, Any] | None = None
    paths = _ACTIVITY_PATHS.get(prefix) or _activity_paths(prefix)
    for kind, value in activities.items():
        entry = paths.get(kind)
        if entry is None:  # not one of CONTEXT_ACTIVITY_KINDS
            continue
        path, item_paths = entry
        new: Any = value
        if isinstance(value, list):
            items: list[Any] | None = None
            for index, activity in enumerate(value):
                if isinstance(activity, dict):
                    item_path = item_paths[index] if index < _TABLED else f"{path}[{index}]"
                    mapped = replace(activity, item_path)
                    if mapped is not activity:
                        if items is None:
                            items = list(value)
                        items[index] = mapped
            if items is not None:
                new = items
        elif isinstance(value, dict):
            new = replace(value, path)
        if new is not value:
            if out is None:
                out = dict(activities)
            out[kind] = new
    return out

"""Response formats of GET Statements (Communication 2.1.3 `format`): `ids` and `canonical`;
and the view of an xAPI 2.0 statement without the properties 1.0.3 does not define.

`exact` needs nothing here: the service returns the stored statement untouched. The
functions return a new statement and never modify their input; parts they do not change
are shared with it, so serialize the result rather than mutating it.
"""

from __future__ import annotations

import re
from typing import Any

from statements.activity import COMPONENT_LISTS
from statements.walk import CONTEXT_AGENT_LISTS, IFI_FIELDS, map_activities, map_agents

__all__ = [
    "best_language",
    "format_canonical",
    "format_ids",
    "parse_accept_language",
    "without_2_0_properties",
]

_CONTEXT_2_0_KEYS = tuple(key for key, _ in CONTEXT_AGENT_LISTS)

_IDS_AGENT_KEYS = ("objectType", *IFI_FIELDS)

# RFC 2616 14.4: language-range [ ";" "q" "=" qvalue ].
_LANGUAGE_RANGE = re.compile(
    r"\s*(\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)\s*"
    r"(?:;\s*[qQ]\s*=\s*(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?))?\s*",
    re.ASCII,
)


def format_ids(statement: dict[str, Any]) -> dict[str, Any]:
    """`format=ids`: Agents and identified Groups keep only objectType and their IFI, anonymous
    Groups only objectType and their members reduced the same way, Activities and Verbs only
    their id; everywhere, SubStatements and context included (Communication 2.1.3: "only
    include minimum information necessary ... to identify them"; an Activity is the default
    objectType, so its id is enough)."""
    reduced = map_activities(map_agents(statement, _ids_agent, authority=True), _ids_activity)
    return _ids_verbs(reduced)


def _ids_agent(agent: dict[str, Any], path: str = "") -> dict[str, Any]:
    out = {key: agent[key] for key in _IDS_AGENT_KEYS if key in agent}
    if "member" in agent and not any(key in agent for key in IFI_FIELDS):
        # Anonymous Group: the members are what identifies it.
        out["member"] = [_ids_agent(member) for member in agent["member"]]
    return out


def _ids_activity(activity: dict[str, Any], path: str = "") -> dict[str, Any]:
    return {"id": activity["id"]}


def _ids_verbs(statement: dict[str, Any]) -> dict[str, Any]:
    """`statement` (a copy of ours) with its Verb's, and a SubStatement's, reduced to id."""
    verb = statement.get("verb")
    if verb is not None:
        statement["verb"] = {"id": verb["id"]}
    obj = statement.get("object")
    if obj is not None and obj.get("objectType") == "SubStatement":
        statement["object"] = _ids_verbs(dict(obj))
    return statement


def parse_accept_language(header: str | None) -> list[str]:
    """The language ranges of an Accept-Language header, most preferred first (RFC 2616 14.4:
    by q-value, ties in header order). Ranges with q=0 (not acceptable) and malformed
    entries are dropped: a bad header must not fail the request."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    seen: set[str] = set()
    for position, item in enumerate(header.split(",")):
        match = _LANGUAGE_RANGE.fullmatch(item)
        if match is None:
            continue
        language, q = match[1], float(match[2] or 1)
        if q > 0 and language.lower() not in seen:
            seen.add(language.lower())
            weighted.append((-q, position, language))
    weighted.sort()
    return [language for _, _, language in weighted]


def format_canonical(statement: dict[str, Any], languages: list[str]) -> dict[str, Any]:
    """`format=canonical`: every language map of Verbs, Activity Definitions (name,
    description, interaction components) and attachments reduced to the one entry that best
    fits `languages` (from parse_accept_language), each map chosen on its own
    (Communication 2.1.3 "Language Filtering Requirements"). Agents stay as stored.

    Replacing definitions with the LRS's canonical ones is the caller's job, before this."""

    def canonical(activity: dict[str, Any], path: str) -> dict[str, Any]:
        return _canonical_activity(activity, languages)

    return _canonical_statement(map_activities(statement, canonical), languages)


def _canonical_statement(statement: dict[str, Any], languages: list[str]) -> dict[str, Any]:
    """`statement` (a copy of ours) with its Verb display and attachments, and a
    SubStatement's, reduced; its Activities are done already."""
    verb = statement.get("verb")
    if verb is not None and "display" in verb:
        statement["verb"] = {**verb, "display": best_language(verb["display"], languages)}
    obj = statement.get("object")
    if obj is not None and obj.get("objectType") == "SubStatement":
        statement["object"] = _canonical_statement(dict(obj), languages)
    attachments = statement.get("attachments")
    if attachments is not None:
        statement["attachments"] = [
            _canonical_maps(a, ("display", "description"), languages) for a in attachments
        ]
    return statement


def _canonical_activity(activity: dict[str, Any], languages: list[str]) -> dict[str, Any]:
    definition = activity.get("definition")
    if definition is None:
        return activity
    definition = _canonical_maps(definition, ("name", "description"), languages)
    for key in COMPONENT_LISTS:
        if key in definition:
            definition[key] = [
                _canonical_maps(component, ("description",), languages)
                for component in definition[key]
            ]
    return {**activity, "definition": definition}


def _canonical_maps(
    obj: dict[str, Any], keys: tuple[str, ...], languages: list[str]
) -> dict[str, Any]:
    out = dict(obj)
    for key in keys:
        if key in out:
            out[key] = best_language(out[key], languages)
    return out


def best_language(language_map: dict[str, str], languages: list[str]) -> dict[str, str]:
    """The one entry of a language map that best fits the preference list (tags compare
    case-insensitively, RFC 5646 2.1.1).

    For each range in order: an exact tag, then a tag it is a prefix of (`en` matches
    `en-US`, RFC 2616 14.4). Failing all ranges, a tag with the same primary language as a
    range (`en-US` accepts `en-GB`: better English than another language), then the first
    entry (`*`, no header, or nothing acceptable: every map keeps exactly one entry).
    """
    if len(language_map) <= 1:
        return dict(language_map)
    lowered: dict[str, str] = {}
    for tag in language_map:
        lowered.setdefault(tag.lower(), tag)
    ranges = [r.lower() for r in languages if r != "*"]
    for wanted in ranges:
        found = lowered.get(wanted)
        if found is None:
            prefix = wanted + "-"
            found = next((t for low, t in lowered.items() if low.startswith(prefix)), None)
        if found is not None:
            return {found: language_map[found]}
    for wanted in ranges:
        primary = wanted.split("-", 1)[0]
        for low, tag in lowered.items():
            if low.split("-", 1)[0] == primary:
                return {tag: language_map[tag]}
    tag = next(iter(language_map))
    return {tag: language_map[tag]}


def without_2_0_properties(statement: dict[str, Any]) -> dict[str, Any]:
    """`statement` without the context properties xAPI 2.0 added (contextAgents,
    contextGroups, a SubStatement's too), for 1.0.x clients that cannot ignore properties
    they do not know (1.0.3 Communication 3.3 asks them to). Everything else, the version
    property included, is kept."""
    out = _without_context_lists(statement)
    obj = out.get("object")
    if isinstance(obj, dict) and obj.get("objectType") == "SubStatement":
        nested = _without_context_lists(obj)
        if nested is not obj:
            out = {**out, "object": nested}
    return out


def _without_context_lists(statement: dict[str, Any]) -> dict[str, Any]:
    context = statement.get("context")
    if not isinstance(context, dict) or not any(key in context for key in _CONTEXT_2_0_KEYS):
        return statement
    kept = {key: value for key, value in context.items() if key not in _CONTEXT_2_0_KEYS}
    return {**statement, "context": kept}

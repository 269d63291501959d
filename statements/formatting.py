"""Response formats of GET Statements (Communication 2.1.3 `format`): `ids` and `canonical`.

`exact` needs nothing here: the service returns the stored statement untouched. Both functions
return a new statement and never modify their input; parts they do not change are shared
with it, so serialize the result rather than mutating it.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["best_language", "format_canonical", "format_ids", "parse_accept_language"]

_IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
_COMPONENT_LISTS = ("choices", "scale", "source", "target", "steps")

# RFC 2616 14.4: language-range [ ";" "q" "=" qvalue ].
_LANGUAGE_RANGE = re.compile(
    r"\s*(\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)\s*"
    r"(?:;\s*[qQ]\s*=\s*(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?))?\s*",
    re.ASCII,
)


def format_ids(statement: dict) -> dict:
    """`format=ids`: Agents and identified Groups keep only objectType and their IFI, anonymous
    Groups only objectType and their members reduced the same way, Activities objectType and
    id, Verbs id; everywhere, SubStatements and context included (Communication 2.1.3)."""
    return _ids_statement(statement)


def _ids_statement(statement: dict) -> dict:
    out = dict(statement)
    for key in ("actor", "authority"):
        if key in out:
            out[key] = _ids_agent(out[key])
    if "verb" in out:
        out["verb"] = {"id": out["verb"]["id"]}
    if "object" in out:
        out["object"] = _ids_object(out["object"])
    context = out.get("context")
    if context is not None:
        out["context"] = _ids_context(context)
    return out


def _ids_agent(agent: dict) -> dict:
    out = {key: agent[key] for key in ("objectType", *_IFIS) if key in agent}
    if "member" in agent and not any(key in agent for key in _IFIS):
        # Anonymous Group: the members are what identifies it.
        out["member"] = [_ids_agent(member) for member in agent["member"]]
    return out


def _ids_activity(activity: dict) -> dict:
    return {key: activity[key] for key in ("objectType", "id") if key in activity}


def _ids_object(obj: dict) -> dict:
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        return _ids_activity(obj)
    if kind in ("Agent", "Group"):
        return _ids_agent(obj)
    if kind == "SubStatement":
        return _ids_statement(obj)
    return obj


def _ids_context(context: dict) -> dict:
    out = dict(context)
    for key in ("instructor", "team"):
        if key in out:
            out[key] = _ids_agent(out[key])
    activities = out.get("contextActivities")
    if activities is not None:
        out["contextActivities"] = _map_context_activities(activities, _ids_activity)
    return out


def _map_context_activities(activities: dict, convert: Any) -> dict:
    return {
        kind: [convert(a) for a in value] if type(value) is list else convert(value)
        for kind, value in activities.items()
    }


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


def format_canonical(statement: dict, languages: list[str]) -> dict:
    """`format=canonical`: every language map of Verbs, Activity Definitions (name,
    description, interaction components) and attachments reduced to the one entry that best
    fits `languages` (from parse_accept_language), each map chosen on its own
    (Communication 2.1.3 "Language Filtering Requirements"). Agents stay as stored.

    Replacing definitions with the LRS's canonical ones is the caller's job, before this."""
    return _canonical_statement(statement, languages)


def _canonical_statement(statement: dict, languages: list[str]) -> dict:
    out = dict(statement)
    verb = out.get("verb")
    if verb is not None and "display" in verb:
        out["verb"] = {**verb, "display": best_language(verb["display"], languages)}
    obj = out.get("object")
    if obj is not None:
        kind = obj.get("objectType", "Activity")
        if kind == "Activity":
            out["object"] = _canonical_activity(obj, languages)
        elif kind == "SubStatement":
            out["object"] = _canonical_statement(obj, languages)
    context = out.get("context")
    if context is not None and "contextActivities" in context:
        out["context"] = {
            **context,
            "contextActivities": _map_context_activities(
                context["contextActivities"], lambda a: _canonical_activity(a, languages)
            ),
        }
    attachments = out.get("attachments")
    if attachments is not None:
        out["attachments"] = [
            _canonical_maps(a, ("display", "description"), languages) for a in attachments
        ]
    return out


def _canonical_activity(activity: dict, languages: list[str]) -> dict:
    definition = activity.get("definition")
    if definition is None:
        return activity
    definition = _canonical_maps(definition, ("name", "description"), languages)
    for key in _COMPONENT_LISTS:
        if key in definition:
            definition[key] = [
                _canonical_maps(component, ("description",), languages)
                for component in definition[key]
            ]
    return {**activity, "definition": definition}


def _canonical_maps(obj: dict, keys: tuple[str, ...], languages: list[str]) -> dict:
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
        tag = lowered.get(wanted)
        if tag is None:
            prefix = wanted + "-"
            tag = next((t for low, t in lowered.items() if low.startswith(prefix)), None)
        if tag is not None:
            return {tag: language_map[tag]}
    for wanted in ranges:
        primary = wanted.split("-", 1)[0]
        for low, tag in lowered.items():
            if low.split("-", 1)[0] == primary:
                return {tag: language_map[tag]}
    tag = next(iter(language_map))
    return {tag: language_map[tag]}

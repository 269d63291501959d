"""Statement comparison (Data 2.3.1, "Statement Comparison Requirements").

A statement re-sent with an id the LRS already holds is a no-op when it matches the stored one
and a conflict otherwise. "Matches" ignores exactly the differences the immutability
exceptions of Data 2.3.1 could have caused, and nothing else:

- properties the LRS assigns: `id`, `authority`, `stored`, `version`; and `timestamp` when
  either side lacks it (the LRS fills it in, Data 2.4.7);
- Activity Definitions (the `definition` of every Activity) and Verb `display`;
- timestamp serialization: the same instant in another offset or format, or rounded or
  truncated to milliseconds (Data 4.5), is equal;
- un-ordered lists: the members of a Group (Data 2.4.2.2);
- case-insensitive values: the `mailto:` scheme and e-mail domain (Data 2.4.2.3), the hex of
  `mbox_sha1sum` and `sha2`, UUIDs (RFC 4122 3), language tags (RFC 5646 2.1.1), the MIME
  type of `contentType` (RFC 2045 5.1);
- what LRS processing makes explicit: an omitted default `objectType` ("Agent" for agents,
  "Activity" for an object, "StatementRef" for context.statement) and a single
  contextActivities object versus a one-element array (Data 2.4.6.2).

Everything else is compared as sent: IRIs by simple string comparison (RFC 3987 5.3.1, allowed
by Data 3.1), durations as strings (Data 2.3.1) beyond 0.01 s precision (Data 4.6), extension
values exactly (a boolean is never equal to a number; 1 and 1.0 are the same JSON number).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import orjson

from statements.timestamps import parse_timestamp
from statements.walk import map_agents, normalize_mbox

__all__ = ["statements_equal"]

_LRS_ASSIGNED = frozenset(("id", "authority", "stored", "version", "timestamp"))
_MILLISECOND = timedelta(milliseconds=1)
_SECONDS_FRACTION = re.compile(r"[.,](\d{3,})S\Z")


class _Instant:
    """A timestamp compared as a point in time, tolerating the LRS rounding or truncating it
    to milliseconds (Data 4.5)."""

    __slots__ = ("at",)

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Instant) and abs(self.at - other.at) < _MILLISECOND


class _Exact:
    """An arbitrary JSON value (extensions) compared without Python's `True == 1`; the rest of
    a validated statement has typed fields, so plain `==` is exact there and fast."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Exact) and _same(self.value, other.value)


def statements_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """True when `b` is the same statement as `a` under Data 2.3.1 (see module docstring).

    Both are expected to be validated statements; neither is modified.
    """
    ta, tb = a.get("timestamp"), b.get("timestamp")
    if ta is not None and tb is not None and ta != tb and _instant(ta) != _instant(tb):
        return False
    return _comparable(a) == _comparable(b)


def _comparable(statement: dict[str, Any]) -> dict[str, Any]:
    # Every agent position (xAPI 2.0 context agents included) normalized by the walker, the
    # rest here; the authority is LRS-assigned and skipped.
    return _statement(map_agents(statement, _agent), _LRS_ASSIGNED)


def _same(a: Any, b: Any) -> bool:
    ta, tb = type(a), type(b)
    if ta is not tb:
        return ta in (int, float) and tb in (int, float) and a == b
    if ta is dict:
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    if ta is list:
        return len(a) == len(b) and all(map(_same, a, b))
    equal: bool = a == b
    return equal


def _statement(s: dict[str, Any], skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """`s`, its agents normalized already, in comparable form."""
    out: dict[str, Any] = {}
    for key, value in s.items():
        if key in skip:
            continue
        if key == "verb":
            value = _verb(value)
        elif key == "object":
            value = _object(value)
        elif key == "result":
            value = _result(value)
        elif key == "context":
            value = _context(value)
        elif key == "timestamp":
            value = _instant(value)
        elif key == "attachments":
            value = [_attachment(x) for x in value]
        out[key] = value
    return out


def _instant(value: Any) -> Any:
    try:
        return _Instant(parse_timestamp(value))
    except ValueError:
        return value


def _verb(verb: Any) -> Any:
    return verb.get("id") if type(verb) is dict else verb


def _activity(activity: Any) -> Any:
    return activity.get("id") if type(activity) is dict else activity


def _agent(agent: Any, path: str = "") -> Any:
    """`agent` in comparable form: itself when it is in that form already (the common case,
    so that the walker copies nothing around it)."""
    if type(agent) is not dict:
        return agent
    changes: dict[str, Any] = {}
    if "objectType" not in agent:
        changes["objectType"] = "Agent"
    mbox = agent.get("mbox")
    if type(mbox) is str:
        normalized = _mbox(mbox)
        if normalized != mbox:
            changes["mbox"] = normalized
    sha1 = agent.get("mbox_sha1sum")
    if type(sha1) is str:
        lowered = sha1.lower()
        if lowered != sha1:
            changes["mbox_sha1sum"] = lowered
    members = agent.get("member")
    if type(members) is list:
        changes["member"] = sorted(map(_agent, members), key=_sort_key)
    return {**agent, **changes} if changes else agent


def _mbox(mbox: str) -> str:
    if "@" not in mbox and mbox[:7].lower() == "mailto:":
        # No domain, which validation refuses: lowercased whole, as this module always has.
        return "mailto:" + mbox[7:].lower()
    return normalize_mbox(mbox)


def _sort_key(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _object(obj: Any) -> Any:
    if type(obj) is not dict:
        return obj
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        return ("Activity", _activity(obj))
    if kind in ("Agent", "Group"):
        return obj  # normalized already
    if kind == "StatementRef":
        return _statement_ref(obj)
    return _statement(obj)


def _statement_ref(ref: Any) -> Any:
    if type(ref) is not dict:
        return ref
    out = dict(ref)
    out.setdefault("objectType", "StatementRef")
    if type(out.get("id")) is str:
        out["id"] = out["id"].lower()
    return out


def _result(result: Any) -> Any:
    if type(result) is not dict:
        return result
    out = dict(result)
    if type(out.get("duration")) is str:
        out["duration"] = _duration(out["duration"])
    if "extensions" in out:
        out["extensions"] = _Exact(out["extensions"])
    return out


def _duration(duration: str) -> str:
    """Drop digits beyond hundredths of a second (Data 4.6); the rest compares as a string."""
    match = _SECONDS_FRACTION.search(duration)
    if match is None:
        return duration
    return duration[: match.start(1)] + match[1][:2] + "S"


def _context(context: Any) -> Any:
    if type(context) is not dict:
        return context
    out: dict[str, Any] = {}
    for key, value in context.items():
        if key in ("registration", "language") and type(value) is str:
            value = value.lower()
        elif key == "statement":
            value = _statement_ref(value)
        elif key == "extensions":
            value = _Exact(value)
        elif key == "contextActivities" and type(value) is dict:
            value = {
                kind: [_activity(a) for a in (acts if type(acts) is list else [acts])]
                for kind, acts in value.items()
            }
        out[key] = value
    return out


def _attachment(attachment: Any) -> Any:
    if type(attachment) is not dict:
        return attachment
    out: dict[str, Any] = {}
    for key, value in attachment.items():
        if key in ("display", "description") and type(value) is dict:
            value = {tag.lower(): text for tag, text in value.items()}
        elif key == "sha2" and type(value) is str:
            value = value.lower()
        elif key == "contentType" and type(value) is str:
            mime, semi, params = value.partition(";")
            value = mime.strip().lower() + semi + params
        out[key] = value
    return out

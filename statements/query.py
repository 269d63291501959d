"""GET Statements query parameters (Communication 2.1.3), parsed and checked once.

The input is a mapping of parameter name to its value: a string, or a list of strings for
transports that can repeat a name (pass Flask's `request.args.to_dict(flat=False)`). A name
given more than once is an error, as are unknown names and every bad value; all problems are
collected into one QueryError keyed by parameter name (Communication 2.1.3 "Requirements";
Data 2.2: parameters are validated like the same types in statements).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from statements.agent import agent_key, validate_agent
from statements.errors import QueryError, StatementError
from statements.timestamps import parse_timestamp, stored_timestamp
from statements.values import IRI_ERROR, UUID_ERROR, is_iri, is_uuid

__all__ = ["FORMATS", "StatementQuery", "parse_statement_query"]

FORMATS = ("ids", "exact", "canonical")

UNKNOWN = "unknown parameter"
REPEATED = "must be given only once"
NOT_STRING = "must be a string"
BOOLEAN = "must be true or false"
LIMIT = "must be a non-negative integer"
FORMAT = "must be one of ids, exact, canonical"
AGENT_JSON = "must be a JSON Agent or identified Group object"
AGENT_IDENTIFIED = "must be an Agent or an identified Group (one with an IFI)"
WITH_STATEMENT_ID = "must not be combined with statementId"
WITH_VOIDED_ID = "must not be combined with voidedStatementId"


@dataclass(frozen=True, slots=True)
class StatementQuery:
    """A valid GET Statements request. Timestamps are kept in the storage form
    (`YYYY-MM-DDTHH:MM:SS.ffffffZ`, UTC) and UUIDs in lowercase; `limit` is as asked (0 means
    the server maximum: clamping is the service's job)."""

    statement_id: str | None = None
    voided_statement_id: str | None = None
    agent: dict[str, Any] | None = field(default=None, hash=False)
    agent_key: str | None = None
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    related_activities: bool = False
    related_agents: bool = False
    since: str | None = None
    until: str | None = None
    limit: int = 0
    format: str = "exact"
    attachments: bool = False
    ascending: bool = False

    @property
    def is_single(self) -> bool:
        """statementId or voidedStatementId: one statement, not a StatementResult."""
        return self.statement_id is not None or self.voided_statement_id is not None


def _uuid(text: str) -> str:
    if not is_uuid(text):
        raise ValueError(UUID_ERROR)
    return text.lower()


def _iri(text: str) -> str:
    if not is_iri(text):
        raise ValueError(IRI_ERROR)
    return text


def _boolean(text: str) -> bool:
    """Communication 2.1.3: "represented as true or false as in JSON", in any letter case:
    the `tincan` client sends Python's `True` and `False`."""
    lowered = text.lower() if text.isascii() else text
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise ValueError(BOOLEAN)


def _timestamp(text: str) -> str:
    """A space may stand for the `T` (RFC 3339 5.6): `tincan` sends `str(datetime)`."""
    return stored_timestamp(parse_timestamp(text, allow_space=True))


def _limit(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise ValueError(LIMIT)
    try:
        return int(text)
    except ValueError:  # more digits than int() accepts
        raise ValueError(LIMIT) from None


def _format(text: str) -> str:
    if text not in FORMATS:
        raise ValueError(FORMAT)
    return text


# Wire name -> (StatementQuery field, parser). The agent parameter is parsed apart.
_SIMPLE: dict[str, tuple[str, Callable[[str], Any]]] = {
    "statementId": ("statement_id", _uuid),
    "voidedStatementId": ("voided_statement_id", _uuid),
    "verb": ("verb", _iri),
    "activity": ("activity", _iri),
    "registration": ("registration", _uuid),
    "related_activities": ("related_activities", _boolean),
    "related_agents": ("related_agents", _boolean),
    "since": ("since", _timestamp),
    "until": ("until", _timestamp),
    "limit": ("limit", _limit),
    "format": ("format", _format),
    "attachments": ("attachments", _boolean),
    "ascending": ("ascending", _boolean),
}
_WITH_SINGLE = frozenset(("statementId", "voidedStatementId", "attachments", "format"))


def parse_statement_query(params: Mapping[str, str | Sequence[str]]) -> StatementQuery:
    """Parse GET Statements parameters into a StatementQuery; raise QueryError listing every
    problem under the parameter's name (`agent.mbox` for a bad field of the agent)."""
    errors: dict[str, list[str]] = {}
    texts: dict[str, str] = {}
    for name, raw in params.items():
        if name != "agent" and name not in _SIMPLE:
            errors[name] = [UNKNOWN]
        elif isinstance(raw, str):
            texts[name] = raw
        elif isinstance(raw, Sequence) and len(raw) == 1 and isinstance(raw[0], str):
            texts[name] = raw[0]
        else:
            errors[name] = [REPEATED if isinstance(raw, Sequence) and len(raw) > 1 else NOT_STRING]

    # Communication 2.1.3 "Requirements": a single-statement request takes only
    # attachments and format besides its id.
    if "statementId" in texts and "voidedStatementId" in texts:
        errors.setdefault("voidedStatementId", []).append(WITH_STATEMENT_ID)
    single = WITH_STATEMENT_ID if "statementId" in params else WITH_VOIDED_ID
    if "statementId" in params or "voidedStatementId" in params:
        for name in params:
            if name not in _WITH_SINGLE and name not in errors:
                errors[name] = [single]

    values: dict[str, Any] = {}
    for name, text in texts.items():
        if name in errors:
            continue
        if name == "agent":
            _parse_agent(text, values, errors)
            continue
        attr, parse = _SIMPLE[name]
        try:
            values[attr] = parse(text)
        except ValueError as error:
            errors[name] = [str(error)]
    if errors:
        raise QueryError(errors)
    return StatementQuery(**values)


def _parse_agent(text: str, values: dict[str, Any], errors: dict[str, list[str]]) -> None:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        errors["agent"] = [AGENT_JSON]
        return
    try:
        agent = validate_agent(data, path="agent")
    except StatementError as error:
        errors.update(error.errors)
        return
    key = agent_key(agent)
    if key is None:
        errors["agent"] = [AGENT_IDENTIFIED]
        return
    values["agent"] = agent
    values["agent_key"] = key

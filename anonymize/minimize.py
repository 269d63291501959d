"""What a partner may receive of a statement (the field allow-list of an agreement), and a
stored statement reduced to it.

The allow-list names fields from a fixed catalogue, never arbitrary paths: a path into free
JSON (an object, a whole `context`, any extension) could carry anything a learning app put
there, a child's name included. Each field yields one value per statement, a JSON scalar
unless said otherwise, or nothing when the statement does not hold it:

    id                                   the statement id, re-keyed for the agreement
    timestamp, stored                    as stored
    verb.id
    object.objectType                    "Activity" when the statement leaves it out
    object.id                            an Activity's IRI; a StatementRef's target id,
                                         re-keyed like `id`; nothing for other objects
    object.definition.type
    result.score.scaled, result.score.raw, result.score.min, result.score.max
    result.success, result.completion, result.duration
    context.registration                 re-keyed for the agreement
    context.language, context.platform
    context.contextActivities.parent     (and .grouping, .category, .other): the array of
                                         their Activity IRIs
    context.extensions.<IRI>             a dimension of the agreement only (a JSON scalar)

Learner fields, only for an agreement that includes learner ids (`LEARNER_FIELDS`), hold the
agreement's re-keyed id (`anonymize.rekey`) and nothing else of the agent: an Agent is its id
(a string); a Group is `{"objectType": "Group", "id": ... (when identified), "member":
[member ids]}`:

    actor
    object                               when the object is an Agent or Group
    context.instructor, context.team
    context.contextAgents                (xAPI 2.0) the array of the agents' ids
    context.contextGroups                (xAPI 2.0) the array of the groups

The agent positions are found by the one walker (`statements.walk`); those inside a
SubStatement, and the `authority` (a credential), are never exported. Free text
(`result.response`, names, descriptions), attachments and any other extension are not in the
catalogue, so no agreement can name them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Final

import orjson

from anonymize.generalize import Generalization
from anonymize.rekey import Rekeyer
from statements.walk import CONTEXT_ACTIVITY_KINDS, agent_position_tuples

__all__ = [
    "EXTENSION_PREFIX",
    "LEARNER_FIELDS",
    "MISSING",
    "STATEMENT_FIELDS",
    "Selection",
]

EXTENSION_PREFIX: Final = "context.extensions."
STATEMENT_FIELDS: Final = (
    "id", "timestamp", "stored", "verb.id", "object.objectType", "object.id",
    "object.definition.type", "result.score.scaled", "result.score.raw", "result.score.min",
    "result.score.max", "result.success", "result.completion", "result.duration",
    "context.registration", "context.language", "context.platform",
    *(f"context.contextActivities.{kind}" for kind in CONTEXT_ACTIVITY_KINDS),
)
# The walker's root of each learner field's agent positions (not nested in a SubStatement).
_LEARNER_ROOTS: Final = {
    "actor": "actor",
    "object": "object",
    "instructor": "context.instructor",
    "team": "context.team",
    "contextAgent": "context.contextAgents",
    "contextGroup": "context.contextGroups",
}
LEARNER_FIELDS: Final = tuple(_LEARNER_ROOTS.values())
_LISTS: Final = frozenset({"context.contextAgents", "context.contextGroups"})
_SCALARS: Final = (str, int, float, bool)


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
"""The value of a field a statement does not hold."""

Extract = Callable[[Mapping[str, Any]], Any]


class Selection:
    """A statement reduced to an agreement's fields, with its dimensions generalized.

    `fields` are checked names of the catalogue (the caller checks them, see the module
    docstring); `dimensions` the extension IRIs of the agreement's dimensions in its order,
    each also a field; `rekeyer` makes the agreement's ids (learner fields need it)."""

    __slots__ = ("_dimension_columns", "_extract", "_learner_columns", "_rekeyer",
                 "dimensions", "fields")

    def __init__(
        self, fields: Sequence[str], dimensions: Sequence[str], rekeyer: Rekeyer
    ) -> None:
        self.fields = tuple(fields)
        self.dimensions = tuple(dimensions)
        self._rekeyer = rekeyer
        self._dimension_columns = tuple(
            self.fields.index(EXTENSION_PREFIX + iri) for iri in self.dimensions
        )
        self._learner_columns = {
            field: self.fields.index(field) for field in LEARNER_FIELDS if field in self.fields
        }
        self._extract: list[Extract | None] = [
            None if field in self._learner_columns else self._extractor(field)
            for field in self.fields
        ]

    def _extractor(self, field: str) -> Extract:
        rekey = self._rekeyer
        if field == "id":
            return lambda s: _rekeyed(s.get("id"), rekey.statement_id)
        if field == "context.registration":
            return lambda s: _rekeyed(_get(s, ("context", "registration")), rekey.registration)
        if field == "object.objectType":
            return _object_type
        if field == "object.id":
            return lambda s: _object_id(s, rekey)
        if field.startswith("context.contextActivities."):
            kind = field.rpartition(".")[2]
            return lambda s: _activity_ids(s, kind)
        if field.startswith(EXTENSION_PREFIX):
            path: tuple[str, ...] = ("context", "extensions", field[len(EXTENSION_PREFIX):])
        elif field in STATEMENT_FIELDS:
            path = tuple(field.split("."))
        else:
            raise ValueError(f"{field} is not an exportable field")
        if len(path) == 1:
            (key,) = path
            return lambda s: _scalar(s.get(key, MISSING))
        if len(path) == 2:  # most fields: one level down, without the loop of `_get`
            outer, inner = path
            return lambda s: (
                _scalar(node.get(inner, MISSING))
                if isinstance(node := s.get(outer), dict) else MISSING
            )
        return lambda s: _scalar(_get(s, path))

    def group(self, statement: Mapping[str, Any]) -> tuple[tuple[Hashable, ...], list[str]]:
        """The statement's combination of dimension values and its learners (the members of
        a Group actor, else the actor; by their id for the agreement, one per learner): what
        the quasi-identifier rule counts (`anonymize.generalize`)."""
        actor = statement.get("actor")
        if not isinstance(actor, dict):
            return self._combination(statement), []
        members = actor.get("member")
        agents = members if isinstance(members, list) and members else [actor]
        rekey = self._rekeyer.learner_id
        learners = [
            learner for agent in agents
            if isinstance(agent, dict) and (learner := rekey(agent)) is not None
        ]
        return self._combination(statement), learners

    def _combination(self, statement: Mapping[str, Any]) -> tuple[Hashable, ...]:
        """The dimension values in order, each as its JSON (1 and true must differ), None
        when absent."""
        extensions = _get(statement, ("context", "extensions"))
        return tuple(_json(_dimension(extensions, iri)) for iri in self.dimensions)

    def row(
        self, statement: Mapping[str, Any], generalization: Generalization | None
    ) -> tuple[list[Any], list[str]]:
        """The statement's value of each field (MISSING where it holds none), the dimension
        values the generalization withholds left out, and the fields withheld."""
        values = [MISSING if extract is None else extract(statement) for extract in self._extract]
        if self._learner_columns:
            self._learners(statement, values)
        withheld: list[str] = []
        if self.dimensions:
            kept = 0
            if generalization is not None:
                kept = generalization.kept(
                    tuple(_json(values[column]) for column in self._dimension_columns)
                )
            for column in self._dimension_columns[kept:]:
                if values[column] is not MISSING:
                    values[column] = MISSING
                    withheld.append(self.fields[column])
        return values, withheld

    def _learners(self, statement: Mapping[str, Any], values: list[Any]) -> None:
        """The learner fields' values, from the walker's agent positions."""
        columns = self._learner_columns
        rekey = self._rekeyer.learner_id
        group: dict[str, Any] | None = None
        for _path, node, root, nested, member in agent_position_tuples(
            statement, authority=False
        ):
            field = _LEARNER_ROOTS.get(root)
            if nested or field not in columns:
                continue
            column = columns[field]
            if member:
                learner = rekey(node)
                if group is not None and learner is not None:
                    group["member"].append(learner)
                continue
            value: Any
            if node.get("objectType") == "Group":
                group = value = {"objectType": "Group", "member": []}
                learner = rekey(node)
                if learner is not None:
                    value["id"] = learner
            else:
                group, value = None, rekey(node)
                if value is None:
                    continue
            if field in _LISTS:
                if values[column] is MISSING:
                    values[column] = []
                values[column].append(value)
            else:
                values[column] = value


def _get(statement: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = statement
    for key in path:
        if not isinstance(node, dict):
            return MISSING
        node = node.get(key, MISSING)
    return node


def _json(value: Any) -> Hashable:
    """A dimension value as the rule counts it: its JSON (so 1 and true differ), None when
    absent."""
    return None if value is MISSING else orjson.dumps(value)


def _scalar(value: Any) -> Any:
    """Only JSON scalars leave through a scalar field: an object or array there (invalid
    xAPI, or an extension value) could hold anything."""
    return value if isinstance(value, _SCALARS) else MISSING


def _dimension(extensions: Any, iri: str) -> Any:
    return _scalar(extensions.get(iri, MISSING)) if isinstance(extensions, dict) else MISSING


def _rekeyed(value: Any, rekey: Callable[[str], str]) -> Any:
    return rekey(value) if isinstance(value, str) else MISSING


def _object_type(statement: Mapping[str, Any]) -> Any:
    obj = statement.get("object")
    return _scalar(obj.get("objectType", "Activity")) if isinstance(obj, dict) else MISSING


def _object_id(statement: Mapping[str, Any], rekey: Rekeyer) -> Any:
    obj = statement.get("object")
    if not isinstance(obj, dict):
        return MISSING
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        return _scalar(obj.get("id", MISSING))
    if kind == "StatementRef":
        return _rekeyed(obj.get("id"), rekey.statement_id)
    return MISSING


def _activity_ids(statement: Mapping[str, Any], kind: str) -> Any:
    found = _get(statement, ("context", "contextActivities", kind))
    if isinstance(found, dict):
        found = [found]
    if not isinstance(found, list):
        return MISSING
    ids = [a["id"] for a in found if isinstance(a, dict) and isinstance(a.get("id"), str)]
    return ids or MISSING

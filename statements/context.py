"""The Context and its contextActivities (Data 2.4.6); xAPI 2.0's contextAgents and
contextGroups (9274.1.1, xapi-2.0-notes.md section 2), in the 2.0 Context only."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError

from statements.activity import check_activity
from statements.agent import AgentOnly, AgentOrGroup, GroupOnly, equals
from statements.base import ArrayOf, CachedObject, ModelField, Object, Strict, StrictSchema
from statements.reference import StatementRefSchema
from statements.values import (
    IRI_ERROR,
    check_extensions,
    check_language_tag,
    check_string,
    check_uuid,
    is_iri,
)

ACTIVITIES_ERROR = "must be an Activity object or an array of Activity objects"
RELEVANT_TYPES_ERROR = "must be a non-empty array of Activity type IRIs"


class ActivityOrArray(ModelField):
    """A contextActivities value: one Activity or an array of them (Data 2.4.6.2).

    The value is returned as sent; `normalize_context` turns a single Activity into a
    one-element array afterwards.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if type(value) is dict:
            return check_activity(value)
        if type(value) is not list:
            raise ValidationError(ACTIVITIES_ERROR)
        errors: dict[int, Any] = {}
        for index, item in enumerate(value):
            try:
                check_activity(item)
            except ValidationError as error:
                errors[index] = error.messages
        if errors:
            raise ValidationError(errors)
        return value


class ContextActivitiesSchema(StrictSchema):
    """Only the four context types are keys."""

    parent = ActivityOrArray()
    grouping = ActivityOrArray()
    category = ActivityOrArray()
    other = ActivityOrArray()


class ContextSchema(StrictSchema):
    """Every property is optional; revision and platform are checked against the object by
    the statement (they depend on it)."""

    registration = Strict(check_uuid)
    instructor = AgentOrGroup()
    team = GroupOnly()
    # Cached on its own: a context differs per registration, its activities per course.
    context_activities = CachedObject(ContextActivitiesSchema(), data_key="contextActivities")
    revision = Strict(check_string)
    platform = Strict(check_string)
    language = Strict(check_language_tag)
    statement = Object(StatementRefSchema())
    extensions = Strict(check_extensions)


def check_relevant_types(value: Any) -> str | Any | None:
    """A contextAgent's or contextGroup's relevantTypes: optional, but never empty; errors
    are keyed by index."""
    if type(value) is not list or not value:
        return RELEVANT_TYPES_ERROR
    errors = {index: [IRI_ERROR] for index, item in enumerate(value) if not is_iri(item)}
    return errors or None


class ContextAgentSchema(StrictSchema):
    """An item of xAPI 2.0 contextAgents: objectType `contextAgent` and an Agent."""

    object_type = Strict(equals("contextAgent"), required=True, data_key="objectType")
    agent = AgentOnly(required=True)
    relevant_types = Strict(check_relevant_types, data_key="relevantTypes")


class ContextGroupSchema(StrictSchema):
    """An item of xAPI 2.0 contextGroups: objectType `contextGroup` and a Group."""

    object_type = Strict(equals("contextGroup"), required=True, data_key="objectType")
    group = GroupOnly(required=True)
    relevant_types = Strict(check_relevant_types, data_key="relevantTypes")


class ContextSchema2(ContextSchema):
    """The xAPI 2.0 Context: the 1.0.3 one with contextAgents and contextGroups, arrays of
    the items above (on a 1.0.x request they stay unknown properties)."""

    context_agents = ArrayOf(Object(ContextAgentSchema()), data_key="contextAgents")
    context_groups = ArrayOf(Object(ContextGroupSchema()), data_key="contextGroups")


def normalize_context(context: dict[str, Any]) -> None:
    """Wrap each single contextActivities Activity in an array, in place (Data 2.4.6.2:
    the LRS returns every value as an array)."""
    activities = context.get("contextActivities")
    if activities:
        for key, value in activities.items():
            if type(value) is dict:
                activities[key] = [value]

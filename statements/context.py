"""The Context and its contextActivities (Data 2.4.6)."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError

from statements.activity import check_activity
from statements.agent import AgentOrGroup, GroupOnly
from statements.base import ModelField, Object, Strict, StrictSchema
from statements.reference import StatementRefSchema
from statements.values import (
    check_extensions,
    check_language_tag,
    check_string,
    check_uuid,
)

ACTIVITIES_ERROR = "must be an Activity object or an array of Activity objects"


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
    context_activities = Object(ContextActivitiesSchema(), data_key="contextActivities")
    revision = Strict(check_string)
    platform = Strict(check_string)
    language = Strict(check_language_tag)
    statement = Object(StatementRefSchema())
    extensions = Strict(check_extensions)


def normalize_context(context: dict[str, Any]) -> None:
    """Wrap each single contextActivities Activity in an array, in place (Data 2.4.6.2:
    the LRS returns every value as an array)."""
    activities = context.get("contextActivities")
    if activities:
        for key, value in activities.items():
            if type(value) is dict:
                activities[key] = [value]

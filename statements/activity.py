"""Activities, Activity Definitions and interactions (Data 2.4.4.1)."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, validates_schema

from statements.agent import equals
from statements.base import ArrayOf, BoundedCache, Object, Strict, StrictSchema, check_cached
from statements.values import (
    check_extensions,
    check_iri,
    check_irl,
    check_language_map,
    check_string,
)

INTERACTION_TYPES = (
    "true-false",
    "choice",
    "fill-in",
    "long-fill-in",
    "matching",
    "performance",
    "sequencing",
    "likert",
    "numeric",
    "other",
)
COMPONENT_LISTS = ("choices", "scale", "source", "target", "steps")
# Data 2.4.4.1 "Interaction Components": the component lists each interactionType supports.
ALLOWED_LISTS: dict[str, tuple[str, ...]] = {
    "choice": ("choices",),
    "sequencing": ("choices",),
    "likert": ("scale",),
    "matching": ("source", "target"),
    "performance": ("steps",),
}
INTERACTION_TYPE_ERROR = "must be one of " + ", ".join(INTERACTION_TYPES)
NEEDS_INTERACTION_TYPE = "is only allowed in an interaction Activity (with an interactionType)"
DUPLICATE_COMPONENT = "must be distinct within the component list"


def _check_interaction_type(value: Any) -> str | None:
    return None if type(value) is str and value in INTERACTION_TYPES else INTERACTION_TYPE_ERROR


class InteractionComponentSchema(StrictSchema):
    """An interaction component: an id and an optional description."""

    id = Strict(check_string, required=True)
    description = Strict(check_language_map)


class ComponentList(ArrayOf):
    """An interaction component list whose ids are all distinct (Data 2.4.4.1)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Object(InteractionComponentSchema()), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        super()._deserialize(value, attr, data, **kwargs)
        seen: set[str] = set()
        errors: dict[int, Any] = {}
        for index, component in enumerate(value):
            if component["id"] in seen:
                errors[index] = {"id": [DUPLICATE_COMPONENT]}
            seen.add(component["id"])
        if errors:
            raise ValidationError(errors)
        return value


class ActivityDefinitionSchema(StrictSchema):
    """The Activity Definition, including the interaction properties."""

    name = Strict(check_language_map)
    description = Strict(check_language_map)
    type = Strict(check_iri)
    more_info = Strict(check_irl, data_key="moreInfo")
    extensions = Strict(check_extensions)
    interaction_type = Strict(_check_interaction_type, data_key="interactionType")
    correct_responses_pattern = ArrayOf(Strict(check_string), data_key="correctResponsesPattern")
    choices = ComponentList()
    scale = ComponentList()
    source = ComponentList()
    target = ComponentList()
    steps = ComponentList()

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _interaction(self, data: Any, original: Any, **kwargs: Any) -> None:
        """Component lists only where the interactionType supports them; interaction
        properties only in an interaction (Data 2.4.4.1 "Interaction Activities")."""
        if type(original) is not dict:  # already reported as not an object
            return
        kind = original.get("interactionType")
        errors: dict[str, list[str]] = {}
        if kind is None and "correctResponsesPattern" in original:
            errors["correctResponsesPattern"] = [NEEDS_INTERACTION_TYPE]
        for name in COMPONENT_LISTS:
            if name not in original:
                continue
            if kind is None:
                errors[name] = [NEEDS_INTERACTION_TYPE]
            elif kind in INTERACTION_TYPES and name not in ALLOWED_LISTS.get(kind, ()):
                errors[name] = [f"is not allowed for interactionType {kind}"]
        if errors:
            raise ValidationError(errors)


class ActivitySchema(StrictSchema):
    """An Activity: objectType (optional), an IRI id and an optional definition."""

    object_type = Strict(equals("Activity"), data_key="objectType")
    id = Strict(check_iri, required=True)
    definition = Object(ActivityDefinitionSchema())


ACTIVITY_SCHEMA = ActivitySchema()
ACTIVITY_CACHE = BoundedCache()


def check_activity(value: Any) -> Any:
    """Validate an Activity (raises marshmallow's ValidationError)."""
    return check_cached(ACTIVITY_SCHEMA, ACTIVITY_CACHE, value)

"""Activities, Activity Definitions and interactions (Data 2.4.4.1), extensions (Data 4.1)
and language maps (Data 4.2)."""

from __future__ import annotations

import itertools

import pytest
import xapi_examples as ex
from model_testing import DELETE, changed, errors

from statements.activity import ALLOWED_LISTS, COMPONENT_LISTS, INTERACTION_TYPES

OBJECT_TYPES = "must be Activity, Agent, Group, StatementRef or SubStatement"


def with_definition(definition: dict) -> dict:
    return changed(ex.SIMPLEST, "object.definition", definition)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("object.id", DELETE, "is required"),
        ("object.id", "example.adlnet.gov/activity", "must be an absolute IRI"),
        ("object.id", "activity#1", "must be an absolute IRI"),
        ("object.id", "http://example.com/has space", "must be an absolute IRI"),
        ("object.id", "http://example.com/%zz", "must be an absolute IRI"),
        ("object.id", "", "must be an absolute IRI"),
        ("object.id", None, "must not be null"),
        ("object.objectType", "activity", OBJECT_TYPES),
        ("object.definition", "a course", "must be an object"),
        ("object.definitions", {}, "unknown property"),
    ],
)
def test_activity_object_data_2_4_4_1(path, value, message):
    assert errors(changed(ex.SIMPLEST, path, value)) == {path: [message]}


def test_activity_with_explicit_object_type():
    assert errors(changed(ex.SIMPLEST, "object.objectType", "Activity")) == {}


def test_activity_id_may_be_an_internationalized_iri_data_4_3():
    assert errors(changed(ex.SIMPLEST, "object.id", "http://example.com/فعل/خواندن")) == {}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("name", "simple statement", "must be an object"),
        ("description", ["A description"], "must be an object"),
        ("type", "assessment", "must be an absolute IRI"),
        ("moreInfo", "virtualmeeting.example.com/345256", "must be an absolute IRL"),
        ("extensions", [], "must be an object"),
        ("interactionType", "Choice", "must be one of true-false, choice, fill-in"),
        ("interactionType", "multiple-choice", "must be one of true-false, choice, fill-in"),
        ("MoreInfo", "http://example.com", "unknown property"),
    ],
)
def test_definition_properties_data_2_4_4_1(key, value, message):
    found = errors(with_definition({key: value}))
    assert list(found) == [f"object.definition.{key}"]
    assert found[f"object.definition.{key}"][0].startswith(message)


@pytest.mark.parametrize(
    ("name_map", "path", "message"),
    [
        ({"en US": "x"}, "object.definition.name.en US", "must be an RFC 5646 language tag"),
        ({"": "x"}, "object.definition.name.", "must be an RFC 5646 language tag"),
        ({"en_US": "x"}, "object.definition.name.en_US", "must be an RFC 5646 language tag"),
        ({"en-US": 1}, "object.definition.name.en-US", "must be a string"),
        ({"en-US": None}, "object.definition.name.en-US", "must be a string"),
        ({"en-US": {"text": "x"}}, "object.definition.name.en-US", "must be a string"),
    ],
)
def test_language_map_data_4_2(name_map, path, message):
    assert errors(with_definition({"name": name_map})) == {path: [message]}


@pytest.mark.parametrize(
    "value", ["text", 1, 1.5, True, None, [1, "a", None], {"nested": {"deep": [None]}}]
)
def test_extension_values_are_never_rejected_data_4_1(value):
    definition = {"extensions": {"http://example.com/ext": value}}
    assert errors(with_definition(definition)) == {}


def test_extension_keys_must_be_iris_data_4_1():
    found = errors(with_definition({"extensions": {"room": "Kilby"}}))
    assert found == {"object.definition.extensions.room": ["key must be an absolute IRI"]}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), [2**70], {"a": {1: "b"}}, (1, 2)])
def test_extension_values_must_be_storable_json(value):
    """Not JSON at all (NaN, tuples, non-string keys) or beyond 64-bit integers."""
    found = errors(with_definition({"extensions": {"http://example.com/x": value}}))
    assert found == {"object.definition.extensions.http://example.com/x": ["must be a JSON value"]}


def _component_list_cases() -> list:
    return [
        pytest.param(kind, name, name in ALLOWED_LISTS.get(kind, ()), id=f"{kind}-{name}")
        for kind, name in itertools.product(INTERACTION_TYPES, COMPONENT_LISTS)
    ]


@pytest.mark.parametrize(("kind", "name", "allowed"), _component_list_cases())
def test_component_lists_by_interaction_type(kind, name, allowed):
    """Data 2.4.4.1 "Interaction Components": the supported lists per interactionType."""
    definition = {"interactionType": kind, name: [{"id": "a"}, {"id": "b"}]}
    found = errors(with_definition(definition))
    if allowed:
        assert found == {}
    else:
        assert found == {
            f"object.definition.{name}": [f"is not allowed for interactionType {kind}"]
        }


@pytest.mark.parametrize("name", [*COMPONENT_LISTS, "correctResponsesPattern"])
def test_interaction_properties_need_an_interaction_type(name):
    value = ["true"] if name == "correctResponsesPattern" else [{"id": "a"}]
    found = errors(with_definition({name: value}))
    assert list(found) == [f"object.definition.{name}"]
    assert "interactionType" in found[f"object.definition.{name}"][0]


def test_component_ids_must_be_distinct():
    definition = changed(ex.INTERACTIONS["choice"], "choices[2].id", "golf")
    assert errors(with_definition(definition)) == {
        "object.definition.choices[2].id": ["must be distinct within the component list"]
    }


@pytest.mark.parametrize(
    ("component", "path", "message"),
    [
        ({"description": {"en-US": "Golf"}}, "id", "is required"),
        ({"id": 1}, "id", "must be a string"),
        ({"id": "golf", "description": "Golf"}, "description", "must be an object"),
        ({"id": "golf", "name": {"en-US": "Golf"}}, "name", "unknown property"),
    ],
)
def test_interaction_component_data_2_4_4_1(component, path, message):
    definition = changed(ex.INTERACTIONS["choice"], "choices[1]", component)
    found = errors(with_definition(definition))
    assert found == {f"object.definition.choices[1].{path}": [message]}


def test_component_list_must_be_an_array_of_objects():
    definition = changed(ex.INTERACTIONS["likert"], "scale", ["likert_0"])
    assert errors(with_definition(definition)) == {
        "object.definition.scale[0]": ["must be an object"]
    }


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        ("true", "object.definition.correctResponsesPattern"),
        ([True], "object.definition.correctResponsesPattern[0]"),
        (["4[:]", 4], "object.definition.correctResponsesPattern[1]"),
    ],
)
def test_correct_responses_pattern_is_an_array_of_strings(pattern, path):
    definition = changed(ex.INTERACTIONS["numeric"], "correctResponsesPattern", pattern)
    found = errors(with_definition(definition))
    assert list(found) == [path]


def test_empty_correct_responses_pattern_means_no_correct_answer():
    definition = changed(ex.INTERACTIONS["true-false"], "correctResponsesPattern", [])
    assert errors(with_definition(definition)) == {}


def test_long_response_patterns_are_not_limited():
    """Data 2.4.4.1: the LRS SHOULD* NOT enforce character or array length limits."""
    definition = changed(
        ex.INTERACTIONS["long-fill-in"], "correctResponsesPattern", ["x" * 10_000] * 500
    )
    assert errors(with_definition(definition)) == {}

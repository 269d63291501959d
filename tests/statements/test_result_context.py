"""Result and Score (Data 2.4.5), durations (Data 4.6), and Context (Data 2.4.6)."""

from __future__ import annotations

import pytest
import xapi_examples as ex
from model_testing import changed, errors

REGISTRATION = "ec531277-b57b-4c15-8d91-d292c5b2b8f7"
AGENT = {"mbox": "mailto:teacher@example.com"}
TEAM = {"objectType": "Group", "mbox": "mailto:teampb@example.com"}


def with_result(result: dict) -> dict:
    return changed(ex.SIMPLEST, "result", result)


def with_context(context: dict) -> dict:
    return changed(ex.SIMPLEST, "context", context)


@pytest.mark.parametrize(
    "score",
    [
        {"scaled": -1},
        {"scaled": 1},
        {"scaled": 0.95},
        {"raw": 83, "min": 0, "max": 100},
        {"raw": 0, "min": 0, "max": 100},
        {"raw": 100, "min": 0, "max": 100},
        {"raw": -5.5},
        {"min": -10, "max": -1},
        {},
    ],
)
def test_valid_scores_data_2_4_5_1(score):
    assert errors(with_result({"score": score})) == {}


@pytest.mark.parametrize(
    ("score", "path", "message"),
    [
        ({"scaled": 1.01}, "scaled", "must be between -1 and 1"),
        ({"scaled": -1.5}, "scaled", "must be between -1 and 1"),
        ({"raw": 101, "max": 100}, "raw", "must not be greater than max"),
        ({"raw": -1, "min": 0}, "raw", "must not be less than min"),
        ({"min": 10, "max": 10}, "min", "must be less than max"),
        ({"min": 11, "max": 10}, "min", "must be less than max"),
        ({"scaled": "0.5"}, "scaled", "must be a number"),
        ({"raw": True}, "raw", "must be a number"),
        ({"max": None}, "max", "must not be null"),
        ({"percent": 50}, "percent", "unknown property"),
    ],
)
def test_invalid_scores_data_2_4_5_1(score, path, message):
    assert errors(with_result({"score": score})) == {f"result.score.{path}": [message]}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("success", "true", "must be a boolean"),
        ("completion", 1, "must be a boolean"),
        ("response", 42, "must be a string"),
        ("duration", 1234, "must be an ISO 8601 duration"),
        ("extensions", "x", "must be an object"),
        ("score", 0.5, "must be an object"),
        ("Success", True, "unknown property"),
    ],
)
def test_result_properties_data_2_4_5(key, value, message):
    assert errors(with_result({key: value})) == {f"result.{key}": [message]}


@pytest.mark.parametrize(
    "duration",
    [
        "PT4H35M59.14S",
        "PT16559.14S",
        "P3Y1M29DT4H35M59.14S",
        "P3Y",
        "P4W",
        "PT1H0M0S",
        "PT0.123456S",
        "P1D",
        "PT1M",
        "P0D",
    ],
)
def test_iso_8601_durations_data_4_6(duration):
    assert errors(with_result({"duration": duration})) == {}


@pytest.mark.parametrize(
    "duration",
    ["P4W1D", "P", "PT", "P1DT", "PT4H35M59.14", "P0003-02-01T04:35:59", "4H", "pt1h", "P1.5", ""],
)
def test_malformed_durations_data_4_6(duration):
    assert errors(with_result({"duration": duration})) == {
        "result.duration": ["must be an ISO 8601 duration"]
    }


def test_result_must_be_an_object():
    assert errors(changed(ex.SIMPLEST, "result", ["x"])) == {"result": ["must be an object"]}


def test_full_context_data_2_4_6():
    context = {
        "registration": REGISTRATION,
        "instructor": AGENT,
        "team": TEAM,
        "contextActivities": {
            "parent": [{"id": "http://example.com/test1"}],
            "grouping": {"id": "http://example.com/algebra1", "objectType": "Activity"},
            "category": [],
            "other": [{"id": "http://example.com/a"}, {"id": "http://example.com/b"}],
        },
        "revision": "2",
        "platform": "web",
        "language": "zh-Hant-TW",
        "statement": {"objectType": "StatementRef", "id": REGISTRATION},
        "extensions": {"http://example.com/ext/altitude": 1200},
    }
    assert errors(with_context(context)) == {}


def test_instructor_may_be_a_group_data_2_4_6():
    assert errors(with_context({"instructor": TEAM})) == {}


@pytest.mark.parametrize(
    ("context", "path", "message"),
    [
        ({"registration": "not-a-uuid"}, "registration", "must be a UUID in canonical form"),
        ({"registration": ""}, "registration", "must be a UUID in canonical form"),
        ({"instructor": {"name": "Nobody"}}, "instructor", "exactly one of"),
        ({"team": AGENT}, "team.objectType", "must be Group"),
        ({"team": {**AGENT, "objectType": "Agent"}}, "team.objectType", "must be Group"),
        ({"team": {"objectType": "Group"}}, "team.member", "is required"),
        ({"revision": 2}, "revision", "must be a string"),
        ({"platform": ["web"]}, "platform", "must be a string"),
        ({"language": "en_US"}, "language", "must be an RFC 5646 language tag"),
        ({"language": ""}, "language", "must be an RFC 5646 language tag"),
        ({"statement": {"id": REGISTRATION}}, "statement.objectType", "is required"),
        (
            {"statement": {"objectType": "Statement", "id": REGISTRATION}},
            "statement.objectType",
            "must be StatementRef",
        ),
        ({"extensions": {"altitude": 1}}, "extensions.altitude", "key must be an absolute IRI"),
        ({"contextActivity": {}}, "contextActivity", "unknown property"),
    ],
)
def test_invalid_context_data_2_4_6(context, path, message):
    found = errors(with_context(context))
    assert list(found) == [f"context.{path}"]
    assert found[f"context.{path}"][0].startswith(message)


@pytest.mark.parametrize(
    ("activities", "path", "message"),
    [
        ({"parents": []}, "parents", "unknown property"),
        ({"Parent": []}, "Parent", "unknown property"),
        ({"parent": "http://example.com/a"}, "parent", "must be an Activity object or an array"),
        ({"parent": [{"id": "a"}]}, "parent[0].id", "must be an absolute IRI"),
        (
            {"grouping": [{"id": "http://example.com/a"}, {"definition": {}}]},
            "grouping[1].id",
            "is required",
        ),
        ({"other": {"id": "relative"}}, "other.id", "must be an absolute IRI"),
        (
            {"category": [{"objectType": "Agent", "id": "http://x.com"}]},
            "category[0].objectType",
            "must be Activity",
        ),
        ({"parent": None}, "parent", "must not be null"),
    ],
)
def test_context_activities_data_2_4_6_2(activities, path, message):
    found = errors(with_context({"contextActivities": activities}))
    assert list(found) == [f"context.contextActivities.{path}"]
    assert found[f"context.contextActivities.{path}"][0].startswith(message)


def test_context_must_be_an_object():
    assert errors(changed(ex.SIMPLEST, "context", "x")) == {"context": ["must be an object"]}

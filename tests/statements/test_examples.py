"""Every JSON example of xAPI-Data.md validates, and comes back exactly as sent."""

from __future__ import annotations

import copy

import pytest
import xapi_examples as ex
from model_testing import changed

from statements import validate, validate_statements

STATEMENTS = {
    "voiding (Data 2.3.2)": ex.VOIDING,
    "simplest (Data 2.4)": ex.SIMPLEST,
    "statement reference (Data 2.4.4.3)": ex.STATEMENT_REF,
    "substatement (Data 2.4.4.3)": ex.SUBSTATEMENT,
    "simple (Appendix A)": ex.SIMPLE,
    "completion (Appendix A)": ex.COMPLETION,
    "long (Appendix A)": ex.LONG,
    "signed, with attachment metadata (Appendix D)": ex.SIGNED,
}

OBJECTS = {
    "activity": ex.OBJECT_ACTIVITY,
    "agent": ex.OBJECT_AGENT,
    "identified group": ex.OBJECT_GROUP,
    "substatement": ex.OBJECT_SUBSTATEMENT,
}


@pytest.mark.parametrize("statement", STATEMENTS.values(), ids=STATEMENTS.keys())
def test_spec_example_statement_is_valid_and_unchanged(statement):
    sent = copy.deepcopy(statement)
    assert validate(statement) == statement
    assert statement == sent  # the input is never modified


@pytest.mark.parametrize("target", OBJECTS.values(), ids=OBJECTS.keys())
def test_appendix_b_object_examples(target):
    statement = changed(ex.SIMPLEST, "object", target)
    assert validate(statement) == statement


@pytest.mark.parametrize("kind", ex.INTERACTIONS)
def test_appendix_c_interaction_definitions(kind):
    statement = changed(ex.SIMPLEST, "object.definition", ex.INTERACTIONS[kind])
    assert validate(statement) == statement


def test_account_agent_and_verb_examples():
    statement = changed(changed(ex.SIMPLEST, "actor", ex.ACCOUNT_AGENT), "verb", ex.VERB)
    assert validate(statement) == statement


def test_oauth_authority_example_data_2_4_9():
    statement = changed(ex.SIMPLEST, "authority", ex.OAUTH_AUTHORITY)
    assert validate(statement) == statement


def test_context_activities_example_data_2_4_6_2():
    statement = changed(ex.SIMPLEST, "context", {"contextActivities": ex.CONTEXT_ACTIVITIES})
    assert validate(statement) == statement


def test_single_context_activity_is_returned_as_array_data_2_4_6_2():
    single = {"id": "http://example.adlnet.gov/xapi/example/test1"}
    statement = changed(ex.SIMPLEST, "context", {"contextActivities": {"parent": single}})
    result = validate(statement)
    assert result["context"]["contextActivities"]["parent"] == [single]
    assert statement["context"]["contextActivities"]["parent"] == single  # input untouched
    assert changed(result, "context", statement["context"]) == statement


def test_single_context_activity_inside_substatement_is_normalized():
    single = {"id": "http://example.com/parent"}
    statement = changed(ex.SUBSTATEMENT, "object.context", {"contextActivities": {"other": single}})
    result = validate(statement)
    assert result["object"]["context"]["contextActivities"]["other"] == [single]


def test_result_shares_no_object_with_the_input():
    statement = copy.deepcopy(ex.LONG)
    result = validate(statement)
    result["actor"]["member"].clear()
    result["context"]["contextActivities"]["parent"][0]["id"] = "http://changed.example.com"
    assert statement == ex.LONG


def test_nothing_is_added_data_2_4():
    """Defaults (objectType, version, timestamp) are not written by validation."""
    result = validate(ex.SIMPLEST)
    assert "objectType" not in result["object"]
    assert "objectType" not in result["actor"]
    assert set(result) == set(ex.SIMPLEST)


def test_batch_of_every_example():
    batch = list(STATEMENTS.values())
    assert validate_statements(batch) == batch

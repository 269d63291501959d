"""Query fields of a statement (Communication 2.1.3 filters, Data 2.3.2 voiding)."""

from __future__ import annotations

import dataclasses

import pytest
import xapi_examples as ex
from model_testing import changed

from statements import IndexFields, statement_index_fields, validate

AMY = {"mbox": "mailto:amy@example.com"}
BEN = {"account": {"homePage": "http://lms.example.com", "name": "ben"}}
CAL = {"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"}
TEAM = {"objectType": "Group", "openid": "http://team.example.com/", "member": [BEN]}


def fields_of(statement: dict) -> IndexFields:
    return statement_index_fields(validate(statement))


def test_simple_statement():
    assert fields_of(ex.SIMPLEST) == IndexFields(
        verb="http://adlnet.gov/expapi/verbs/created",
        registration=None,
        ref=None,
        voids=None,
        agents=("mbox:mailto:xapi@adlnet.gov",),
        related_agents=("mbox:mailto:xapi@adlnet.gov",),
        activities=("http://example.adlnet.gov/xapi/example/activity",),
        related_activities=("http://example.adlnet.gov/xapi/example/activity",),
    )


def test_fields_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        fields_of(ex.SIMPLEST).verb = "x"  # type: ignore[misc]


def test_voiding_statement_data_2_3_2():
    found = fields_of(ex.VOIDING)
    assert found.voids == found.ref == "e05aa883-acaf-40ad-bf54-02c8ce485fb0"
    assert found.activities == ()


def test_statement_ref_that_does_not_void():
    found = fields_of(ex.STATEMENT_REF)
    assert found.ref == "8f87ccde-bb56-4c2e-ab83-44982ef22df0"
    assert found.voids is None


def test_identifiers_are_canonical():
    statement = changed(ex.VOIDING, "object.id", "E05AA883-ACAF-40AD-BF54-02C8CE485FB0")
    statement = changed(statement, "actor.mbox", "mailto:Admin@Example.ADLNET.gov")
    statement["context"] = {"registration": "EC531277-B57B-4C15-8D91-D292C5B2B8F7"}
    found = fields_of(statement)
    assert found.voids == "e05aa883-acaf-40ad-bf54-02c8ce485fb0"
    assert found.registration == "ec531277-b57b-4c15-8d91-d292c5b2b8f7"
    assert found.agents == ("mbox:mailto:Admin@example.adlnet.gov",)


def test_group_actor_matches_its_members_communication_2_1_3():
    """`agent`: Groups whose members match the given Agent are a match."""
    found = fields_of(ex.LONG)
    assert found.agents == (
        "mbox:mailto:teampb@example.com",
        "account:http://www.example.com|13936749",
        "openid:http://toby.openid.example.org/",
        "mbox_sha1sum:ebd31e95054c018b10727ccffd2ef2ec3a016ee9",
    )


def test_agent_object_is_an_agent_not_an_activity():
    statement = changed(ex.SIMPLEST, "object", ex.OBJECT_AGENT)
    found = fields_of(statement)
    assert found.agents == ("mbox:mailto:xapi@adlnet.gov", "mbox:mailto:andrew@example.co.uk")
    assert found.activities == found.related_activities == ()


def test_related_agents_and_activities_communication_2_1_3():
    statement = changed(ex.SUBSTATEMENT, "authority", ex.OAUTH_AUTHORITY)
    statement["context"] = {
        "instructor": BEN,
        "team": TEAM,
        "contextActivities": {
            "parent": {"id": "http://example.com/course"},
            "grouping": [{"id": "http://example.com/program"}],
        },
    }
    sub = statement["object"]
    sub["actor"] = AMY
    sub["context"] = {
        "instructor": CAL,
        "contextActivities": {"category": [{"id": "http://example.com/profile"}]},
    }
    found = fields_of(statement)
    assert found.agents == ("mbox:mailto:test@example.com",)
    assert found.activities == ()
    assert found.related_agents == (
        "mbox:mailto:test@example.com",
        "account:http://example.com/xAPI/OAuth/Token|oauth_consumer_x75db",
        "mbox:mailto:bob@example.com",
        "account:http://lms.example.com|ben",
        "openid:http://team.example.com/",
        "mbox:mailto:amy@example.com",
        "mbox_sha1sum:ebd31e95054c018b10727ccffd2ef2ec3a016ee9",
    )
    assert found.related_activities == (
        "http://example.com/course",
        "http://example.com/program",
        "http://example.com/website",
        "http://example.com/profile",
    )


def test_anonymous_group_contributes_only_members():
    statement = changed(ex.SIMPLEST, "actor", {"objectType": "Group", "member": [AMY, BEN]})
    assert fields_of(statement).agents == (
        "mbox:mailto:amy@example.com",
        "account:http://lms.example.com|ben",
    )


def test_duplicates_are_removed():
    statement = changed(ex.SIMPLEST, "actor", AMY)
    statement["context"] = {
        "instructor": AMY,
        "contextActivities": {"parent": [{"id": ex.SIMPLEST["object"]["id"]}]},
    }
    found = fields_of(statement)
    assert found.related_agents == ("mbox:mailto:amy@example.com",)
    assert found.related_activities == (ex.SIMPLEST["object"]["id"],)

"""Agents, Groups and Inverse Functional Identifiers (Data 2.4.2), `validate_agent` and
`agent_key`."""

from __future__ import annotations

import pytest
import xapi_examples as ex
from model_testing import DELETE, changed, errors

from statements import StatementError, agent_key, validate_agent

IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
EXACTLY_ONE = "exactly one of mbox, mbox_sha1sum, openid, account is required"
ACCOUNT = {"homePage": "http://www.example.com", "name": "1625378"}
MEMBER = {"mbox": "mailto:member@example.com"}


def test_agent_without_ifi_data_2_4_2_1():
    assert errors(changed(ex.SIMPLEST, "actor", {"name": "Nobody"})) == {"actor": [EXACTLY_ONE]}


@pytest.mark.parametrize(
    "extra",
    [
        {"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"},
        {"openid": "http://toby.openid.example.org/"},
        {"account": ACCOUNT},
    ],
)
def test_agent_with_two_ifis_data_2_4_2_1(extra):
    actor = {"mbox": "mailto:a@example.com", **extra}
    assert errors(changed(ex.SIMPLEST, "actor", actor)) == {"actor": [EXACTLY_ONE]}


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("mbox", "a@example.com", "mailto"),
        ("mbox", "mailto:", "mailto"),
        ("mbox", "mailto:no-at-sign", "mailto"),
        ("mbox", "", "mailto"),
        ("mbox", 42, "mailto"),
        ("mbox_sha1sum", "ebd31e95054c018b10727ccffd2ef2ec3a016ee", "40 hexadecimal"),
        ("mbox_sha1sum", "zbd31e95054c018b10727ccffd2ef2ec3a016ee9", "40 hexadecimal"),
        ("openid", "toby.openid.example.org", "URI"),
        ("openid", "http://toby.example.org/é", "URI"),
        ("name", 7, "string"),
        ("objectType", "agent", "must be Agent or Group"),
        ("objectType", "Person", "must be Agent or Group"),
    ],
)
def test_agent_property_formats_data_2_4_2_3(key, value, rule):
    actor = {key: value} if key in IFIS else {"mbox": "mailto:a@example.com", key: value}
    found = errors(changed(ex.SIMPLEST, "actor", actor))
    assert list(found) == [f"actor.{key}"]
    assert rule in found[f"actor.{key}"][0]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("homePage", DELETE, "is required"),
        ("name", DELETE, "is required"),
        ("homePage", "www.example.com", "must be an absolute IRL"),
        ("homePage", "", "must be an absolute IRL"),
        ("name", 1625378, "must be a string"),
        ("homepage", "http://www.example.com", "unknown property"),
    ],
)
def test_account_object_data_2_4_2_4(path, value, message):
    statement = changed(ex.SIMPLEST, "actor", ex.ACCOUNT_AGENT)
    found = errors(changed(statement, f"actor.account.{path}", value))
    assert found == {f"actor.account.{path}": [message]}


def test_account_must_be_an_object():
    found = errors(changed(ex.SIMPLEST, "actor", {"account": "1625378"}))
    assert found == {"actor.account": ["must be an object"]}


def test_mbox_scheme_is_case_insensitive():
    assert errors(changed(ex.SIMPLEST, "actor.mbox", "MAILTO:xapi@adlnet.gov")) == {}


def test_unknown_agent_property_data_2_2():
    found = errors(changed(ex.SIMPLEST, "actor.Name", "Case matters"))
    assert found == {"actor.Name": ["unknown property"]}


def test_null_agent_property_data_2_2():
    assert errors(changed(ex.SIMPLEST, "actor.name", None)) == {"actor.name": ["must not be null"]}


def test_anonymous_group_needs_members_data_2_4_2_2():
    found = errors(changed(ex.SIMPLEST, "actor", {"objectType": "Group", "name": "Ad hoc"}))
    assert list(found) == ["actor.member"]
    assert "anonymous Group" in found["actor.member"][0]


def test_anonymous_group_with_empty_member_list():
    found = errors(changed(ex.SIMPLEST, "actor", {"objectType": "Group", "member": []}))
    assert list(found) == ["actor.member"]


def test_anonymous_group_with_members_is_valid():
    actor = {"objectType": "Group", "member": [MEMBER, {"account": ACCOUNT}]}
    assert errors(changed(ex.SIMPLEST, "actor", actor)) == {}


def test_identified_group_without_members_is_valid():
    actor = {"objectType": "Group", "account": ACCOUNT}
    assert errors(changed(ex.SIMPLEST, "actor", actor)) == {}


def test_identified_group_with_two_ifis_data_2_4_2_2():
    actor = {"objectType": "Group", "account": ACCOUNT, "mbox": "mailto:g@example.com"}
    assert errors(changed(ex.SIMPLEST, "actor", actor)) == {"actor": [EXACTLY_ONE]}


@pytest.mark.parametrize("identified", [True, False], ids=["identified", "anonymous"])
def test_group_cannot_contain_groups_data_2_4_2_2(identified):
    inner = {"objectType": "Group", "account": ACCOUNT}
    actor = {"objectType": "Group", "member": [MEMBER, inner]}
    if identified:
        actor["mbox"] = "mailto:team@example.com"
    found = errors(changed(ex.SIMPLEST, "actor", actor))
    assert list(found) == ["actor.member[1].objectType"]
    assert "cannot be a member" in found["actor.member[1].objectType"][0]


def test_member_errors_carry_the_index():
    actor = {"objectType": "Group", "member": [MEMBER, {"mbox": "bad"}, {"name": "x"}]}
    assert errors(changed(ex.SIMPLEST, "actor", actor)) == {
        "actor.member[1].mbox": ["must be a mailto IRI (mailto:address)"],
        "actor.member[2]": [EXACTLY_ONE],
    }


def test_member_must_be_an_array():
    actor = {"objectType": "Group", "mbox": "mailto:t@example.com", "member": MEMBER}
    assert errors(changed(ex.SIMPLEST, "actor", actor)) == {"actor.member": ["must be an array"]}


def test_actor_must_be_an_object():
    assert errors(changed(ex.SIMPLEST, "actor", "mailto:xapi@adlnet.gov")) == {
        "actor": ["must be an object"]
    }


def test_validate_agent_returns_a_copy():
    agent = {"objectType": "Agent", "mbox": "mailto:a@example.com"}
    result = validate_agent(agent)
    assert result == agent and result is not agent


def test_validate_agent_accepts_groups():
    assert validate_agent(ex.OBJECT_GROUP) == ex.OBJECT_GROUP


@pytest.mark.parametrize(
    ("data", "path", "expected"),
    [
        ({"mbox": "x"}, "agent", {"agent.mbox": ["must be a mailto IRI (mailto:address)"]}),
        ({}, "agent", {"agent": [EXACTLY_ONE]}),
        ("mailto:a@example.com", "agent", {"agent": ["must be an object"]}),
        ({"mbox": "mailto:a@b.c", "x": 1}, "q.agent", {"q.agent.x": ["unknown property"]}),
    ],
)
def test_validate_agent_errors_under_path(data, path, expected):
    with pytest.raises(StatementError) as caught:
        validate_agent(data, path=path)
    assert caught.value.errors == expected


@pytest.mark.parametrize(
    ("agent", "key"),
    [
        ({"mbox": "mailto:Jane.Doe@Example.COM"}, "mbox:mailto:Jane.Doe@example.com"),
        ({"mbox": "MAILTO:a@example.com"}, "mbox:mailto:a@example.com"),
        (
            {"mbox_sha1sum": "EBD31E95054C018B10727CCFFD2EF2EC3A016EE9"},
            "mbox_sha1sum:ebd31e95054c018b10727ccffd2ef2ec3a016ee9",
        ),
        ({"openid": "http://toby.openid.example.org/"}, "openid:http://toby.openid.example.org/"),
        ({"account": ACCOUNT}, "account:http://www.example.com|1625378"),
        (ex.OBJECT_GROUP, "account:http://example.com/homePage|GroupAccount"),
        ({"objectType": "Group", "member": [MEMBER]}, None),
    ],
)
def test_agent_key(agent, key):
    assert agent_key(agent) == key

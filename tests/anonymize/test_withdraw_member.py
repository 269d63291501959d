"""Taking an erased learner out of another learner's Groups (`anonymize.withdraw_member`):
the statement and its sealed originals stay consistent, and a statement that is the
learner's own is refused (it is deleted instead)."""

from __future__ import annotations

import copy

from anonymize import restore_statement, withdraw_member

A = {"objectType": "Agent", "mbox": "mailto:a@example.org"}
B = {"objectType": "Agent", "mbox": "mailto:b@example.org"}
C = {"objectType": "Agent", "openid": "https://id.example.org/c"}
VERB = {"id": "http://adlnet.gov/expapi/verbs/completed"}
COURSE = {"id": "http://example.org/course"}


def erased(node):
    return node.get("mbox") == A["mbox"]


def test_members_leave_every_group_and_the_originals_follow_their_places():
    statement = {
        "actor": B,
        "verb": VERB,
        "object": {
            "objectType": "SubStatement", "actor": C, "verb": VERB, "object": COURSE,
            "context": {"team": {"objectType": "Group", "member": [A, C]}},
        },
        "context": {"team": {"objectType": "Group", "member": [C, A, B]}},
    }
    originals = {
        "actor": {"mbox": "mailto:b-original@example.org"},
        "context.team.member[0]": {"openid": "c-original"},
        "context.team.member[1]": {"mbox": "mailto:a-original@example.org"},
        "context.team.member[2]": {"mbox": "mailto:b-original@example.org"},
        "object.context.team.member[0]": {"mbox": "mailto:a-original@example.org"},
        "object.context.team.member[1]": {"openid": "c-original"},
    }
    before = copy.deepcopy(statement)
    withdrawn = withdraw_member(statement, originals, erased)
    assert withdrawn is not None
    assert statement == before  # copy on write
    assert withdrawn.statement["context"]["team"]["member"] == [C, B]
    assert withdrawn.statement["object"]["context"]["team"]["member"] == [C]
    assert withdrawn.originals == {
        "actor": {"mbox": "mailto:b-original@example.org"},
        "context.team.member[0]": {"openid": "c-original"},
        "context.team.member[1]": {"mbox": "mailto:b-original@example.org"},
        "object.context.team.member[0]": {"openid": "c-original"},
    }
    restored = restore_statement(withdrawn.statement, withdrawn.originals)
    assert "a-original" not in str(restored) and "a@example.org" not in str(restored)
    assert restored["context"]["team"]["member"][1] == {"mbox": "mailto:b-original@example.org"}


def test_the_learners_own_statement_is_not_edited():
    for statement in (
        {"actor": A, "verb": VERB, "object": COURSE},
        {"actor": B, "verb": VERB, "object": A},
        {"actor": B, "verb": VERB, "object": COURSE, "context": {"instructor": A}},
        {"actor": B, "verb": VERB, "object": {
            "objectType": "SubStatement", "actor": A, "verb": VERB, "object": COURSE}},
        {"actor": B, "verb": VERB, "object": COURSE,
         "context": {"contextAgents": [{"objectType": "contextAgent", "agent": A}]}},
        # Both a member and an actor: the statement is theirs.
        {"actor": A, "verb": VERB, "object": COURSE,
         "context": {"team": {"objectType": "Group", "member": [A, B]}}},
    ):
        assert withdraw_member(statement, {}, erased) is None


def test_an_anonymous_group_left_empty_is_refused_an_identified_one_kept():
    alone = {"actor": {"objectType": "Group", "member": [A]}, "verb": VERB, "object": COURSE}
    assert withdraw_member(alone, {}, erased) is None
    named = {"objectType": "Group", "mbox": "mailto:class@example.org", "member": [A]}
    withdrawn = withdraw_member({"actor": B, "verb": VERB, "object": named}, {}, erased)
    assert withdrawn is not None
    assert withdrawn.statement["object"] == {
        "objectType": "Group", "mbox": "mailto:class@example.org"
    }


def test_a_statement_without_the_learner_is_returned_unchanged():
    statement = {"actor": {"objectType": "Group", "member": [B, C]}, "verb": VERB,
                 "object": COURSE}
    withdrawn = withdraw_member(statement, {"actor.member[0]": {"x": 1}}, erased)
    assert withdrawn is not None
    assert withdrawn.statement == statement
    assert withdrawn.originals == {"actor.member[0]": {"x": 1}}


def test_2_0_context_groups_are_groups_too():
    statement = {
        "actor": B, "verb": VERB, "object": COURSE,
        "context": {"contextGroups": [
            {"objectType": "contextGroup", "group": {"objectType": "Group", "member": [A, C]}},
        ]},
    }
    withdrawn = withdraw_member(
        statement, {"context.contextGroups[0].group.member[1]": {"openid": "c"}}, erased
    )
    assert withdrawn is not None
    assert withdrawn.statement["context"]["contextGroups"][0]["group"]["member"] == [C]
    assert withdrawn.originals == {"context.contextGroups[0].group.member[0]": {"openid": "c"}}

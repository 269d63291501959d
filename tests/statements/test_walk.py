"""The one walker of agent and activity positions (statements/walk.py), its constants, and
the privacy guarantee it exists for: xAPI 2.0 context agents and groups (xapi-2.0-notes.md
section 2) are pseudonymized and indexed like every other agent position."""

from __future__ import annotations

import ast
import copy
import dataclasses
import hashlib
import sys
from pathlib import Path

import orjson
import pytest

import statements.walk as walk
from anonymize import Keyring, PseudonymError, Pseudonymizer, canonical_ifi, restore_statement
from statements import (
    CONTEXT_ACTIVITY_KINDS,
    CONTEXT_AGENT_LISTS,
    IFI_FIELDS,
    VOIDED,
    Position,
    activity_position_tuples,
    activity_positions,
    agent_key,
    agent_position_tuples,
    agent_positions,
    format_ids,
    map_activities,
    map_agents,
    normalize_mbox,
    statement_index_fields,
    statements_equal,
)
from statements.compare import _mbox as compare_mbox


def mbox(name: str) -> dict:
    return {"mbox": f"mailto:{name}@example.com"}


def act(name: str) -> dict:
    return {"id": f"http://example.com/{name}"}


CA = "contextAgent"
CG = "contextGroup"
VERB = {"id": "http://example.com/did"}

# Every position kind: a Group actor with members, a SubStatement (Group object with a member,
# its own context with every agent position and 2.0 list), top-level context with instructor,
# team, two contextAgents and a contextGroup, and an OAuth authority Group. Keys are written
# out of document order on purpose (the walk follows Data 2.4's order, not the input's).
FULL = {
    "authority": {"objectType": "Group", "member": [mbox("oauth"), mbox("user")]},
    "context": {
        "contextActivities": {
            "grouping": act("program"),  # a single Activity
            "parent": [act("course"), act("module")],
            "other": [act("other")],
            "category": [act("profile")],
        },
        "contextGroups": [
            {"objectType": CG, "group": {"objectType": "Group", "member": [mbox("lee")]}},
        ],
        "contextAgents": [
            {"objectType": CA, "agent": mbox("jo"), "relevantTypes": ["http://example.com/t"]},
            {"objectType": CA, "agent": mbox("kim")},
        ],
        "team": {
            "objectType": "Group",
            "openid": "http://team.example.com/",
            "member": [mbox("tm")],
        },
        "instructor": mbox("ian"),
    },
    "object": {
        "objectType": "SubStatement",
        "context": {
            "instructor": mbox("sue"),
            "team": {"objectType": "Group", "member": [mbox("sam")]},
            "contextAgents": [{"objectType": CA, "agent": mbox("sal")}],
            "contextGroups": [
                {"objectType": CG, "group": {"objectType": "Group", **mbox("sgroup")}}
            ],
            "contextActivities": {"parent": act("sub-parent"), "other": [act("sub-other")]},
        },
        "object": {"objectType": "Group", "mbox": "mailto:og@example.com", "member": [mbox("om")]},
        "verb": VERB,
        "actor": mbox("sub"),
    },
    "verb": VERB,
    "actor": {"objectType": "Group", "member": [mbox("amy"), mbox("ben")]},
}

AGENTS = [  # (path, root, nested, member), document order
    ("actor", "actor", False, False),
    ("actor.member[0]", "actor", False, True),
    ("actor.member[1]", "actor", False, True),
    ("object.actor", "actor", True, False),
    ("object.object", "object", True, False),
    ("object.object.member[0]", "object", True, True),
    ("object.context.instructor", "instructor", True, False),
    ("object.context.team", "team", True, False),
    ("object.context.team.member[0]", "team", True, True),
    ("object.context.contextAgents[0].agent", CA, True, False),
    ("object.context.contextGroups[0].group", CG, True, False),
    ("context.instructor", "instructor", False, False),
    ("context.team", "team", False, False),
    ("context.team.member[0]", "team", False, True),
    ("context.contextAgents[0].agent", CA, False, False),
    ("context.contextAgents[1].agent", CA, False, False),
    ("context.contextGroups[0].group", CG, False, False),
    ("context.contextGroups[0].group.member[0]", CG, False, True),
    ("authority", "authority", False, False),
    ("authority.member[0]", "authority", False, True),
    ("authority.member[1]", "authority", False, True),
]

ACTIVITIES = [  # (path, root, nested); contextActivities in the statement's key order
    ("object.context.contextActivities.parent", "parent", True),
    ("object.context.contextActivities.other[0]", "other", True),
    ("context.contextActivities.grouping", "grouping", False),
    ("context.contextActivities.parent[0]", "parent", False),
    ("context.contextActivities.parent[1]", "parent", False),
    ("context.contextActivities.other[0]", "other", False),
    ("context.contextActivities.category[0]", "category", False),
]


def node_at(statement: dict, path: str) -> dict:
    node = statement
    for step in path.replace("[", ".[").split("."):
        node = node[int(step[1:-1])] if step.startswith("[") else node[step]
    return node


# -- the module and its constants ------------------------------------------------------------


def test_walk_imports_only_the_standard_library():
    """The layering decision (module docstring): nothing of ours, nothing installed."""
    tree = ast.parse(Path(walk.__file__).read_text())
    modules = {alias.name for n in ast.walk(tree) if isinstance(n, ast.Import) for alias in n.names}
    modules |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert {m.split(".")[0] for m in modules} <= set(sys.stdlib_module_names) | {"__future__"}


def test_constants():
    assert IFI_FIELDS == ("mbox", "mbox_sha1sum", "openid", "account")
    assert VOIDED == "http://adlnet.gov/expapi/verbs/voided"
    assert CONTEXT_ACTIVITY_KINDS == ("parent", "grouping", "category", "other")
    assert CONTEXT_AGENT_LISTS == (("contextAgents", "agent"), ("contextGroups", "group"))


def test_position_is_a_frozen_slotted_dataclass():
    position = Position("actor", {}, "actor", False, False)
    assert dataclasses.is_dataclass(position) and not hasattr(position, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        position.path = "x"  # type: ignore[misc]


# -- normalize_mbox and each caller's behaviour on malformed input ---------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("mailto:ann@example.com", "mailto:ann@example.com"),
        ("MAILTO:Ann@Example.COM", "mailto:Ann@example.com"),  # local part keeps its case
        ("Mailto:a@b@C.org", "mailto:a@b@c.org"),  # the domain follows the last @
        ("mailto:ÉLÈVE@ÉCOLE.FR", "mailto:ÉLÈVE@école.fr"),
        ("ann@example.com", "ann@example.com"),  # not a mailto IRI: unchanged
        ("mailtx:A@B", "mailtx:A@B"),
        ("", ""),
        ("MAILTO:NoDomain", "mailto:NoDomain"),  # no @: only the scheme
    ],
)
def test_normalize_mbox(given, expected):
    assert normalize_mbox(given) == expected


def test_normalize_mbox_returns_a_normal_address_itself():
    address = "mailto:" + "ann@example.com"
    assert normalize_mbox(address) is address


def test_normalize_mbox_fast_path_matches_lowercasing_for_every_character():
    """An all-lowercase address is returned as it is (str.islower); that must never skip a
    character lower() would change, or pseudonyms would differ by code path."""
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        domain = "x" + chr(code)
        assert normalize_mbox("mailto:a@" + domain) == "mailto:a@" + domain.lower()


def test_callers_keep_their_behaviour_on_malformed_mboxes():
    # agent_key: the first seven characters are taken as the scheme, a domain is always written.
    assert agent_key({"mbox": "MAILTO:Ann@Example.COM"}) == "mbox:mailto:Ann@example.com"
    assert agent_key({"mbox": "a@example.com"}) == "mbox:mailto:@le.com"
    assert agent_key({"mbox": "mailto:NoDomain"}) == "mbox:mailto:@nodomain"
    # compare: a mailto IRI without @ is lowercased whole; anything else compared as sent.
    assert compare_mbox("MAILTO:Ann@Example.COM") == "mailto:Ann@example.com"
    assert compare_mbox("mailto:NoDomain") == "mailto:nodomain"
    assert compare_mbox("Ann@Example.COM") == "Ann@Example.COM"
    # pseudonymizer: refuses a non-mailto mbox, hashes one without @ with only its scheme
    # normalized (pinned: a change would change stored pseudonyms).
    with pytest.raises(PseudonymError, match="mailto"):
        canonical_ifi({"mbox": "ann@example.com"})
    sha1 = hashlib.sha1(b"mailto:NoDomain").hexdigest()
    assert canonical_ifi({"mbox": "MAILTO:NoDomain"}).endswith(sha1.encode())


# -- reading ---------------------------------------------------------------------------------


def test_agent_positions_every_kind_in_document_order():
    found = list(agent_positions(FULL))
    assert [(p.path, p.root, p.nested, p.member) for p in found] == AGENTS
    for position in found:
        assert position.node is node_at(FULL, position.path)


def test_agent_positions_without_authority_or_members():
    without_authority = [p.path for p in agent_positions(FULL, authority=False)]
    assert without_authority == [a[0] for a in AGENTS if a[1] != "authority"]
    without_members = [p.path for p in agent_positions(FULL, members=False)]
    assert without_members == [a[0] for a in AGENTS if not a[3]]


def test_activity_positions_single_or_array_at_both_levels():
    statement = copy.deepcopy(FULL)
    statement["object"]["object"] = act("sub-object")
    found = list(activity_positions(statement))
    assert [(p.path, p.root, p.nested) for p in found] == [
        ("object.object", "object", True),
        *ACTIVITIES,
    ]
    assert all(p.node is node_at(statement, p.path) and not p.member for p in found)
    top = copy.deepcopy(FULL)
    top["object"] = act("course")
    assert next(activity_positions(top)).path == "object"


def test_tuples_are_positions_fields():
    assert [Position(*t) for t in agent_position_tuples(FULL)] == list(agent_positions(FULL))
    assert [Position(*t) for t in activity_position_tuples(FULL)] == list(activity_positions(FULL))


def test_reading_skips_what_is_not_an_object():
    statement = {
        "actor": "mailto:a@example.com",
        "object": {"objectType": "StatementRef", "id": "x"},
        "context": {
            "instructor": None,
            "contextAgents": ["x", {"objectType": CA, "mbox": "mailto:b@example.com"}],
            "contextGroups": {"group": mbox("c")},
            "contextActivities": {"parent": "x", "other": [1, act("a")], "unknown": [act("u")]},
        },
    }
    assert [p.path for p in agent_positions(statement)] == ["context.contextAgents[1]"]
    assert [p.path for p in activity_positions(statement)] == ["context.contextActivities.other[1]"]


def test_paths_past_the_precomputed_table():
    statement = {"context": {"contextActivities": {"other": [act(str(i)) for i in range(20)]}}}
    paths = [p.path for p in activity_positions(statement)]
    assert paths == [f"context.contextActivities.other[{i}]" for i in range(20)]
    mapped = map_activities(statement, lambda a, path: {**a, "path": path})
    assert [a["path"] for a in mapped["context"]["contextActivities"]["other"]] == paths


def test_a_nested_substatement_is_walked():
    """Invalid (Data 2.4.4.3), but skipping it would store its agents raw."""
    inner = {"objectType": "SubStatement", "actor": mbox("deep"), "object": act("deep")}
    statement = {"actor": mbox("a"), "object": {"objectType": "SubStatement", "object": inner}}
    assert [(p.path, p.nested) for p in agent_positions(statement)] == [
        ("actor", False),
        ("object.object.actor", True),
    ]
    assert [p.path for p in activity_positions(statement)] == ["object.object.object"]
    mapped = map_agents(statement, lambda node, path: {"seen": path})
    assert mapped["object"]["object"]["actor"] == {"seen": "object.object.actor"}


# -- writing: copy on write ------------------------------------------------------------------


def test_map_agents_replaces_every_top_level_position():
    seen = []

    def replace(node, path):
        seen.append(path)
        return {"replaced": path}

    original = copy.deepcopy(FULL)
    out = map_agents(FULL, replace)
    assert original == FULL  # the input is never modified
    top_level = [a[0] for a in AGENTS if not a[3] and a[1] != "authority"]
    assert seen == top_level  # members are the callback's business; no authority by default
    for path in top_level:
        assert node_at(out, path) == {"replaced": path}
    item = out["context"]["contextAgents"][0]
    assert item["objectType"] == CA and item["relevantTypes"] == ["http://example.com/t"]
    assert out["authority"] is FULL["authority"]
    # Unchanged parts are shared with the input.
    assert out["verb"] is FULL["verb"]
    assert out["context"]["contextActivities"] is FULL["context"]["contextActivities"]
    assert out["object"]["verb"] is FULL["object"]["verb"]
    assert (
        out["object"]["context"]["contextActivities"]
        is (FULL["object"]["context"]["contextActivities"])
    )


def test_map_agents_authority_when_asked():
    seen = []
    out = map_agents(FULL, lambda node, path: seen.append(path) or {"r": path}, authority=True)
    assert seen[-1] == "authority" and out["authority"] == {"r": "authority"}
    assert seen == [a[0] for a in AGENTS if not a[3]]


def test_map_agents_shares_everything_replace_leaves_alone():
    out = map_agents(FULL, lambda node, path: node, authority=True)
    assert out == FULL and out is not FULL  # always a new statement...
    for key, value in FULL.items():
        assert out[key] is value  # ...sharing every part
    only_one = map_agents(FULL, lambda node, path: {"r": 1} if path == "context.team" else node)
    assert only_one["object"] is FULL["object"]
    assert only_one["context"]["contextAgents"] is FULL["context"]["contextAgents"]
    assert only_one["context"]["team"] == {"r": 1}
    agents_changed = map_agents(
        FULL, lambda n, path: {"r": 1} if path == "context.contextAgents[1].agent" else n
    )
    items = agents_changed["context"]["contextAgents"]
    assert items is not FULL["context"]["contextAgents"]
    assert items[0] is FULL["context"]["contextAgents"][0]


def test_map_agents_hands_malformed_2_0_lists_to_replace():
    """Rather than skip them: a callback that refuses non-agents then refuses them."""
    statement = {
        "actor": mbox("a"),
        "context": {
            "contextAgents": {"objectType": CA, "agent": mbox("b")},  # not an array
            "contextGroups": ["x", {"objectType": CG, "mbox": "mailto:c@example.com"}],
        },
    }
    seen = {}
    map_agents(statement, lambda node, path: seen.setdefault(path, node))
    assert seen == {
        "actor": mbox("a"),
        "context.contextAgents": statement["context"]["contextAgents"],
        "context.contextGroups[0]": "x",
        "context.contextGroups[1]": statement["context"]["contextGroups"][1],
    }


def test_map_activities_keeps_shape_and_shares_the_rest():
    original = copy.deepcopy(FULL)
    seen = []

    def replace(activity, path):
        seen.append(path)
        return {**activity, "definition": {"type": path}}

    out = map_activities(FULL, replace)
    assert original == FULL
    assert seen == [a[0] for a in ACTIVITIES]
    activities = out["context"]["contextActivities"]
    assert activities["grouping"]["definition"]["type"] == "context.contextActivities.grouping"
    assert isinstance(activities["parent"], list) and len(activities["parent"]) == 2
    assert list(activities) == list(FULL["context"]["contextActivities"])  # key order kept
    assert out["actor"] is FULL["actor"] and out["object"]["actor"] is FULL["object"]["actor"]
    assert out["context"]["team"] is FULL["context"]["team"]
    unchanged = map_activities(FULL, lambda activity, path: activity)
    assert unchanged is not FULL and all(unchanged[k] is v for k, v in FULL.items())


def test_map_activities_object_activity():
    statement = {"actor": mbox("a"), "object": act("course"), "context": {"registration": "r"}}
    out = map_activities(statement, lambda activity, path: {"id": path})
    assert out["object"] == {"id": "object"} and out["context"] is statement["context"]
    agent_object = {"actor": mbox("a"), "object": {"objectType": "Agent", **mbox("b")}}
    assert map_activities(agent_object, lambda a, p: {"id": p}) == agent_object


# -- privacy: the 2.0 context agents and groups ---------------------------------------------

ADDRESSES = ["jo", "kim", "lee", "sal", "sgroup", "amy", "ben", "sub", "om", "og", "sue"]


@pytest.fixture(scope="module")
def pseudonymizer():
    return Pseudonymizer(Keyring(bytes(range(32))), tenant="walk")


def test_pseudonymizer_covers_2_0_context_agents_and_groups(pseudonymizer):
    """Validation does not accept contextAgents/contextGroups on 1.0.3 yet, so the function is
    called directly: no address of any agent position may remain."""
    done = pseudonymizer.pseudonymize_statement(FULL)
    stored = orjson.dumps(done.statement).decode()
    for name in ADDRESSES:
        assert f"{name}@example.com" not in stored
    assert "mailto:" not in stored.replace(orjson.dumps(FULL["authority"]).decode(), "")
    assert (
        "mbox"
        not in orjson.dumps({k: v for k, v in done.statement.items() if k != "authority"}).decode()
    )
    assert done.originals["context.contextAgents[0].agent"] == mbox("jo")
    assert done.originals["object.context.contextGroups[0].group"]["mbox"] == (
        "mailto:sgroup@example.com"
    )
    assert done.originals["context.contextGroups[0].group.member[0]"] == mbox("lee")
    item = done.statement["context"]["contextAgents"][0]
    assert item["objectType"] == CA and item["relevantTypes"] == ["http://example.com/t"]
    assert done.statement["authority"] == FULL["authority"]  # a credential: left alone
    assert restore_statement(done.statement, done.originals) == FULL


def test_pseudonymizer_never_stores_a_malformed_2_0_item_raw(pseudonymizer):
    """An item without its `agent` is handed to the pseudonymizer whole: pseudonymized when
    it reads as an Agent, refused otherwise; never stored as sent."""
    loose = {"actor": mbox("a"), "context": {"contextAgents": [{"mbox": "mailto:x@y.z"}]}}
    stored = pseudonymizer.pseudonymize_statement(loose).statement
    assert "x@y.z" not in orjson.dumps(stored).decode()
    typed = {"actor": mbox("a"), "context": {"contextAgents": [{"objectType": CA, **mbox("x")}]}}
    with pytest.raises(PseudonymError, match=r"context\.contextAgents\[0\]"):
        pseudonymizer.pseudonymize_statement(typed)
    not_a_list = {"actor": mbox("a"), "context": {"contextGroups": {"group": mbox("x")}}}
    with pytest.raises(PseudonymError, match=r"context\.contextGroups"):
        pseudonymizer.pseudonymize_statement(not_a_list)


def test_index_related_agents_hold_2_0_context_agents_and_groups():
    fields = statement_index_fields(FULL)
    for name in ("jo", "kim", "lee", "sal", "sgroup"):
        assert f"mbox:mailto:{name}@example.com" in fields.related_agents
    assert fields.agents == ("mbox:mailto:amy@example.com", "mbox:mailto:ben@example.com")
    assert fields.related_agents == (
        "mbox:mailto:amy@example.com",
        "mbox:mailto:ben@example.com",
        # authority
        "mbox:mailto:oauth@example.com",
        "mbox:mailto:user@example.com",
        # context: instructor, team (its IFI, then members), contextAgents, contextGroups
        "mbox:mailto:ian@example.com",
        "openid:http://team.example.com/",
        "mbox:mailto:tm@example.com",
        "mbox:mailto:jo@example.com",
        "mbox:mailto:kim@example.com",
        "mbox:mailto:lee@example.com",
        # the SubStatement's, in document order
        "mbox:mailto:sub@example.com",
        "mbox:mailto:og@example.com",
        "mbox:mailto:om@example.com",
        "mbox:mailto:sue@example.com",
        "mbox:mailto:sam@example.com",
        "mbox:mailto:sal@example.com",
        "mbox:mailto:sgroup@example.com",
    )
    assert fields.activities == ()
    assert fields.related_activities == (
        "http://example.com/program",
        "http://example.com/course",
        "http://example.com/module",
        "http://example.com/other",
        "http://example.com/profile",
        "http://example.com/sub-parent",
        "http://example.com/sub-other",
    )


def test_pseudonymized_index_finds_the_pseudonym_of_a_context_agent(pseudonymizer):
    stored = pseudonymizer.pseudonymize_statement(FULL).statement
    expected = agent_key(pseudonymizer.pseudonym(mbox("kim")))
    assert expected in statement_index_fields(stored).related_agents


def test_other_consumers_see_2_0_context_agents():
    named = {"name": "Jo", "objectType": "Agent", **mbox("jo")}
    statement = {
        "actor": mbox("a"),
        "verb": VERB,
        "object": act("course"),
        "context": {"contextAgents": [{"objectType": CA, "agent": named}]},
    }
    assert format_ids(statement)["context"]["contextAgents"][0]["agent"] == {
        "objectType": "Agent",
        **mbox("jo"),
    }
    shouted = copy.deepcopy(statement)
    shouted["context"]["contextAgents"][0]["agent"]["mbox"] = "MAILTO:jo@EXAMPLE.com"
    assert statements_equal(statement, shouted)
    renamed = copy.deepcopy(statement)
    renamed["context"]["contextAgents"][0]["agent"]["mbox"] = "mailto:Jo@example.com"
    assert not statements_equal(statement, renamed)

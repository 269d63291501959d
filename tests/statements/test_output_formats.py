"""GET Statements `format` (Communication 2.1.3) and "Language Filtering Requirements for
Canonical Format Statements"."""

from __future__ import annotations

import copy

import pytest

from statements.output_formats import (
    best_language,
    format_canonical,
    format_ids,
    parse_accept_language,
    without_2_0_properties,
)

# Built on the long example of Data 2.4 (Example), with interaction components, attachments
# and an anonymous authority group added.
LONG = {
    "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
    "actor": {
        "name": "Team PB",
        "mbox": "mailto:teampb@example.com",
        "member": [
            {
                "name": "Andrew Downes",
                "account": {"homePage": "http://www.example.com", "name": "13936749"},
                "objectType": "Agent",
            },
            {"name": "Toby Nichols", "openid": "http://toby.openid.example.org/"},
        ],
        "objectType": "Group",
    },
    "verb": {
        "id": "http://adlnet.gov/expapi/verbs/attended",
        "display": {"en-GB": "attended", "en-US": "attended", "fr-FR": "a assisté"},
    },
    "object": {
        "id": "http://www.example.com/meetings/occurances/34534",
        "definition": {
            "extensions": {"http://example.com/profiles/meetings/ext/location": "X:\\meetings"},
            "name": {"en-GB": "example meeting", "en-US": "example meeting", "de": "Sitzung"},
            "description": {"en-GB": "An example meeting.", "en-US": "An example meeting."},
            "type": "http://adlnet.gov/expapi/activities/meeting",
            "moreInfo": "http://virtualmeeting.example.com/345256",
            "interactionType": "choice",
            "correctResponsesPattern": ["golf"],
            "choices": [
                {"id": "golf", "description": {"en-US": "Golf Example", "de": "Golfbeispiel"}},
                {"id": "tetris", "description": {"en-US": "Tetris Example"}},
            ],
        },
        "objectType": "Activity",
    },
    "result": {"success": True, "completion": True, "duration": "PT1H0M0S"},
    "context": {
        "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
        "contextActivities": {
            "parent": [
                {"id": "http://www.example.com/meetings/series/267", "objectType": "Activity"}
            ],
            "category": [
                {
                    "id": "http://www.example.com/meetings/categories/teammeeting",
                    "objectType": "Activity",
                    "definition": {
                        "name": {"en": "team meeting", "fr": "réunion d'équipe"},
                        "type": "http://example.com/expapi/activities/meetingcategory",
                    },
                }
            ],
        },
        "instructor": {
            "name": "Andrew Downes",
            "account": {"homePage": "http://www.example.com", "name": "13936749"},
            "objectType": "Agent",
        },
        "team": {"name": "Team PB", "mbox": "mailto:teampb@example.com", "objectType": "Group"},
        "platform": "Example virtual meeting software",
        "language": "tlh",
        "statement": {"objectType": "StatementRef", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"},
    },
    "timestamp": "2013-05-18T05:32:34.804+00:00",
    "stored": "2013-05-18T05:32:34.804+00:00",
    "authority": {
        "objectType": "Group",
        "member": [
            {"account": {"homePage": "http://example.com/xAPI/OAuth/Token", "name": "oauth"}},
            {"name": "Someone", "mbox": "mailto:someone@example.com"},
        ],
    },
    "version": "1.0.0",
    "attachments": [
        {
            "usageType": "http://adlnet.gov/expapi/attachments/signature",
            "display": {"en-US": "Signature", "de": "Unterschrift"},
            "description": {"en-US": "A test signature"},
            "contentType": "application/octet-stream",
            "length": 4235,
            "sha2": "672fa5fa658017f1b72d65036f13379c6ab05d4ab3b6664908d8acf0b6a0c634",
        }
    ],
}

SUB = {
    "actor": {"objectType": "Agent", "mbox": "mailto:test@example.com", "name": "Test"},
    "verb": {"id": "http://example.com/planned", "display": {"en-US": "planned", "de": "plante"}},
    "object": {
        "objectType": "SubStatement",
        "actor": {"objectType": "Agent", "mbox": "mailto:test@example.com", "name": "Test"},
        "verb": {"id": "http://example.com/visited", "display": {"en-US": "will visit"}},
        "object": {
            "objectType": "Activity",
            "id": "http://example.com/website",
            "definition": {"name": {"en-US": "Some Awesome Website", "de": "Webseite"}},
        },
        "context": {
            "instructor": {"name": "Teacher", "mbox": "mailto:teacher@example.com"},
            "contextActivities": {
                "parent": [{"id": "http://example.com/trip", "definition": {"name": {"x": "y"}}}]
            },
        },
    },
}


def test_ids_long_example():
    original = copy.deepcopy(LONG)
    ids = format_ids(LONG)
    assert original == LONG, "input must not be modified"
    # Identified Group: objectType and IFI identify it; members are not needed.
    assert ids["actor"] == {"mbox": "mailto:teampb@example.com", "objectType": "Group"}
    assert ids["verb"] == {"id": "http://adlnet.gov/expapi/verbs/attended"}
    # Communication 2.1.3: an Activity carries only its id (objectType Activity is the
    # default, so the id alone identifies it).
    assert ids["object"] == {"id": "http://www.example.com/meetings/occurances/34534"}
    context = ids["context"]
    assert context["instructor"] == {
        "account": {"homePage": "http://www.example.com", "name": "13936749"},
        "objectType": "Agent",
    }
    assert context["team"] == {"mbox": "mailto:teampb@example.com", "objectType": "Group"}
    assert context["contextActivities"] == {
        "parent": [{"id": "http://www.example.com/meetings/series/267"}],
        "category": [{"id": "http://www.example.com/meetings/categories/teammeeting"}],
    }
    # Anonymous Group: "the minimum information needed to identify each member".
    assert ids["authority"] == {
        "objectType": "Group",
        "member": [
            {"account": {"homePage": "http://example.com/xAPI/OAuth/Token", "name": "oauth"}},
            {"mbox": "mailto:someone@example.com"},
        ],
    }
    # Everything that is not an Agent, Group, Activity or Verb is returned as is.
    for key in ("id", "result", "timestamp", "stored", "version", "attachments"):
        assert ids[key] == LONG[key]
    for key in ("registration", "platform", "language", "statement"):
        assert context[key] == LONG["context"][key]


def test_ids_inside_substatement():
    ids = format_ids(SUB)
    assert ids["actor"] == {"objectType": "Agent", "mbox": "mailto:test@example.com"}
    sub = ids["object"]
    assert sub["objectType"] == "SubStatement"
    assert sub["actor"] == {"objectType": "Agent", "mbox": "mailto:test@example.com"}
    assert sub["verb"] == {"id": "http://example.com/visited"}
    # Communication 2.1.3: the object of a SubStatement too carries only its id.
    assert sub["object"] == {"id": "http://example.com/website"}
    assert sub["context"]["instructor"] == {"mbox": "mailto:teacher@example.com"}
    assert sub["context"]["contextActivities"] == {"parent": [{"id": "http://example.com/trip"}]}


@pytest.mark.parametrize(
    "obj",
    [
        {"objectType": "Agent", "name": "Ann", "mbox_sha1sum": "a" * 40},
        {"objectType": "StatementRef", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"},
    ],
)
def test_ids_object_agent_and_statement_ref(obj):
    statement = {"actor": {"mbox": "mailto:a@b.c"}, "verb": {"id": "http://v.example"}}
    result = format_ids({**statement, "object": obj})["object"]
    expected = {k: v for k, v in obj.items() if k != "name"}
    assert result == expected


def test_without_2_0_properties_drops_only_the_context_lists():
    """For 1.0.x readers that fail on unknown properties: 2.0's contextAgents and
    contextGroups go, in a SubStatement too; the version and all else stay."""
    agents = [{"objectType": "contextAgent", "agent": {"mbox": "mailto:a@b.c"}}]
    statement = {
        "version": "2.0.0",
        "context": {"contextAgents": agents, "language": "en"},
        "object": {"objectType": "SubStatement", "context": {"contextGroups": [],
                                                            "contextAgents": agents}},
    }
    original = copy.deepcopy(statement)
    assert without_2_0_properties(statement) == {
        "version": "2.0.0", "context": {"language": "en"},
        "object": {"objectType": "SubStatement", "context": {}},
    }
    assert statement == original, "input must not be modified"
    plain = {"context": {"language": "en"}, "object": {"id": "http://a"}}
    assert without_2_0_properties(plain) is plain


def test_ids_single_context_activity_object():
    statement = {"context": {"contextActivities": {"parent": {"id": "http://a", "definition": {}}}}}
    assert format_ids(statement)["context"]["contextActivities"] == {"parent": {"id": "http://a"}}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, []),
        ("", []),
        ("en-US,en;q=0.8", ["en-US", "en"]),  # Communication 2.1.3 example request
        ("da, en-gb;q=0.8, en;q=0.7", ["da", "en-gb", "en"]),  # RFC 2616 14.4 example
        ("en;q=0.5, fr, de;q=0.9", ["fr", "de", "en"]),
        ("fr;q=0.5, de;q=0.5", ["fr", "de"]),  # ties keep header order
        ("*;q=0.1, en", ["en", "*"]),
        ("en, fr;q=0", ["en"]),  # q=0: not acceptable
        ("en;q=1.0, fr;q=0.001", ["en", "fr"]),
        ("en;Q=0.5", ["en"]),
        ("en;q=2, fr;q=abc, !!, de-DE-1996", ["de-DE-1996"]),  # malformed entries dropped
        ("en, EN;q=0.5", ["en"]),  # duplicates: first wins
        ("  zh-Hant-TW ;  q=0.3 ", ["zh-Hant-TW"]),
    ],
)
def test_parse_accept_language(header, expected):
    assert parse_accept_language(header) == expected


MAP = {"en-GB": "colour", "en-US": "color", "fr": "couleur", "de-DE": "Farbe"}


@pytest.mark.parametrize(
    ("languages", "expected"),
    [
        (["en-US"], "en-US"),
        (["EN-us"], "en-US"),  # RFC 5646 2.1.1: tags are case-insensitive
        (["fr", "en-US"], "fr"),
        (["en"], "en-GB"),  # prefix: en matches the first en-* tag
        (["de"], "de-DE"),
        (["es", "de"], "de-DE"),  # unmatched ranges are skipped
        (["en-AU", "fr"], "fr"),  # a later exact match beats a primary-language guess
        (["en-AU"], "en-GB"),  # then the same primary language
        (["es"], "en-GB"),  # then the first entry
        (["*"], "en-GB"),
        ([], "en-GB"),
        (["f"], "en-GB"),  # "f" is not a prefix of "fr" at a subtag boundary
    ],
)
def test_best_language(languages, expected):
    assert best_language(MAP, languages) == {expected: MAP[expected]}


def test_best_language_small_maps():
    assert best_language({}, ["en"]) == {}
    assert best_language({"de": "Hallo"}, ["en"]) == {"de": "Hallo"}


def test_canonical_long_example_german():
    original = copy.deepcopy(LONG)
    out = format_canonical(LONG, ["de", "en-US"])
    assert original == LONG, "input must not be modified"
    assert out["verb"]["display"] == {"en-US": "attended"}
    definition = out["object"]["definition"]
    assert definition["name"] == {"de": "Sitzung"}
    # Each language map is filtered on its own.
    assert definition["description"] == {"en-US": "An example meeting."}
    assert definition["choices"] == [
        {"id": "golf", "description": {"de": "Golfbeispiel"}},
        {"id": "tetris", "description": {"en-US": "Tetris Example"}},
    ]
    # Non-language-map parts of the definition are untouched.
    for key in ("extensions", "type", "moreInfo", "interactionType", "correctResponsesPattern"):
        assert definition[key] == LONG["object"]["definition"][key]
    category = out["context"]["contextActivities"]["category"][0]
    assert category["definition"]["name"] == {"en": "team meeting"}
    assert out["attachments"][0]["display"] == {"de": "Unterschrift"}
    assert out["attachments"][0]["description"] == {"en-US": "A test signature"}
    # Agents and Groups are returned as in exact.
    for key in ("actor", "authority"):
        assert out[key] == LONG[key]
    assert out["context"]["instructor"] == LONG["context"]["instructor"]


def test_canonical_every_interaction_component_list():
    components = {
        key: [{"id": "a", "description": {"en": "A", "fr": "A-fr"}}]
        for key in ("choices", "scale", "source", "target", "steps")
    }
    statement = {
        "object": {
            "id": "http://example.com/q",
            "definition": {"interactionType": "x", **components},
        }
    }
    definition = format_canonical(statement, ["fr"])["object"]["definition"]
    for key in components:
        assert definition[key] == [{"id": "a", "description": {"fr": "A-fr"}}], key


def test_canonical_inside_substatement():
    out = format_canonical(SUB, ["de"])
    assert out["verb"]["display"] == {"de": "plante"}
    sub = out["object"]
    assert sub["verb"]["display"] == {"en-US": "will visit"}
    assert sub["object"]["definition"]["name"] == {"de": "Webseite"}
    assert sub["context"]["contextActivities"]["parent"][0]["definition"]["name"] == {"x": "y"}
    assert sub["actor"] == SUB["object"]["actor"]


def test_canonical_without_definitions_or_display():
    statement = {
        "actor": {"mbox": "mailto:a@example.com"},
        "verb": {"id": "http://example.com/v"},
        "object": {"id": "http://example.com/a"},
    }
    assert format_canonical(statement, ["en"]) == statement

"""Statement comparison: Data 2.3.1 "Statement Comparison Requirements"."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from statements.compare import statements_equal

BASE = {
    "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
    "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:Ann@Example.com"},
    "verb": {
        "id": "http://adlnet.gov/expapi/verbs/answered",
        "display": {"en-US": "answered"},
    },
    "object": {
        "objectType": "Activity",
        "id": "http://example.com/quiz/q1",
        "definition": {
            "name": {"en-US": "Question 1"},
            "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
            "interactionType": "choice",
            "choices": [
                {"id": "a", "description": {"en-US": "A"}},
                {"id": "b", "description": {"en-US": "B"}},
            ],
        },
    },
    "result": {
        "score": {"scaled": 0.5, "raw": 5, "min": 0, "max": 10},
        "success": True,
        "duration": "PT1M2.51S",
        "extensions": {"http://example.com/ext/flag": True, "http://example.com/ext/n": 1},
    },
    "context": {
        "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
        "instructor": {"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"},
        "team": {
            "objectType": "Group",
            "name": "Team",
            "member": [
                {"mbox": "mailto:bob@example.com"},
                {"account": {"homePage": "http://example.com", "name": "carl"}},
                {"objectType": "Agent", "openid": "http://openid.example.com/dan"},
            ],
        },
        "contextActivities": {
            "parent": [{"id": "http://example.com/quiz"}],
            "category": [{"id": "http://example.com/profile", "objectType": "Activity"}],
        },
        "language": "en-US",
        "statement": {"objectType": "StatementRef", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"},
        "extensions": {"http://example.com/ext/list": [1, "two", {"three": 3}]},
    },
    "timestamp": "2013-05-18T05:32:34.804+00:00",
    "stored": "2013-05-18T05:32:34.804+00:00",
    "authority": {"mbox": "mailto:lrs@example.com"},
    "version": "1.0.0",
    "attachments": [
        {
            "usageType": "http://adlnet.gov/expapi/attachments/signature",
            "display": {"en-US": "Signature"},
            "contentType": "application/octet-stream",
            "length": 4235,
            "sha2": "672fa5fa658017f1b72d65036f13379c6ab05d4ab3b6664908d8acf0b6a0c634",
        }
    ],
}

SUB = {
    "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
    "actor": {"mbox": "mailto:test@example.com"},
    "verb": {"id": "http://example.com/planned", "display": {"en-US": "planned"}},
    "object": {
        "objectType": "SubStatement",
        "actor": {"objectType": "Agent", "mbox": "mailto:test@example.com"},
        "verb": {"id": "http://example.com/visited", "display": {"en-US": "will visit"}},
        "object": {"id": "http://example.com/website", "definition": {"name": {"en-US": "W"}}},
        "timestamp": "2015-01-01T12:00:00Z",
        "context": {"contextActivities": {"parent": [{"id": "http://example.com/trip"}]}},
    },
}


def mutated(base: dict, change: Callable[[dict], object]) -> dict:
    other = copy.deepcopy(base)
    change(other)
    return other


def test_identical_statements_are_equal_and_inputs_untouched():
    a, b = copy.deepcopy(BASE), copy.deepcopy(BASE)
    assert statements_equal(a, b)
    assert a == BASE and b == BASE


def test_key_order_is_irrelevant():
    reordered = dict(reversed(list(BASE.items())))
    reordered["result"] = dict(reversed(list(BASE["result"].items())))
    assert statements_equal(BASE, reordered)


def _set(path: str, value: object) -> Callable[[dict], None]:
    keys = path.split(".")

    def change(s: dict) -> None:
        target = s
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[keys[-1]] = value

    return change


def _delete(path: str) -> Callable[[dict], None]:
    keys = path.split(".")

    def change(s: dict) -> None:
        target = s
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]

    return change


def _ext(where: str, name: str, value: object) -> Callable[[dict], None]:
    def change(s: dict) -> None:
        s[where]["extensions"][f"http://example.com/ext/{name}"] = value

    return change


ALLOWED = {
    # Data 2.3.1: properties assigned during LRS processing.
    "2.3.1 stored differs": _set("stored", "2020-01-01T00:00:00Z"),
    "2.3.1 stored absent": _delete("stored"),
    "2.3.1 authority differs": _set("authority", {"mbox": "mailto:other@example.com"}),
    "2.3.1 authority absent": _delete("authority"),
    "2.3.1 version differs": _set("version", "1.0.3"),
    "2.3.1 version absent": _delete("version"),
    "2.3.1 id absent": _delete("id"),
    "2.3.1 id case": _set("id", "FD41C918-B88B-4B20-A0A5-A4C32391AAA0"),
    "2.4.7 timestamp absent (LRS fills it)": _delete("timestamp"),
    # Data 2.3.1: Activity Definitions and Verb display are not part of the statement.
    "2.3.1 verb display differs": _set("verb.display", {"fr-FR": "a répondu"}),
    "2.3.1 verb display absent": _delete("verb.display"),
    "2.3.1 definition differs": _set("object.definition", {"name": {"en-US": "Q1 renamed"}}),
    "2.3.1 definition absent": _delete("object.definition"),
    "2.3.1 context activity definition": _set(
        "context.contextActivities.parent", [{"id": "http://example.com/quiz", "definition": {}}]
    ),
    # Data 2.3.1, 4.5: timestamp serialization.
    "4.5 timestamp other offset": _set("timestamp", "2013-05-18T07:32:34.804+02:00"),
    "4.5 timestamp Z": _set("timestamp", "2013-05-18T05:32:34.804Z"),
    "4.5 timestamp more digits": _set("timestamp", "2013-05-18T05:32:34.804000Z"),
    "4.5 timestamp basic format": _set("timestamp", "20130518T053234.804Z"),
    "4.5 timestamp rounded to ms": _set("timestamp", "2013-05-18T05:32:34.8036+00:00"),
    # Data 2.3.1, 2.4.2.2: group members are un-ordered.
    "2.4.2.2 members reordered": lambda s: s["context"]["team"]["member"].reverse(),
    # Data 2.3.1 case sensitivity.
    "2.4.2.3 mailto scheme case": _set("actor.mbox", "MAILTO:Ann@Example.com"),
    "2.4.2.3 e-mail domain case": _set("actor.mbox", "mailto:Ann@example.COM"),
    "mbox_sha1sum hex case": _set(
        "context.instructor.mbox_sha1sum", "EBD31E95054C018B10727CCFFD2EF2EC3A016EE9"
    ),
    "4.4 registration UUID case": _set(
        "context.registration", "EC531277-B57B-4C15-8D91-D292C5B2B8F7"
    ),
    "4.4 context statement UUID case": _set(
        "context.statement.id", "6690E6C9-3EF0-4ED3-8B37-7F3964730BEE"
    ),
    "RFC 5646 context language case": _set("context.language", "EN-us"),
    "RFC 5646 attachment display tag case": _set("attachments.0.display", {"EN-US": "Signature"}),
    "sha2 hex case": _set(
        "attachments.0.sha2", "672FA5FA658017F1B72D65036F13379C6AB05D4AB3B6664908D8ACF0B6A0C634"
    ),
    "RFC 2045 MIME type case": _set("attachments.0.contentType", "Application/Octet-Stream"),
    # LRS processing makes defaults explicit.
    "2.4.2.1 actor objectType omitted": _delete("actor.objectType"),
    "2.4.4 object objectType omitted": _delete("object.objectType"),
    "2.4.6 instructor objectType explicit": _set("context.instructor.objectType", "Agent"),
    "2.4.6.2 context activity objectType explicit": _set(
        "context.contextActivities.parent.0.objectType", "Activity"
    ),
    "2.4.6.2 single context activity object": _set(
        "context.contextActivities.parent", {"id": "http://example.com/quiz"}
    ),
    "2.4.6 context statement objectType omitted": _delete("context.statement.objectType"),
    # Data 4.6: duration precision beyond 0.01 s is not compared.
    "4.6 duration extra precision": _set("result.duration", "PT1M2.5149S"),
    # JSON numbers: 5 and 5.0 are one value.
    "score raw 5.0": _set("result.score.raw", 5.0),
}


@pytest.mark.parametrize("change", ALLOWED.values(), ids=list(ALLOWED))
def test_allowed_differences_are_equal(change):
    other = mutated(BASE, change)
    assert statements_equal(BASE, other)
    assert statements_equal(other, BASE)


REAL = {
    "verb id": _set("verb.id", "http://adlnet.gov/expapi/verbs/passed"),
    "verb id case (IRI, simple comparison)": _set(
        "verb.id", "http://ADLNET.gov/expapi/verbs/answered"
    ),
    "activity id": _set("object.id", "http://example.com/quiz/q2"),
    "object becomes an agent": _set("object", {"objectType": "Agent", "mbox": "mailto:a@b.c"}),
    "actor name": _set("actor.name", "Anne"),
    "actor name absent": _delete("actor.name"),
    "e-mail local part case": _set("actor.mbox", "mailto:ann@Example.com"),
    "actor objectType Group": _set("actor.objectType", "Group"),
    "score raw": _set("result.score.raw", 6),
    "score scaled": _set("result.score.scaled", 0.55),
    "success": _set("result.success", False),
    "result absent": _delete("result"),
    "2.3.1 duration is a string": _set("result.duration", "PT62.51S"),
    "4.6 duration hundredths": _set("result.duration", "PT1M2.52S"),
    "extension value": _ext("result", "n", 2),
    "extension true vs 1": _ext("result", "flag", 1),
    "extension 1 vs true": _ext("result", "n", True),
    "extension 1 vs '1'": _ext("result", "n", "1"),
    "extension added": _ext("result", "new", "x"),
    "extension nested value": _ext("context", "list", [1, "two", {"three": 3.5}]),
    "extension list order": _ext("context", "list", ["two", 1, {"three": 3}]),
    "member added": lambda s: s["context"]["team"]["member"].append({"mbox": "mailto:e@x.com"}),
    "member removed": lambda s: s["context"]["team"]["member"].pop(),
    "member changed": _set("context.team.member.0.mbox", "mailto:bobby@example.com"),
    "team name": _set("context.team.name", "Other team"),
    "registration": _set("context.registration", "ec531277-b57b-4c15-8d91-d292c5b2b8f8"),
    "context activity added": lambda s: s["context"]["contextActivities"]["parent"].append(
        {"id": "http://example.com/other"}
    ),
    "context activity moved to grouping": lambda s: s["context"]["contextActivities"].update(
        grouping=s["context"]["contextActivities"].pop("parent")
    ),
    "context language": _set("context.language", "en-GB"),
    "context platform added": _set("context.platform", "Example LMS"),
    "attachment sha2": _set("attachments.0.sha2", "0" * 64),
    "attachment display text": _set("attachments.0.display", {"en-US": "signature"}),
    "attachment removed": _set("attachments", []),
    "timestamp other instant": _set("timestamp", "2013-05-18T05:32:35.804+00:00"),
    "timestamp 1 ms later": _set("timestamp", "2013-05-18T05:32:34.805+00:00"),
    "empty result object": _set("result", {}),
}


@pytest.mark.parametrize("change", REAL.values(), ids=list(REAL))
def test_real_differences_are_not_equal(change):
    other = mutated(BASE, change)
    assert not statements_equal(BASE, other)
    assert not statements_equal(other, BASE)


SUB_ALLOWED = {
    "substatement verb display": _set("object.verb.display", {}),
    "substatement definition": _delete("object.object.definition"),
    "substatement actor objectType omitted": _delete("object.actor.objectType"),
    "substatement timestamp offset": _set("object.timestamp", "2015-01-01T13:00:00+01:00"),
    "substatement single context activity": _set(
        "object.context.contextActivities.parent", {"id": "http://example.com/trip"}
    ),
}
SUB_REAL = {
    "substatement verb": _set("object.verb.id", "http://example.com/left"),
    "substatement activity": _set("object.object.id", "http://example.com/other"),
    # Only the top-level timestamp is assigned by the LRS (Data 2.4.7).
    "substatement timestamp absent": _delete("object.timestamp"),
    "substatement timestamp instant": _set("object.timestamp", "2015-01-02T12:00:00Z"),
    "substatement context activity": _set(
        "object.context.contextActivities.parent", [{"id": "http://example.com/home"}]
    ),
}


@pytest.mark.parametrize("change", SUB_ALLOWED.values(), ids=list(SUB_ALLOWED))
def test_substatement_allowed_differences(change):
    assert statements_equal(SUB, mutated(SUB, change))


@pytest.mark.parametrize("change", SUB_REAL.values(), ids=list(SUB_REAL))
def test_substatement_real_differences(change):
    assert not statements_equal(SUB, mutated(SUB, change))


def test_statement_ref_object_id_case_and_objecttype():
    a = {
        "actor": {"mbox": "mailto:a@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": "e05aa883-acaf-40ad-bf54-02c8ce485fb0"},
    }
    b = mutated(a, _set("object.id", "E05AA883-ACAF-40AD-BF54-02C8CE485FB0"))
    assert statements_equal(a, b)
    assert not statements_equal(
        a, mutated(a, _set("object.id", "e05aa883-acaf-40ad-bf54-02c8ce485fb1"))
    )


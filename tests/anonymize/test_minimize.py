"""What leaves under an agreement, as pure functions: the field selection, the ids re-keyed
per agreement, sealed cursors, and the quasi-identifier rule."""

from __future__ import annotations

import re
import uuid

import pytest

from anonymize import (
    LEARNER_FIELDS,
    MISSING,
    STATEMENT_FIELDS,
    GroupCounter,
    Keyring,
    Pseudonymizer,
    Rekeyer,
    Selection,
    VaultError,
)

KEYRING = Keyring(bytes(range(32)))
REGION = "http://example.org/ext/region"
ZOE = {"objectType": "Agent", "name": "Zoe", "mbox": "mailto:zoe@example.org"}
SAM = {"objectType": "Agent", "name": "Sam", "mbox": "mailto:sam@example.org"}
LIA = {"objectType": "Agent", "name": "Lia", "mbox": "mailto:lia@example.org"}
PSEUDONYMS = Pseudonymizer(KEYRING, "t")


def stored(statement: dict) -> dict:
    return PSEUDONYMS.pseudonymize_statement(statement).statement


def test_learner_ids_are_stable_per_agreement_and_unrelated_across_agreements():
    a, b = Rekeyer(KEYRING, "t", "agreement-a"), Rekeyer(KEYRING, "t", "agreement-b")
    zoe = PSEUDONYMS.pseudonym(ZOE)
    assert a.learner_id(zoe) == a.learner_id(dict(zoe)) == Rekeyer(
        KEYRING, "t", "agreement-a").learner_id(zoe)
    assert a.learner_id(zoe) != b.learner_id(zoe)
    assert a.learner_id(zoe) != a.learner_id(PSEUDONYMS.pseudonym(SAM))
    assert re.fullmatch(r"[0-9a-f]{32}", a.learner_id(zoe))
    assert a.learner_id({"objectType": "Group", "member": [zoe]}) is None
    # Another tenant's agreement of the same id shares nothing either.
    assert Rekeyer(KEYRING, "u", "agreement-a").learner_id(zoe) != a.learner_id(zoe)
    statement_id = str(uuid.uuid4())
    rekeyed = uuid.UUID(a.statement_id(statement_id))
    assert rekeyed.version == 8 and str(rekeyed) != statement_id
    assert a.statement_id(statement_id.upper()) == str(rekeyed) != b.statement_id(statement_id)
    assert a.registration(statement_id) not in (str(rekeyed), b.registration(statement_id))


def test_cursors_are_sealed_to_their_agreement():
    a, b = Rekeyer(KEYRING, "t", "agreement-a"), Rekeyer(KEYRING, "t", "agreement-b")
    cursor = a.seal_cursor(b"position")
    assert b"position" not in cursor.encode() and a.seal_cursor(b"position") == cursor
    assert a.open_cursor(cursor) == b"position"
    flipped = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
    for bad in (flipped, cursor[:-4], "", "!!", "AA"):
        with pytest.raises(VaultError):
            a.open_cursor(bad)
    with pytest.raises(VaultError):
        b.open_cursor(cursor)
    rotated = Keyring(bytes(32), retired=[bytes(range(32))])
    assert Rekeyer(rotated, "t", "agreement-a").open_cursor(cursor) == b"position"


def test_the_selection_keeps_only_its_fields_and_learner_ids():
    rekey = Rekeyer(KEYRING, "t", "a")
    fields = [*STATEMENT_FIELDS, *LEARNER_FIELDS, f"context.extensions.{REGION}"]
    selection = Selection(fields, [REGION], rekey)
    statement = stored({
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Group", "name": "Class", "member": [ZOE, SAM]},
        "verb": {"id": "http://example.org/v", "display": {"en": "did"}},
        "object": LIA,
        "result": {"score": {"scaled": 1}, "response": "Zoe's secret", "extensions": {REGION: 1}},
        "context": {
            "registration": str(uuid.uuid4()),
            "instructor": LIA,
            "contextActivities": {"parent": {"id": "http://example.org/c"},
                                  "other": [{"id": "http://example.org/o"}]},
            "contextAgents": [{"agent": ZOE, "relevantTypes": ["http://example.org/t"]}],
            "contextGroups": [{"group": {"objectType": "Group", "member": [SAM]}}],
            "extensions": {REGION: {"nested": "object"}, "http://example.org/x": "secret"},
        },
        "timestamp": "2024-01-01T00:00:00Z",
    })
    values, withheld = selection.row(statement, None)
    row = dict(zip(fields, values, strict=True))
    ids = {name: rekey.learner_id(PSEUDONYMS.pseudonym(a)) for name, a in
           (("zoe", ZOE), ("sam", SAM), ("lia", LIA))}
    assert row["actor"] == {"objectType": "Group", "member": [ids["zoe"], ids["sam"]]}
    assert row["object"] == ids["lia"] and row["context.instructor"] == ids["lia"]
    assert row["context.contextAgents"] == [ids["zoe"]]
    assert row["context.contextGroups"] == [{"objectType": "Group", "member": [ids["sam"]]}]
    assert row["object.objectType"] == "Agent" and row["object.id"] is MISSING
    assert row["context.contextActivities.parent"] == ["http://example.org/c"]
    assert row["context.contextActivities.other"] == ["http://example.org/o"]
    assert row["context.contextActivities.grouping"] is MISSING
    assert row["id"] == rekey.statement_id(statement["id"])
    assert row["context.registration"] == rekey.registration(statement["context"]["registration"])
    assert row["result.score.scaled"] == 1 and row["timestamp"] == "2024-01-01T00:00:00Z"
    # An object where a dimension's scalar belongs is not exported; nothing is withheld.
    assert row[f"context.extensions.{REGION}"] is MISSING and withheld == []
    assert "secret" not in repr(values) and "Zoe" not in repr(values)
    ref = {"id": "x", "object": {"objectType": "StatementRef", "id": statement["id"]}}
    assert Selection(["object.id"], [], rekey).row(ref, None)[0] == [row["id"]]
    sub = stored({"actor": ZOE, "object": {"objectType": "SubStatement", "actor": SAM,
                                            "verb": {"id": "http://example.org/v"},
                                            "object": {"id": "http://example.org/c"}}})
    assert Selection(["object", "object.id"], [], rekey).row(sub, None)[0] == [MISSING, MISSING]
    with pytest.raises(ValueError, match="not an exportable field"):
        Selection(["result.response"], [], rekey)


def test_the_rule_publishes_only_combinations_of_k_learners():
    counter = GroupCounter(k=3, width=2)
    seeded = {("n", "a"): 4, ("n", "b"): 2, ("n", "c"): 1, ("s", "a"): 1, ("s", "b"): 1}
    learner = 0
    for combination, size in seeded.items():
        for _ in range(size):
            learner += 1
            for _ in range(3):  # a learner's statements count once
                counter.add(combination, [learner])
    plan = counter.generalize()
    assert plan.kept(("n", "a")) == 2
    assert plan.kept(("n", "b")) == plan.kept(("n", "c")) == 1
    assert plan.kept(("s", "a")) == plan.kept(("s", "b")) == 0  # 2 together: fewer than k
    assert plan.kept(("x", "y")) == 0  # not counted: nothing vouches for it
    with pytest.raises(ValueError):
        counter.add(("n",), [1])


def test_the_counter_keeps_at_most_k_learners_per_combination():
    counter = GroupCounter(k=5, width=1)
    for learner in range(100_000):
        counter.add(("common",), [learner])
    assert counter._groups == {("common",): None}
    assert counter.generalize().kept(("common",)) == 1

"""Masking policy: extension allow-lists and dropped free-text fields (Data 4.1)."""

from __future__ import annotations

import copy

import pytest

from anonymize import SUPPORTED_DROP_FIELDS, MaskingError, MaskingPolicy

KEEP = "http://example.com/ext/keep"
DROP = "http://example.com/ext/drop"


def _activity(extensions):
    return {
        "id": "http://example.com/act",
        "definition": {"name": {"en": "A"}, "extensions": dict(extensions)},
    }


def _statement():
    both = {KEEP: 1, DROP: "secret"}
    return {
        "actor": {"mbox": "mailto:a@example.com"},
        "verb": {"id": "http://example.com/v"},
        "object": _activity(both),
        "result": {"success": True, "response": "my name is Alice", "extensions": dict(both)},
        "context": {
            "extensions": dict(both),
            "contextActivities": {
                "parent": [_activity(both)],
                "grouping": _activity(both),
                "category": [{"id": "http://example.com/cat"}],
            },
        },
    }


def test_default_keeps_everything_and_returns_input():
    statement = _statement()
    policy = MaskingPolicy()
    assert policy.masks_nothing
    assert policy.apply(statement) is statement


def test_allow_list_drops_other_extensions_everywhere_data_4_1():
    statement = _statement()
    statement["object"] = {"objectType": "SubStatement", **copy.deepcopy(_statement())}
    sent = copy.deepcopy(statement)
    masked = MaskingPolicy(allowed_extensions=[KEEP]).apply(statement)
    assert statement == sent, "the input must not be modified"
    assert DROP not in repr(masked) and "secret" not in repr(masked)
    for part in (masked, masked["object"]):
        assert part["result"]["extensions"] == {KEEP: 1}
        assert part["context"]["extensions"] == {KEEP: 1}
        activities = part["context"]["contextActivities"]
        assert activities["parent"][0]["definition"]["extensions"] == {KEEP: 1}
        assert activities["grouping"]["definition"]["extensions"] == {KEEP: 1}
        assert activities["category"] == [{"id": "http://example.com/cat"}]
    assert masked["object"]["object"]["definition"]["extensions"] == {KEEP: 1}
    assert masked["result"]["response"] == "my name is Alice"


def test_emptied_containers_are_removed():
    statement = {
        "actor": {"mbox": "mailto:a@example.com"},
        "verb": {"id": "http://example.com/v"},
        "object": {"id": "http://example.com/act", "definition": {"extensions": {DROP: 1}}},
        "result": {"response": "free text", "extensions": {DROP: 1}},
        "context": {"extensions": {DROP: 1}},
    }
    masked = MaskingPolicy(allowed_extensions=[], drop_fields=["result.response"]).apply(statement)
    assert masked == {
        "actor": statement["actor"],
        "verb": statement["verb"],
        "object": {"id": "http://example.com/act"},
    }


def test_empty_containers_already_sent_are_kept():
    statement = {"result": {"extensions": {}}, "context": {}, "object": {"id": "http://x/a"}}
    assert MaskingPolicy(allowed_extensions=[KEEP]).apply(statement) == statement


def test_partly_emptied_extensions_keep_siblings():
    statement = _statement()
    masked = MaskingPolicy(allowed_extensions=["http://other"]).apply(statement)
    assert "extensions" not in masked["result"] and masked["result"]["success"] is True
    assert "extensions" not in masked["context"]
    assert masked["object"]["definition"] == {"name": {"en": "A"}}


def test_drop_result_response_also_in_substatement():
    statement = _statement()
    statement["object"] = {"objectType": "SubStatement", **copy.deepcopy(_statement())}
    masked = MaskingPolicy(drop_fields=frozenset({"result.response"})).apply(statement)
    assert "response" not in masked["result"] and "response" not in masked["object"]["result"]
    assert masked["result"]["extensions"] == {KEEP: 1, DROP: "secret"}


def test_unchanged_statement_is_returned_as_is():
    statement = {"actor": {}, "verb": {}, "object": {"id": "http://x/a"}, "result": {"score": {}}}
    assert (
        MaskingPolicy(allowed_extensions=[KEEP], drop_fields=["result.response"]).apply(statement)
        is statement
    )


def test_statement_ref_and_agent_objects_are_untouched():
    for obj in ({"objectType": "StatementRef", "id": "x"}, {"objectType": "Agent", "mbox": "m"}):
        statement = {"object": obj, "result": {"response": "r"}}
        masked = MaskingPolicy(allowed_extensions=[], drop_fields=["result.response"]).apply(
            statement
        )
        assert masked["object"] is obj


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"drop_fields": ["result.score.raw"]}, "unsupported"),
        ({"drop_fields": "result.response"}, "not one string"),
        ({"allowed_extensions": KEEP}, "not one string"),
        ({"allowed_extensions": [KEEP, 3]}, "string"),
    ],
)
def test_bad_configuration_fails_fast(kwargs, match):
    with pytest.raises(MaskingError, match=match):
        MaskingPolicy(**kwargs)


def test_supported_fields_and_repr():
    assert "result.response" in SUPPORTED_DROP_FIELDS
    policy = MaskingPolicy(allowed_extensions=[KEEP], drop_fields=["result.response"])
    assert policy.allowed_extensions == frozenset({KEEP})
    assert KEEP in repr(policy) and not policy.masks_nothing

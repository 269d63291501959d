"""Statement-level rules (Data 2.2, 2.4): required properties, ids, versions, timestamps,
authority, attachments, objects of every type, SubStatements, and batches."""

from __future__ import annotations

import pytest
import xapi_examples as ex
from model_testing import DELETE, changed, errors

from statements import StatementError, validate, validate_statements

ACTIVITY_ONLY = "must only be used when the object is an Activity"
OBJECT_TYPES = "must be Activity, Agent, Group, StatementRef or SubStatement"
SIGNATURE = ex.SIGNED["attachments"][0]


@pytest.mark.parametrize("key", ["actor", "verb", "object"])
def test_actor_verb_object_are_required_data_2_2(key):
    assert errors(changed(ex.SIMPLEST, key)) == {key: ["is required"]}


def test_every_problem_is_reported_not_just_the_first():
    statement = changed(ex.SIMPLEST, "actor.mbox", "nope")
    statement = changed(statement, "verb.id", "completed")
    statement = changed(statement, "object.id", "course")
    statement = changed(statement, "extra", 1)
    assert errors(statement) == {
        "actor.mbox": ["must be a mailto IRI (mailto:address)"],
        "verb.id": ["must be an absolute IRI"],
        "object.id": ["must be an absolute IRI"],
        "extra": ["unknown property"],
    }


@pytest.mark.parametrize("key", ["Actor", "VERB", "Object", "ID", "context_activities", "foo"])
def test_keys_are_case_sensitive_and_unknown_keys_rejected_data_2_2(key):
    assert errors(changed(ex.SIMPLEST, key, {})) == {key: ["unknown property"]}


@pytest.mark.parametrize(
    "key", ["id", "actor", "verb", "object", "result", "context", "timestamp", "stored"]
)
def test_null_values_are_rejected_data_2_2(key):
    assert errors(changed(ex.LONG, key, None)) == {key: ["must not be null"]}


@pytest.mark.parametrize(
    "value",
    [
        "12345678-1234-5678-1234-56781234567",
        "12345678123456781234567812345678",
        "{12345678-1234-5678-1234-567812345678}",
        "urn:uuid:12345678-1234-5678-1234-567812345678",
        "12345678-1234-5678-1234-56781234567g",
        "",
        12345678,
    ],
)
def test_id_must_be_a_uuid_data_2_4_1(value):
    assert errors(changed(ex.SIMPLEST, "id", value)) == {"id": ["must be a UUID in canonical form"]}


@pytest.mark.parametrize(
    "value", ["12345678-1234-5678-1234-567812345678", "FD41C918-B88B-4B20-A0A5-A4C32391AAA0"]
)
def test_any_uuid_variant_and_case_is_accepted_data_4_4(value):
    assert errors(changed(ex.SIMPLEST, "id", value)) == {}


def test_id_is_optional_data_2_4_1():
    assert errors(changed(ex.SIMPLEST, "id")) == {}


@pytest.mark.parametrize("value", ["1.0", "1.0.0", "1.0.3", "1.0.9", "1.0.10"])
def test_version_1_0_x_is_accepted_data_2_4_10(value):
    """Data 2.4.10: formatted as the version header (Communication 3.3), where "1.0" stands
    for 1.0.0; the 1.0.3 conformance suite posts "1.0" and expects 200."""
    assert errors(changed(ex.SIMPLEST, "version", value)) == {}


@pytest.mark.parametrize("value", ["1.1.0", "0.95", "2.0.0", "1.0.x", "1.0.0.0", "1.", "", 1.0])
def test_other_versions_are_rejected_data_2_4_10(value):
    found = errors(changed(ex.SIMPLEST, "version", value))
    assert found == {"version": ["must be a 1.0.x version"]}


@pytest.mark.parametrize(
    "value",
    [
        "2013-05-18T05:32:34.804Z",
        "2013-05-18T05:32:34.804+00:00",
        "2013-05-18T05:32:34+01:00",
        "2013-05-18T05:32:34.123456789-05:30",
        "2013-05-18T05:32:34",
        "2013-05-18T05:32Z",
        "2013-05-18T05:32:34+0100",
        "2013-05-18T05:32:34+01",
    ],
)
def test_iso_8601_timestamps_are_accepted_data_4_5(value):
    for key in ("timestamp", "stored"):
        assert errors(changed(ex.SIMPLEST, key, value)) == {}


@pytest.mark.parametrize(
    "value",
    [
        "2013-05-18",
        "2013-05-18 05:32:34Z",
        "2013-13-18T05:32:34Z",
        "2013-02-30T05:32:34Z",
        "2013-05-18T25:32:34Z",
        "18/05/2013 05:32",
        "2013-05-18T05:32:34+25:00",
        "",
        1368855154,
    ],
)
def test_malformed_timestamps_are_rejected_data_4_5(value):
    found = errors(changed(ex.SIMPLEST, "timestamp", value))
    assert found == {"timestamp": ["must be an ISO 8601 timestamp"]}


@pytest.mark.parametrize("offset", ["-00:00", "-0000", "-00"])
def test_negative_zero_offset_is_rejected_data_2_4_7(offset):
    found = errors(changed(ex.SIMPLEST, "timestamp", "2013-05-18T05:32:34.804" + offset))
    assert list(found) == ["timestamp"]
    assert "-00:00" in found["timestamp"][0]


def test_future_timestamps_are_accepted_data_2_4_7():
    assert errors(changed(ex.SIMPLEST, "timestamp", "2999-01-01T00:00:00Z")) == {}


def test_authority_agent_data_2_4_9():
    authority = {"objectType": "Agent", "account": {"homePage": "http://x.example", "name": "k"}}
    assert errors(changed(ex.SIMPLEST, "authority", authority)) == {}


def test_authority_group_must_have_two_agents_data_2_4_9():
    authority = changed(ex.OAUTH_AUTHORITY, "member[1]")
    found = errors(changed(ex.SIMPLEST, "authority", authority))
    assert list(found) == ["authority.member"]
    assert "two Agents" in found["authority.member"][0]


def test_authority_group_must_include_the_oauth_consumer_data_2_4_9():
    """OAuth Credentials as Authority: the consumer is an Agent identified by account; the
    1.0.3 conformance suite (XAPI-00100) posts a Group of two mbox Agents and expects 400."""
    authority = changed(ex.OAUTH_AUTHORITY, "member[0]", {"mbox": "mailto:app@example.com"})
    found = errors(changed(ex.SIMPLEST, "authority", authority))
    assert list(found) == ["authority.member"]
    assert "OAuth consumer" in found["authority.member"][0]


def test_authority_is_validated_as_an_agent():
    found = errors(changed(ex.SIMPLEST, "authority", {"name": "no ifi"}))
    assert list(found) == ["authority"]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("usageType", DELETE, "is required"),
        ("display", DELETE, "is required"),
        ("contentType", DELETE, "is required"),
        ("length", DELETE, "is required"),
        ("sha2", DELETE, "is required"),
        ("usageType", "signature", "must be an absolute IRI"),
        ("display", "Signature", "must be an object"),
        ("description", "A test signature", "must be an object"),
        ("contentType", "octet-stream", "must be an Internet media type"),
        ("length", "4235", "must be a non-negative integer"),
        ("length", 4235.0, "must be a non-negative integer"),
        ("length", -1, "must be a non-negative integer"),
        ("length", True, "must be a non-negative integer"),
        ("sha2", "672fa5fa", "must be a hexadecimal SHA-2 hash"),
        ("fileUrl", "files/cert.pdf", "must be an absolute IRL"),
        ("fileURL", "http://example.com/cert.pdf", "unknown property"),
    ],
)
def test_attachment_metadata_data_2_4_11(key, value, message):
    found = errors(changed(ex.SIGNED, f"attachments[0].{key}", value))
    assert found == {f"attachments[0].{key}": [message]}


def test_attachment_with_file_url_and_parameters():
    attachment = changed(SIGNATURE, "fileUrl", "https://example.com/cert.pdf")
    attachment["contentType"] = 'text/plain; charset="utf-8"'
    assert errors(changed(ex.SIGNED, "attachments", [attachment, SIGNATURE])) == {}


def test_attachments_must_be_an_array():
    found = errors(changed(ex.SIGNED, "attachments", SIGNATURE))
    assert found == {"attachments": ["must be an array"]}


@pytest.mark.parametrize(
    ("target", "path", "message"),
    [
        ({"objectType": "StatementRef"}, "object.id", "is required"),
        ({"objectType": "StatementRef", "id": "8f87ccde"}, "object.id", "UUID"),
        ({"id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"}, "object.id", "IRI"),
        (
            {"objectType": "StatementRef", "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0", "x": 1},
            "object.x",
            "unknown property",
        ),
    ],
)
def test_statement_reference_data_2_4_4_3(target, path, message):
    found = errors(changed(ex.STATEMENT_REF, "object", target))
    assert list(found) == [path]
    assert message in found[path][0]


@pytest.mark.parametrize(
    "target",
    [
        {"mbox": "mailto:andrew@example.co.uk"},
        {"name": "Team", "member": [{"mbox": "mailto:a@example.com"}]},
    ],
)
def test_agent_or_group_object_needs_object_type_data_2_4_4_2(target):
    found = errors(changed(ex.SIMPLEST, "object", target))
    assert list(found) == ["object.objectType"]
    assert "Agent or a Group" in found["object.objectType"][0]


@pytest.mark.parametrize("kind", ["activity", "agent", "statementref", "Substatement", "Person"])
def test_object_type_values_are_exact_data_2_2(kind):
    found = errors(changed(ex.SIMPLEST, "object.objectType", kind))
    assert found == {"object.objectType": [OBJECT_TYPES]}


def test_object_must_be_an_object():
    assert errors(changed(ex.SIMPLEST, "object", ["x"])) == {"object": ["must be an object"]}


@pytest.mark.parametrize("key", ["id", "stored", "version", "authority"])
def test_substatement_forbidden_properties_data_2_4_4_3(key):
    value = {
        "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0",
        "stored": "2013-05-18T05:32:34.804Z",
        "version": "1.0.0",
        "authority": {"mbox": "mailto:a@example.com"},
    }[key]
    found = errors(changed(ex.SUBSTATEMENT, f"object.{key}", value))
    assert found == {f"object.{key}": ["must not be used in a SubStatement"]}


def test_substatement_cannot_be_nested_data_2_4_4_3():
    nested = changed(ex.SUBSTATEMENT, "object.object", ex.OBJECT_SUBSTATEMENT)
    found = errors(nested)
    assert list(found) == ["object.object.objectType"]
    assert "cannot contain" in found["object.object.objectType"][0]


@pytest.mark.parametrize("key", ["actor", "verb", "object"])
def test_substatement_is_validated_as_a_statement_data_2_4_4_3(key):
    assert errors(changed(ex.SUBSTATEMENT, f"object.{key}")) == {f"object.{key}": ["is required"]}


def test_substatement_errors_carry_nested_paths():
    found = errors(changed(ex.SUBSTATEMENT, "object.object.definition.name", {"en US": "x"}))
    assert found == {"object.object.definition.name.en US": ["must be an RFC 5646 language tag"]}


def test_substatement_may_have_result_context_timestamp():
    sub = dict(ex.SUBSTATEMENT["object"])
    sub["result"] = {"completion": True}
    sub["context"] = {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7"}
    sub["timestamp"] = "2999-01-01T00:00:00Z"  # Data 2.4.7: MAY be in the future
    assert errors(changed(ex.SUBSTATEMENT, "object", sub)) == {}


def test_voiding_statement_data_2_3_2():
    assert validate(ex.VOIDING) == ex.VOIDING


@pytest.mark.parametrize("key", ["revision", "platform"])
def test_revision_and_platform_only_with_an_activity_object_data_2_4_6(key):
    statement = changed(ex.STATEMENT_REF, "context", {key: "1.2"})
    assert errors(statement) == {f"context.{key}": [ACTIVITY_ONLY]}
    activity = changed(ex.SIMPLEST, "context", {key: "1.2"})
    assert errors(activity) == {}


def test_revision_rule_applies_inside_a_substatement():
    statement = changed(ex.OBJECT_SUBSTATEMENT, "context", {"platform": "web"})
    found = errors(changed(ex.SIMPLEST, "object", statement))
    assert found == {"object.context.platform": [ACTIVITY_ONLY]}


def test_revision_rule_reports_with_other_context_errors():
    statement = changed(ex.STATEMENT_REF, "context", {"revision": "2", "registration": "x"})
    assert errors(statement) == {
        "context.registration": ["must be a UUID in canonical form"],
        "context.revision": [ACTIVITY_ONLY],
    }


@pytest.mark.parametrize("version", ["1.1.0", "3.0.0", "0.95"])
def test_unsupported_version_argument_is_a_programming_error(version):
    with pytest.raises(ValueError, match="unsupported xAPI version"):
        validate(ex.SIMPLEST, version=version)


@pytest.mark.parametrize("version", ["1.0", "1.0.0", "1.0.3", "2.0", "2.0.0"])
def test_version_argument_accepts_the_1_0_and_2_0_families(version):
    assert validate(ex.SIMPLEST, version=version) == ex.SIMPLEST


def test_root_must_be_an_object():
    with pytest.raises(StatementError) as caught:
        validate(["not", "a", "statement"])
    assert caught.value.errors == {"": ["must be an object"]}


def test_batch_paths_are_prefixed_with_the_index():
    batch = [ex.SIMPLEST, changed(ex.SIMPLEST, "verb.id", "created"), "x"]
    with pytest.raises(StatementError) as caught:
        validate_statements(batch)
    assert caught.value.errors == {
        "[1].verb.id": ["must be an absolute IRI"],
        "[2]": ["must be an object"],
    }


def test_single_statement_gives_a_list_of_one():
    assert validate_statements(ex.SIMPLEST) == [ex.SIMPLEST]


def test_single_statement_errors_have_no_prefix():
    with pytest.raises(StatementError) as caught:
        validate_statements(changed(ex.SIMPLEST, "verb"))
    assert caught.value.errors == {"verb": ["is required"]}


@pytest.mark.parametrize("data", ["statement", 1, None, True])
def test_batch_root_must_be_an_object_or_array(data):
    with pytest.raises(StatementError) as caught:
        validate_statements(data)
    assert list(caught.value.errors) == [""]


def test_empty_batch_is_an_empty_list():
    assert validate_statements([]) == []

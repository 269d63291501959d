"""GET Statements parameters (Communication 2.1.3) and timestamps (Data 4.5)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from statements.errors import QueryError
from statements.query import FORMATS, StatementQuery, parse_statement_query
from statements.timestamps import parse_timestamp, stored_timestamp

ID = "fd41c918-b88b-4b20-a0a5-a4c32391aaa0"
AGENT = {"objectType": "Agent", "mbox": "mailto:Ann@Example.COM"}


def errors_of(params: dict) -> dict[str, list[str]]:
    with pytest.raises(QueryError) as info:
        parse_statement_query(params)
    return info.value.errors


def test_defaults_follow_the_parameter_table():
    q = parse_statement_query({})
    assert q == StatementQuery()
    assert (q.limit, q.format, q.attachments, q.ascending) == (0, "exact", False, False)
    assert (q.related_activities, q.related_agents) == (False, False)
    assert not q.is_single


def test_every_filter_parameter():
    q = parse_statement_query(
        {
            "agent": json.dumps(AGENT),
            "verb": "http://adlnet.gov/expapi/verbs/answered",
            "activity": "http://example.com/quiz",
            "registration": "EC531277-B57B-4C15-8D91-D292C5B2B8F7",
            "related_activities": "true",
            "related_agents": "true",
            "since": "2013-05-18T07:32:34.804+02:00",
            "until": "2013-05-19T05:32:34Z",
            "limit": "25",
            "format": "ids",
            "attachments": "true",
            "ascending": "true",
        }
    )
    assert q.agent == AGENT
    assert q.agent_key == "mbox:mailto:Ann@example.com"
    assert q.verb == "http://adlnet.gov/expapi/verbs/answered"
    assert q.activity == "http://example.com/quiz"
    assert q.registration == "ec531277-b57b-4c15-8d91-d292c5b2b8f7"
    assert q.related_activities and q.related_agents and q.attachments and q.ascending
    assert q.since == "2013-05-18T05:32:34.804000Z"
    assert q.until == "2013-05-19T05:32:34.000000Z"
    assert (q.limit, q.format) == (25, "ids")
    assert not q.is_single


def test_query_is_immutable_and_hashable():
    q = parse_statement_query({"agent": json.dumps(AGENT), "limit": "3"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.limit = 5  # type: ignore[misc]
    hash(q)


@pytest.mark.parametrize("name", ["statementId", "voidedStatementId"])
def test_single_statement_ids_are_lowercased(name):
    q = parse_statement_query({name: ID.upper(), "format": "canonical", "attachments": "true"})
    assert q.is_single
    assert getattr(q, dataclasses.fields(q)[0 if name == "statementId" else 1].name) == ID
    assert (q.format, q.attachments) == ("canonical", True)


def test_limit_zero_and_large_values_kept_as_asked():
    assert parse_statement_query({"limit": "0"}).limit == 0
    assert parse_statement_query({"limit": "1000000"}).limit == 1_000_000


@pytest.mark.parametrize("fmt", FORMATS)
def test_formats(fmt):
    assert parse_statement_query({"format": fmt}).format == fmt


def test_list_values_from_a_multidict():
    q = parse_statement_query({"verb": ["http://example.com/v"], "limit": ["2"]})
    assert (q.verb, q.limit) == ("http://example.com/v", 2)


BAD_VALUES = [
    ("statementId", "not-a-uuid", "must be a UUID"),
    ("statementId", "", "must be a UUID"),
    ("voidedStatementId", ID + "0", "must be a UUID"),
    ("registration", "{" + ID + "}", "must be a UUID"),
    ("verb", "answered", "IRI"),
    ("verb", "", "IRI"),
    ("activity", "/relative/path", "IRI"),
    ("related_activities", "True ", "true or false"),  # any case, but nothing around it
    ("related_agents", "1", "true or false"),
    ("attachments", "yes", "true or false"),
    ("ascending", "", "true or false"),
    ("since", "yesterday", "ISO 8601"),
    ("until", "2013-05-18T05:32:34.804-00:00", "-00:00"),
    ("since", "2013-02-30T00:00:00Z", "ISO 8601"),
    ("limit", "-1", "non-negative integer"),
    ("limit", "1.5", "non-negative integer"),
    ("limit", "+3", "non-negative integer"),
    ("limit", "١٢", "non-negative integer"),  # Arabic-Indic digits: not a JSON integer
    ("limit", "9" * 5000, "non-negative integer"),
    ("format", "Exact", "one of ids, exact, canonical"),
    ("format", "", "one of ids, exact, canonical"),
]


@pytest.mark.parametrize(("name", "value", "rule"), BAD_VALUES)
def test_bad_values_are_rejected_under_the_parameter_name(name, value, rule):
    """Data 2.2: parameters are validated to the standard of the same type in statements."""
    errors = errors_of({name: value})
    assert list(errors) == [name]
    assert rule in errors[name][0]


@pytest.mark.parametrize(("yes", "no"), [("true", "false"), ("True", "False"),
                                         ("TRUE", "FALSE"), ("tRuE", "fAlSe")])
def test_booleans_in_any_letter_case_communication_2_1_3(yes, no):
    """tincan sends Python's `True` (anything around the word stays an error: BAD_VALUES)."""
    query = parse_statement_query({"related_agents": yes, "ascending": no})
    assert (query.related_agents, query.ascending) == (True, False)


def test_since_and_until_take_a_space_for_the_t():
    query = parse_statement_query({"since": "2024-01-01 12:00:00.5+01:00",
                                   "until": "2024-01-01 12:00:00"})
    assert (query.since, query.until) == ("2024-01-01T11:00:00.500000Z",
                                          "2024-01-01T12:00:00.000000Z")


def test_unknown_parameter_is_rejected():
    assert errors_of({"verbs": "http://example.com/v"}) == {"verbs": ["unknown parameter"]}
    # Keys are case-sensitive (Data 2.2).
    assert "statementid" in errors_of({"statementid": ID})


def test_repeated_parameter_is_rejected():
    errors = errors_of({"verb": ["http://example.com/a", "http://example.com/b"]})
    assert errors == {"verb": ["must be given only once"]}


def test_every_problem_is_reported():
    errors = errors_of({"limit": "x", "format": "y", "since": "z", "bogus": "1"})
    assert set(errors) == {"limit", "format", "since", "bogus"}


def test_2_1_3_both_statement_ids_rejected():
    errors = errors_of({"statementId": ID, "voidedStatementId": ID})
    assert errors == {"voidedStatementId": ["must not be combined with statementId"]}


@pytest.mark.parametrize("id_name", ["statementId", "voidedStatementId"])
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("agent", json.dumps(AGENT)),
        ("verb", "http://example.com/v"),
        ("activity", "http://example.com/a"),
        ("registration", ID),
        ("related_activities", "false"),
        ("related_agents", "false"),
        ("since", "2013-05-18T05:32:34Z"),
        ("until", "2013-05-18T05:32:34Z"),
        ("limit", "0"),
        ("ascending", "false"),
    ],
)
def test_2_1_3_single_statement_id_only_with_attachments_and_format(id_name, name, value):
    """Communication 2.1.3: any other parameter with statementId/voidedStatementId is a 400,
    even one given with its default value."""
    errors = errors_of({id_name: ID, name: value, "format": "exact", "attachments": "false"})
    assert errors == {name: [f"must not be combined with {id_name}"]}


def test_agent_parameter_must_be_json():
    assert errors_of({"agent": "mailto:ann@example.com"}) == {
        "agent": ["must be a JSON Agent or identified Group object"]
    }


def test_agent_parameter_validated_like_a_statement_agent():
    errors = errors_of({"agent": json.dumps({"mbox": "ann@example.com"})})
    assert list(errors) == ["agent.mbox"]
    errors = errors_of({"agent": json.dumps({"name": "Ann"})})
    assert any(path.startswith("agent") for path in errors)
    errors = errors_of({"agent": "[]"})
    assert list(errors) == ["agent"]


def test_agent_parameter_anonymous_group_rejected():
    """Communication 2.1.3: the agent filter is an Agent or *identified* Group."""
    group = {"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}]}
    assert errors_of({"agent": json.dumps(group)}) == {
        "agent": ["must be an Agent or an identified Group (one with an IFI)"]
    }


def test_identified_group_agent_parameter():
    group = {"objectType": "Group", "account": {"homePage": "http://example.com", "name": "g"}}
    q = parse_statement_query({"agent": json.dumps(group)})
    assert q.agent_key == "account:http://example.com|g"


# Data 4.5 timestamps: parse_timestamp / stored_timestamp.


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("2013-05-18T05:32:34.804+00:00", "2013-05-18T05:32:34.804000Z"),
        ("2013-05-18T05:32:34.804Z", "2013-05-18T05:32:34.804000Z"),
        ("2013-05-18t05:32:34.804z", "2013-05-18T05:32:34.804000Z"),
        ("2013-05-18T05:32:34,5Z", "2013-05-18T05:32:34.500000Z"),
        ("2013-05-18T05:32:34.123456789Z", "2013-05-18T05:32:34.123456Z"),
        ("2013-05-18T07:32:34+02:00", "2013-05-18T05:32:34.000000Z"),
        ("2013-05-18T00:32:34-0500", "2013-05-18T05:32:34.000000Z"),
        ("2013-05-18T10:32:34+05", "2013-05-18T05:32:34.000000Z"),
        ("2013-05-18T05:32Z", "2013-05-18T05:32:00.000000Z"),
        ("2013-05-18T05:32:34", "2013-05-18T05:32:34.000000Z"),
        ("20130518T053234.804Z", "2013-05-18T05:32:34.804000Z"),
        ("20130518T073234+0200", "2013-05-18T05:32:34.000000Z"),
        ("2016-02-29T23:59:59.999-01:00", "2016-03-01T00:59:59.999000Z"),
    ],
)
def test_4_5_timestamps_normalize_to_fixed_width_utc(text, stored):
    assert stored_timestamp(parse_timestamp(text)) == stored


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2013-05-18",
        "2013-05-18 05:32:34Z",
        "2013-05-18T05:32:34.804-00:00",
        "2013-05-18T05:32:34-00",
        "2013-05-18T25:00:00Z",
        "2013-05-18T05:60:00Z",
        "2013-02-29T05:00:00Z",
        "2013-05-18T05:32:34+24:00",
        "2013-05-18T05:32:34+01:60",
        "20130518T05:32:34Z",
        "2013-05-18T053234Z",
        "2013-05-18T05:32:34.Z",
        "2013-05-18T05:32:34ZZ",
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_4_5_invalid_timestamps(text):
    with pytest.raises(ValueError, match=r"ISO 8601|-00:00"):
        parse_timestamp(text)


def test_parse_timestamp_rejects_non_strings():
    with pytest.raises(ValueError):
        parse_timestamp(1368855154)  # type: ignore[arg-type]


def test_stored_timestamp_sorts_as_text():
    base = datetime(2013, 5, 18, 5, 32, 34, tzinfo=UTC)
    instants = [base + timedelta(microseconds=n) for n in (0, 1, 999_999, 10**6, 10**7)]
    instants.append(datetime(999, 1, 1, tzinfo=UTC))
    texts = [stored_timestamp(d) for d in instants]
    assert len({len(t) for t in texts}) == 1
    assert sorted(texts) == [stored_timestamp(d) for d in sorted(instants)]
    assert texts[-1] == "0999-01-01T00:00:00.000000Z"


def test_stored_timestamp_converts_to_utc_and_refuses_naive():
    plus2 = datetime(2013, 5, 18, 7, 0, tzinfo=timezone(timedelta(hours=2)))
    assert stored_timestamp(plus2) == "2013-05-18T05:00:00.000000Z"
    with pytest.raises(ValueError, match="timezone"):
        stored_timestamp(datetime(2013, 5, 18))

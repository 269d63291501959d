"""No raw identifier reaches storage, logs or error responses (issue 4, DESIGN.md decision 4),
on every backend: statements with every agent position filled (Data 2.4.2, 2.4.6.2, 2.4.5.1
SubStatement), sent by POST (single and batch) and PUT, a signed one (Data 2.6: its JWS is
sealed, issue 16), and State / Agent Profile documents (Communication 2.3, 2.6) under those
agents."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from people import (
    IDENTIFIERS,
    LIA,
    NOA,
    SAM,
    TEACHER,
    ZOE,
    agent_objects,
    everywhere,
    everywhere_2_0,
    multipart_body,
    sign_statement,
    simple,
)
from scan import find_identifiers, jws_forms, store_bytes

from tests.jws_testing import sign, signature_attachment

ACTIVITY = "http://example.com/activities/privacy-state"


SIGNED, TOKEN = sign_statement(everywhere(actor=LIA))


def _write_everything(writer) -> list:
    """Every write path, every agent position; returns the responses."""
    raw, content_type = multipart_body(SIGNED, [TOKEN])
    responses = [
        writer.post_statements(everywhere()),
        writer.post_statements([everywhere(actor=who) for who in (SAM, LIA, NOA, TEACHER)]),
        writer.post_statements(agent_objects()),
        writer.post("/xapi/statements", data=raw, headers={"Content-Type": content_type}),
    ]
    put = everywhere(actor=NOA)
    responses.append(writer.put("/xapi/statements", query_string={"statementId": put["id"]},
                                json=put))
    # Re-sending a stored batch is a no-op (compared in the stored, pseudonymized form).
    again = everywhere(actor=SAM)
    responses.append(writer.post_statements([again]))
    responses.append(writer.post_statements([again]))
    for who in (ZOE, SAM, LIA, NOA, TEACHER):
        agent = json.dumps({k: v for k, v in who.items() if k != "objectType"})
        responses.append(writer.put("/xapi/activities/state", data=b'{"bookmark": 3}',
                                    content_type="application/json",
                                    query_string={"activityId": ACTIVITY, "agent": agent,
                                                  "stateId": "progress"}))
        responses.append(writer.post("/xapi/activities/state", data=b'{"score": 1}',
                                     content_type="application/json",
                                     query_string={"activityId": ACTIVITY, "agent": agent,
                                                   "stateId": "progress"}))
        responses.append(writer.put("/xapi/agents/profile", data=b"prefs",
                                    content_type="text/plain",
                                    headers={"If-None-Match": "*"},
                                    query_string={"agent": agent, "profileId": "prefs"}))
    return responses


def _rejected_writes(writer) -> list:
    """Requests that fail, each carrying raw identifiers: their answers must not echo them."""
    stored = simple()
    writer.post_statements(stored)
    changed = {**stored, "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}}
    # Signed, but the JWS payload (identities in clear) is another statement: 400.
    unsigned = simple(actor=TEACHER)
    token = sign({**unsigned, "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}})
    forged = {**unsigned, "attachments": [signature_attachment(token)]}
    signed, content_type = multipart_body(forged, [token])
    return [
        writer.post_statements(changed),  # 409
        writer.post_statements([simple(), simple(verb={"id": "not an iri"})]),  # 400
        writer.post_statements(simple(actor={**ZOE, "mbox": "zoe.kid.4f1c@example.org"})),
        writer.post("/xapi/statements", data=signed, headers={"Content-Type": content_type}),
        writer.get_statements(agent=json.dumps({**ZOE, "mbox": "zoe.kid.4f1c"})),
        writer.get("/xapi/activities/state", query_string={
            "activityId": ACTIVITY, "agent": json.dumps(LIA), "stateId": "nothing-here"}),
    ]


def test_no_raw_identifier_in_any_byte_of_the_store(writer, storage_uri, caplog):
    caplog.set_level(logging.DEBUG)
    responses = _write_everything(writer)
    assert [r.status_code for r in responses if r.status_code >= 300] == []
    blob = store_bytes(storage_uri)
    assert b"lrs.invalid/pseudonym" in blob  # the scan sees the statements
    assert find_identifiers(blob, IDENTIFIERS) == []
    assert find_identifiers(blob, jws_forms(TOKEN)) == []  # the signature is sealed
    assert find_identifiers(caplog.text, IDENTIFIERS) == []


def test_rejected_requests_echo_no_identifier_and_store_none(writer, storage_uri, caplog):
    caplog.set_level(logging.DEBUG)
    answers = _rejected_writes(writer)
    assert [a.status_code for a in answers] == [409, 400, 400, 400, 400, 404]
    for answer in answers:
        assert find_identifiers(answer.get_data(), IDENTIFIERS) == [], answer.get_data()
    assert find_identifiers(store_bytes(storage_uri), IDENTIFIERS) == []
    assert find_identifiers(caplog.text, IDENTIFIERS) == []


def test_a_reader_without_reidentify_sees_no_identifier(writer):
    _write_everything(writer)
    reads = [
        writer.get_statements(),
        writer.get_statements(format="canonical"),
        writer.get_statements(format="ids"),
        writer.get_statements(attachments="true"),
        writer.get_statements(agent=json.dumps(ZOE)),
        writer.get_statements(agent=json.dumps(LIA), related_agents="true"),
        writer.get("/xapi/agents", query_string={"agent": json.dumps(ZOE)}),
    ]
    assert [r.status_code for r in reads] == [200] * len(reads)
    assert len(reads[0].json["statements"]) == 14
    for read in reads:
        assert find_identifiers(read.get_data(), [*IDENTIFIERS, *jws_forms(TOKEN)]) == []


@pytest.mark.parametrize("position", ["actor", "context.instructor", "object.actor"])
def test_every_position_is_pseudonymized_in_the_stored_statement(writer, position):
    sent = everywhere()
    writer.post_statements(sent)
    got = writer.get_statements(statementId=sent["id"]).json
    node = got
    for part in position.split("."):
        node = node[part]
    assert set(node) <= {"objectType", "account"}
    assert node["account"]["homePage"].startswith("https://lrs.invalid/pseudonym/")


def test_scan_finds_identifiers_when_pseudonymization_is_off(make_app, storage_uri):
    """The scan itself can fail: with pseudonymization off the identifiers are stored."""
    from tests.lrs.lrs_testing import Api, add_credential

    app = make_app(pseudonymize=False)
    api = Api(app.test_client(), add_credential(app, ["all"])[0])
    assert api.post_statements(everywhere(id=str(uuid.uuid4()))).status_code == 200
    found = find_identifiers(store_bytes(storage_uri), IDENTIFIERS)
    assert "zoe.kid.4f1c" in found
    assert "Ingrid Vollmer" in found


def test_2_0_context_agents_and_groups_are_pseudonymized_in_every_position(
    writer, auditor, storage_uri
):
    """9274.1.1 4.2.2.5: contextAgents and contextGroups, the SubStatement's too, hold agents
    like any other position; they are indexed for related_agents under their pseudonym."""
    sent = everywhere_2_0()
    v2 = {"X-Experience-API-Version": "2.0.0"}
    assert writer.post_statements(sent, version=False, headers=v2).status_code == 200
    assert find_identifiers(store_bytes(storage_uri), IDENTIFIERS) == []
    plain = writer.get_statements(statementId=sent["id"])
    assert find_identifiers(plain.get_data(), IDENTIFIERS) == []
    for item in plain.json["context"]["contextAgents"]:
        assert set(item["agent"]) == {"objectType", "account"}
    got = auditor.get_statements(statementId=sent["id"]).json
    assert {k: v for k, v in got.items() if k not in ("stored", "authority", "version",
                                                      "timestamp")} == sent
    found = writer.get_statements(agent=json.dumps(NOA), related_agents="true").json
    assert [s["id"] for s in found["statements"]] == [sent["id"]]

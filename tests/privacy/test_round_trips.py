"""Clients keep working unchanged with pseudonymization on: the raw agent they wrote with
finds their statements (Communication 2.1.3 `agent`) and documents (Communication 2.3, 2.6);
only a `reidentify` credential gets the original agents back, exactly as sent."""

from __future__ import annotations

import hashlib
import json

import orjson
from people import (
    CLASS,
    IDENTIFIERS,
    LIA,
    NOA,
    SAM,
    SAM_MBOX,
    TEACHER,
    ZOE,
    ZOE_MBOX,
    agent_objects,
    everywhere,
    simple,
)
from scan import find_identifiers

from anonymize import Keyring, Pseudonymizer
from tests.lrs.lrs_testing import Api, add_credential

ASSIGNED = ("stored", "authority", "version", "timestamp")


def _as_sent(statement: dict) -> dict:
    return {k: v for k, v in statement.items() if k not in ASSIGNED}


def _ids(response) -> set[str]:
    return {s["id"] for s in response.json["statements"]}


def test_query_by_the_raw_agent_finds_the_pseudonymized_statements(writer):
    zoe, sam, teacher = simple(), simple(actor=SAM), simple(actor=TEACHER)
    nested = everywhere(actor=NOA)
    assert writer.post_statements([zoe, sam, teacher, nested]).status_code == 200
    assert _ids(writer.get_statements(agent=json.dumps(ZOE))) == {zoe["id"]}
    # mbox and mbox_sha1sum of one address are one learner (Data 2.4.2.3).
    sha1 = hashlib.sha1(ZOE_MBOX.encode()).hexdigest()
    assert _ids(writer.get_statements(agent=json.dumps({"mbox_sha1sum": sha1}))) == {zoe["id"]}
    assert _ids(writer.get_statements(agent=json.dumps({"mbox": SAM_MBOX}))) == {sam["id"]}
    # A related agent deep inside a SubStatement's Group (Communication 2.1.3 related_agents).
    assert _ids(writer.get_statements(agent=json.dumps(ZOE), related_agents="true")) == {
        zoe["id"], nested["id"]}
    assert _ids(writer.get_statements(agent=json.dumps(LIA), related_agents="true")) == {
        nested["id"]}


def test_query_by_the_pseudonym_finds_the_same_statements(writer):
    """A reporting tool that only knows pseudonyms can filter by them."""
    sent = simple()
    writer.post_statements([sent, simple(actor=SAM)])
    pseudonym = writer.get_statements(statementId=sent["id"]).json["actor"]
    assert _ids(writer.get_statements(agent=json.dumps(pseudonym))) == {sent["id"]}


def test_reidentify_returns_the_originals_exactly(writer, auditor):
    batch = [everywhere(), *agent_objects(), simple(actor=LIA)]
    no_id = everywhere(actor=SAM)
    del no_id["id"]
    ids = writer.post_statements([*batch, no_id]).json
    put = everywhere(actor=TEACHER)
    writer.put("/xapi/statements", query_string={"statementId": put["id"]}, json=put)
    sent = {**{s["id"]: s for s in batch}, ids[-1]: {**no_id, "id": ids[-1]}, put["id"]: put}
    for statement_id, statement in sent.items():
        got = auditor.get_statements(statementId=statement_id).json
        assert _as_sent(got) == statement
    listed = auditor.get_statements(limit="50").json["statements"]
    assert {s["id"]: _as_sent(s) for s in listed} == sent
    by_agent = auditor.get_statements(agent=json.dumps(ZOE), format="exact").json["statements"]
    assert batch[0]["id"] in {s["id"] for s in by_agent}
    assert all(_as_sent(s) == sent[s["id"]] for s in by_agent)


def test_a_reader_without_reidentify_never_sees_an_original(app, writer):
    batch = [everywhere(), *agent_objects()]
    writer.post_statements(batch)
    for scopes in (["all"], ["statements/read"], ["all/read"], ["statements/read/mine"]):
        reader = Api(app.test_client(), add_credential(app, scopes)[0])
        for statement in batch:
            raw = reader.get_statements(statementId=statement["id"]).get_data()
            assert find_identifiers(raw, IDENTIFIERS) == []
        assert find_identifiers(reader.get_statements().get_data(), IDENTIFIERS) == []


def test_resending_a_batch_offline_is_a_no_op_and_a_change_is_a_conflict(writer, auditor):
    """Communication 2.1.2: same id and content -> success; the stored form (pseudonymized)
    is what the re-sent statement is compared with."""
    batch = [everywhere(), simple(actor=SAM), *agent_objects()]
    assert writer.post_statements(batch).status_code == 200
    assert writer.post_statements(batch).status_code == 200
    assert len(auditor.get_statements().json["statements"]) == len(batch)
    changed = {**batch[1], "actor": ZOE}
    assert writer.post_statements(changed).status_code == 409


def test_state_with_a_raw_agent_round_trips(writer):
    params = {"activityId": "http://example.com/a", "stateId": "bookmark"}
    put = writer.put("/xapi/activities/state", data=b"page 7",
                     query_string={**params, "agent": json.dumps(ZOE)})
    assert put.status_code == 204
    got = writer.get("/xapi/activities/state", query_string={**params, "agent": json.dumps(ZOE)})
    assert got.status_code == 200
    assert got.get_data() == b"page 7"
    sha1 = hashlib.sha1(ZOE_MBOX.encode()).hexdigest()
    same = writer.get("/xapi/activities/state",
                      query_string={**params, "agent": json.dumps({"mbox_sha1sum": sha1})})
    assert same.get_data() == b"page 7"
    other = writer.get("/xapi/activities/state",
                       query_string={**params, "agent": json.dumps(SAM)})
    assert other.status_code == 404
    listed = writer.get("/xapi/activities/state", query_string={
        "activityId": params["activityId"], "agent": json.dumps(ZOE)})
    assert listed.json == ["bookmark"]


def test_agent_profile_with_a_raw_agent_round_trips(writer):
    query = {"agent": json.dumps(NOA), "profileId": "prefs"}
    assert writer.put("/xapi/agents/profile", data=b'{"theme": "dark"}',
                      content_type="application/json", headers={"If-None-Match": "*"},
                      query_string=query).status_code == 204
    assert writer.post("/xapi/agents/profile", data=b'{"font": "large"}',
                       content_type="application/json", query_string=query).status_code == 204
    got = writer.get("/xapi/agents/profile", query_string=query)
    assert orjson.loads(got.get_data()) == {"theme": "dark", "font": "large"}


def test_same_key_gives_the_librarys_pseudonym_other_tenants_differ(make_app, master_key):
    """`from anonymize import Pseudonymizer` with the service's key and tenant gives the
    account the service stored; another tenant with the same master key gets another."""
    app = make_app()
    writers = {
        tenant: Api(app.test_client(), add_credential(app, ["all"], tenant=tenant)[0])
        for tenant in ("default", "school-b")
    }
    stored = {}
    for tenant, api in writers.items():
        sent = simple()
        api.post_statements(sent)
        stored[tenant] = api.get_statements(statementId=sent["id"]).json["actor"]
        library = Pseudonymizer(Keyring.from_text(master_key), tenant=tenant)
        assert stored[tenant] == library.pseudonym(ZOE)
    assert stored["default"]["account"] != stored["school-b"]["account"]
    # Tenants are apart: school-b's raw agent finds nothing of the default tenant's.
    assert len(writers["school-b"].get_statements(agent=json.dumps(ZOE)).json["statements"]) == 1


def test_different_master_keys_give_different_pseudonyms(make_app, storage_uri):
    from anonymize.keys import encode_key

    actors = []
    for byte in (b"\x01", b"\x02"):
        app = make_app(master_key=encode_key(byte * 32))
        api = Api(app.test_client(), add_credential(app, ["all"])[0])
        sent = simple()
        api.post_statements(sent)
        actors.append(api.get_statements(statementId=sent["id"]).json["actor"])
    assert actors[0] != actors[1]


def test_agents_resource_person(app, writer, auditor, make_app):
    """Communication 2.4: a Person object; identifiers beyond the pseudonym only with the
    explicitly given `reidentify` scope."""
    writer.post_statements([simple(), simple(actor={**ZOE, "name": "Zoë K."}), everywhere()])
    plain = writer.get("/xapi/agents", query_string={"agent": json.dumps(ZOE)})
    assert plain.status_code == 200
    pseudonym = writer.get_statements(agent=json.dumps(ZOE)).json["statements"][0]["actor"]
    assert plain.json == {"objectType": "Person", "account": [pseudonym["account"]]}
    full = auditor.get("/xapi/agents", query_string={"agent": json.dumps(ZOE)}).json
    assert full["objectType"] == "Person"
    assert sorted(full["name"]) == ["Zoë K.", "Zoë Kidname"]
    assert full["mbox"] == [ZOE_MBOX]
    assert full["account"] == [pseudonym["account"]]
    group = auditor.get("/xapi/agents", query_string={
        "agent": json.dumps({"mbox": CLASS["mbox"]})}).json
    assert group["name"] == [CLASS["name"]]
    assert "member" not in group
    missing = writer.get("/xapi/agents")
    assert missing.status_code == 400
    assert writer.get("/xapi/agents", query_string={
        "agent": json.dumps(CLASS)}).status_code == 400  # a Group is not an agent parameter


def test_agents_resource_without_pseudonymization_echoes_the_agent(make_app):
    app = make_app(pseudonymize=False)
    api = Api(app.test_client(), add_credential(app, ["all"])[0])
    got = api.get("/xapi/agents", query_string={"agent": json.dumps(ZOE)}).json
    assert got == {"objectType": "Person", "name": [ZOE["name"]], "mbox": [ZOE_MBOX]}


def test_agents_resource_needs_a_read_scope(app):
    api = Api(app.test_client(), add_credential(app, ["statements/write"])[0])
    assert api.get("/xapi/agents", query_string={"agent": json.dumps(ZOE)}).status_code == 403

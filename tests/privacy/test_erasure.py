"""Erasure on request (issue 13), on every backend with pseudonymization on: after learners A
(Zoe) and B (Lia) fill every agent position, with documents and attachments, erasing A
leaves no trace of A in any byte of the store, while B's data stays byte for byte; a dry run
changes nothing; the receipt counts what was deleted; every worker forgets A."""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

import pytest
from erasure_testing import COURSE, attachment, multipart, new, whole
from people import LIA, LIA_OPENID, TEACHER, VERB, ZOE, ZOE_MBOX, multipart_body, sign_statement
from scan import find_identifiers, jws_forms, store_bytes

from anonymize import Keyring, Pseudonymizer
from anonymize.keys import encode_key
from lrs.extension import EXTENSION
from storage import AGENT_PROFILE, STATE, DocumentScope
from tests.lrs.lrs_testing import Api, add_credential

A, B = ZOE, LIA
A_IDENTIFIERS = [ZOE_MBOX, "zoe.kid.4f1c", "Zoë Kidname", "Kidname",
                 hashlib.sha1(ZOE_MBOX.encode()).hexdigest()]
ACTIVITY = COURSE["id"]
SHARED = b"the class poster, sent by both"


def essay(owner: str) -> bytes:
    return f"the essay of {owner}\r\n".encode()


def positions(who: dict[str, Any]) -> list[dict[str, Any]]:
    """A statement with `who` in each agent position xAPI 1.0.3 has (Data 2.4)."""
    alone = {"objectType": "Group", "member": [who]}
    sub = {"objectType": "SubStatement", "verb": VERB, "object": COURSE}
    return [
        new(who),
        new(TEACHER, object={"objectType": "Agent", **who}),
        new(alone),
        new(TEACHER, object=alone),
        new(TEACHER, context={"instructor": who}),
        new(TEACHER, context={"team": alone}),
        new(TEACHER, object={**sub, "actor": who}),
        new(TEACHER, object={**sub, "actor": TEACHER, "object": {"objectType": "Agent", **who}}),
        new(TEACHER, object={**sub, "actor": TEACHER, "context": {"instructor": who}}),
        new(TEACHER, object={**sub, "actor": TEACHER, "context": {"team": alone}}),
    ]


def positions_2_0(who: dict[str, Any]) -> list[dict[str, Any]]:
    """xAPI 2.0's context agents and groups, sent by a 2.0 client."""
    return [
        new(TEACHER, context={"contextAgents": [{"objectType": "contextAgent", "agent": who}]}),
        new(TEACHER, context={"contextGroups": [
            {"objectType": "contextGroup", "group": {"objectType": "Group", "member": [who]}}]}),
    ]


class Learner:
    """What was written for one learner: statement ids, attachment data, documents."""

    def __init__(self, who: dict[str, Any], name: str) -> None:
        self.who, self.name = who, name
        self.agent = json.dumps({k: v for k, v in who.items() if k != "name"})
        self.ids: list[str] = []


def write(app, writer: Api, learner: Learner) -> None:
    batch = positions(learner.who)
    assert writer.post_statements(batch).status_code == 200
    learner.ids += [s["id"] for s in batch]
    owned = new(learner.who, attachments=[attachment(essay(learner.name)), attachment(SHARED)])
    body, kind = multipart([owned], [essay(learner.name), SHARED])
    sent = writer.post("/xapi/statements", data=body, headers={"Content-Type": kind})
    assert sent.status_code == 200, sent.get_json()
    learner.ids.append(owned["id"])
    voided = new(learner.who)
    assert writer.post_statements(voided).status_code == 200
    learner.ids.append(voided["id"])
    learner.ids.append(writer.post_statements(new(TEACHER, verb={
        "id": "http://adlnet.gov/expapi/verbs/voided"}, object={
        "objectType": "StatementRef", "id": voided["id"]})).get_json()[0])
    learner.ids.append(writer.post_statements(new(TEACHER, object={
        "objectType": "StatementRef", "id": batch[0]["id"]})).get_json()[0])
    more = positions_2_0(learner.who)
    sent_2_0 = writer.post_statements(more, headers={"X-Experience-API-Version": "2.0.0"})
    assert sent_2_0.status_code == 200, sent_2_0.get_json()
    learner.ids += [s["id"] for s in more]
    for method, body in (("PUT", b'{"bookmark": 1}'), ("POST", b'{"bookmark": 2}'),
                         ("POST", b'{"score": 3}')):
        assert writer.request(method, "/xapi/activities/state", data=body,
                              content_type="application/json", query_string={
                                  "activityId": ACTIVITY, "agent": learner.agent,
                                  "stateId": "progress"}).status_code == 204
    assert writer.put("/xapi/agents/profile", data=f"prefs of {learner.name}".encode(),
                      content_type="text/plain", headers={"If-None-Match": "*"},
                      query_string={"agent": learner.agent,
                                    "profileId": "prefs"}).status_code == 204


def key_of(app, who: dict[str, Any]) -> str:
    service = app.extensions[EXTENSION].service
    view = service.tenants.get("default")
    return service.privacy.agent_key(view, who)


def snapshot(app, learner: Learner) -> dict[str, Any]:
    """Everything the store holds of one learner, as bytes."""
    store = app.extensions[EXTENSION].store
    key = key_of(app, learner.who)
    rows = store.get_statements("default", learner.ids)
    documents = {
        resource: store.get_document("default", DocumentScope(resource, activity, key), doc_id)
        for resource, activity, doc_id in ((STATE, ACTIVITY, "progress"),
                                           (AGENT_PROFILE, "", "prefs"))
    }
    hashes = [hashlib.sha256(essay(learner.name)).hexdigest(), hashlib.sha256(SHARED).hexdigest()]
    return {
        "statements": {i: (row.statement, row.sealed, row.voided) for i, row in rows.items()},
        "documents": documents,
        "identities": store.get_identities("default", key),
        "attachments": store.get_attachments("default", hashes),
    }


@pytest.fixture
def eraser(app) -> Api:
    return Api(app.test_client(), add_credential(app, ["erase"])[0])


@pytest.fixture
def written(app, writer):
    a, b = Learner(A, "zoe"), Learner(B, "lia")
    write(app, writer, a)
    write(app, writer, b)
    # B's statement naming A as a member of the team they share: kept, A taken out.
    shared = new(B, context={"team": {"objectType": "Group", "name": "Team Pair",
                                      "member": [A, B]}})
    assert writer.post_statements(shared).status_code == 200
    return a, b, shared


def test_erasing_a_leaves_no_trace_of_a_and_b_byte_for_byte(app, writer, eraser, auditor,
                                                            written, storage_uri):
    a, b, sent = written
    shared = sent["id"]
    store = app.extensions[EXTENSION].store
    a_key = key_of(app, A)
    pseudonym = a_key.rsplit("|", 1)[1]
    a_before, b_before = snapshot(app, a), snapshot(app, b)
    blobs = [i.sealed for i in a_before["identities"]] + [
        sealed for _, sealed, _ in a_before["statements"].values() if sealed]
    assert len(a_before["identities"]) == 1 and len(blobs) > 10
    shared_before = store.get_statements("default", [shared])[shared]
    everything = whole(app)
    # What the scan below looks for is there before (the scan finds what it is after).
    blob = store_bytes(storage_uri)
    assert find_identifiers(blob, [pseudonym]) == [pseudonym] and essay("zoe") in blob
    assert all(sealed[:16] in blob for sealed in blobs)

    dry = eraser.post("/admin/erasure", json={"agent": A, "dry_run": True})
    assert dry.status_code == 200, dry.get_json()
    assert whole(app) == everything
    assert snapshot(app, a) == a_before

    answer = eraser.post("/admin/erasure", json={"agent": A})
    assert answer.status_code == 200, answer.get_json()
    receipt = answer.get_json()
    assert receipt["agent"]["account"]["name"] == pseudonym
    assert receipt["tenant"] == "default" and receipt["dry_run"] is False
    assert receipt["request_id"] == answer.headers["X-Request-Id"]
    assert receipt["atomic"] == store.transactional
    assert receipt["purged"] == storage_uri.startswith("sqlite")
    assert {k: v for k, v in dry.get_json().items()
            if k not in ("dry_run", "purged", "time", "request_id", "audit_seq")} == {
        k: v for k, v in receipt.items()
        if k not in ("dry_run", "purged", "time", "request_id", "audit_seq")}

    # The receipt counts what went.
    statements_after, documents_after = whole(app)
    gone = set(everything[0]) - set(statements_after)
    counts = receipt["counts"]
    assert gone == set(a.ids)
    assert counts["statements"] + counts["referring_statements"] == len(gone)
    assert counts["referring_statements"] == 2  # a like and a voiding of A's statements
    assert receipt["statements_digest"] == "sha256:" + hashlib.sha256(
        "\n".join(sorted(gone)).encode()).hexdigest()
    changed = [i for i, row in statements_after.items() if row != everything[0][i]]
    assert changed == [shared] and counts["edited_statements"] == 1
    assert (counts["state_documents"], counts["agent_profile_documents"]) == (1, 1)
    assert len(everything[1]) - len(documents_after) == 2
    assert counts["attachments"] == 1 and counts["identities"] == 1

    # No trace of A in any byte of the store: identifiers, pseudonym, vault blobs.
    blob = store_bytes(storage_uri)
    assert find_identifiers(blob, [*A_IDENTIFIERS, pseudonym]) == []
    assert essay("zoe") not in blob
    for sealed in blobs:
        assert not any(sealed[i:i + 16] in blob for i in range(0, len(sealed) - 16, 16))
    assert store.get_identities("default", a_key) == []

    # B's data byte for byte.
    assert snapshot(app, b) == b_before
    assert len(b_before["statements"]) == len(b.ids)

    # B's shared statement: A out of the team, B's original identity still behind it.
    edited = store.get_statements("default", [shared])[shared]
    assert edited.stored == shared_before.stored and edited.sealed != shared_before.sealed
    read = auditor.get_statements(statementId=shared).get_json()
    assert read["context"]["team"]["member"] == [{k: v for k, v in B.items()}]
    assert read["actor"]["openid"] == LIA_OPENID
    assert find_identifiers(json.dumps(read), A_IDENTIFIERS) == []

    # Sent again as its client once sent it: a re-send, A stays out.
    again = writer.post_statements(sent)
    assert again.status_code == 200, again.get_json()
    assert store.get_statements("default", [shared])[shared].statement == edited.statement

    # Queries by A's agent find nothing, with raw identifiers or the pseudonym.
    for agent in (a.agent, json.dumps(receipt["agent"])):
        for related in ("false", "true"):
            found = writer.get_statements(agent=agent, related_agents=related).get_json()
            assert found["statements"] == []
        assert writer.get("/xapi/activities/state", query_string={
            "activityId": ACTIVITY, "agent": agent, "stateId": "progress"}).status_code == 404
        assert writer.get("/xapi/agents/profile", query_string={
            "agent": agent, "profileId": "prefs"}).status_code == 404
    person = auditor.get("/xapi/agents", query_string={"agent": a.agent}).get_json()
    assert "mbox" not in person

    # The audit log: the erasure's entries hold no identifier of A, not even the pseudonym.
    log = eraser_log(app)
    erasures = [e for e in log if e["action"] == "erasure"]
    assert [e["filters"]["dry_run"] for e in erasures] == [True, False]
    assert erasures[-1]["filters"]["statements_digest"] == receipt["statements_digest"]
    assert erasures[-1]["seq"] == receipt["audit_seq"]
    assert find_identifiers(json.dumps(erasures), [*A_IDENTIFIERS, pseudonym]) == []


def eraser_log(app) -> list[dict[str, Any]]:
    from lrs.service.audit import entry_json

    store = app.extensions[EXTENSION].store
    return [entry_json(e) for e in store.read_audit("default", limit=1000)]


def test_every_worker_forgets_the_learner_and_a_re_sent_statement_is_stored_anew(
    make_app, storage_uri
):
    """Two service instances on one store stand for two workers: the first knows A's vault
    entry is stored (and would skip storing it again); the second erases A; the first,
    sent A's statement again, stores it as a new one with its vault entry."""
    first, second = make_app(), make_app()
    writer = Api(first.test_client(), add_credential(first, ["all"])[0])
    reader = Api(first.test_client(), add_credential(first, ["all/read", "reidentify"])[0])
    eraser = Api(second.test_client(), add_credential(second, ["erase"])[0])
    statement = new(A)
    assert writer.post_statements(statement).status_code == 200
    assert writer.post_statements(new(A)).status_code == 200  # A known to the first worker
    store = first.extensions[EXTENSION].store
    key = key_of(first, A)
    revision = store.get_tenant("default").revision
    assert eraser.post("/admin/erasure", json={"agent": A}).status_code == 200
    assert store.get_tenant("default").revision == revision + 1
    assert store.get_identities("default", key) == []
    assert writer.post_statements(statement).status_code == 200
    assert list(store.get_statements("default", [statement["id"]])) == [statement["id"]]
    assert len(store.get_identities("default", key)) == 1
    person = reader.get("/xapi/agents", query_string={"agent": json.dumps(A)}).get_json()
    assert person["mbox"] == [ZOE_MBOX]


def test_a_tenant_refusing_erased_learners_refuses_every_statement_naming_them(
    make_app, storage_uri
):
    """`refuse_erased`: after the erasure a batch naming A anywhere (raw identifier, its
    sha1 form, the pseudonym, a team) is a 403 naming the statement, and nothing is stored;
    B's statements are stored; the store keeps only keyed marks, no identifier of A."""
    app = make_app(refuse_erased=True)
    writer = Api(app.test_client(), add_credential(app, ["all"])[0])
    eraser = Api(app.test_client(), add_credential(app, ["erase"])[0])
    statement = new(A)
    assert writer.post_statements(statement).status_code == 200
    service = app.extensions[EXTENSION].service
    pseudonym = service.privacy.stored_agent(service.tenants.get("default"), A)
    stored_as = pseudonym["account"]["name"]
    assert eraser.post("/admin/erasure", json={"agent": A}).get_json()["counts"][
        "statements"] == 1
    before = whole(app)
    sha1 = {"objectType": "Agent", "mbox_sha1sum": hashlib.sha1(ZOE_MBOX.encode()).hexdigest()}
    team = {"objectType": "Group", "member": [B, A]}
    for batch, refused in (
        ([statement], ["[0]"]),
        ([new(B), new(B, context={"team": team})], ["[1]"]),
        ([new(sha1), new(B), new(TEACHER, object=pseudonym)], ["[0]", "[2]"]),
    ):
        answer = writer.post_statements(batch)
        assert answer.status_code == 403, answer.get_json()
        error = answer.get_json()["error"]
        assert error["code"] == "erased_learner_refused"
        assert sorted(error["fields"]) == refused
        assert whole(app) == before
    assert writer.put("/xapi/statements", json=statement,
                      query_string={"statementId": statement["id"]}).status_code == 403
    assert writer.post_statements(new(B)).status_code == 200
    blob = store_bytes(storage_uri)
    assert find_identifiers(blob, [*A_IDENTIFIERS, stored_as]) == []
    # A dry run marks no one.
    assert eraser.post("/admin/erasure", json={"agent": B, "dry_run": True}).status_code == 200
    assert writer.post_statements(new(B)).status_code == 200


def test_refusing_erased_learners_without_a_master_key_is_a_409_and_erases_nothing(
    make_app, tmp_path
):
    """The marks are keyed: without a key (pseudonymization off, no key file) they cannot
    be made, and an unkeyed digest of an address would be reversed by hashing guesses."""
    app = make_app(pseudonymize=False, master_key="", key_file=str(tmp_path / "none.key"),
                   refuse_erased=True)
    writer = Api(app.test_client(), add_credential(app, ["all"])[0])
    eraser = Api(app.test_client(), add_credential(app, ["erase"])[0])
    assert writer.post_statements(new(A)).status_code == 200
    before = whole(app)
    answer = eraser.post("/admin/erasure", json={"agent": A})
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "refuse_erased_needs_key"
    assert whole(app) == before


def test_the_log_keeps_earlier_reads_of_an_erased_learner_by_pseudonym(app, writer, eraser):
    """The audit log is the record of who accessed what: its earlier entries stay, with
    the pseudonym they were made with (README "Erasure"), and the chain still verifies."""
    writer.post_statements(new(A))
    assert writer.get_statements(agent=json.dumps(A)).status_code == 200
    pseudonym = key_of(app, A).rsplit("|", 1)[1]
    assert eraser.post("/admin/erasure", json={"agent": A}).status_code == 200
    log = eraser_log(app)
    reads = [e for e in log if e["action"] == "statements.read"]
    assert pseudonym in reads[0]["filters"]["agent"]
    assert pseudonym not in json.dumps([e for e in log if e["action"] == "erasure"])
    service = app.extensions[EXTENSION].service
    assert service.audit.verify("default")[1] is None


def test_statements_stored_before_pseudonymization_and_under_retired_keys_are_erased(
    make_app, master_key
):
    """The keys a learner's records may be under: raw (pseudonymization was off), and the
    pseudonym of a retired master key (before a rotation)."""
    raw_app = make_app(pseudonymize=False)
    raw_writer = Api(raw_app.test_client(), add_credential(raw_app, ["all"])[0])
    raw = new({"objectType": "Agent", "mbox_sha1sum": hashlib.sha1(ZOE_MBOX.encode()
                                                                     ).hexdigest()})
    assert raw_writer.post_statements(raw).status_code == 200
    old_app = make_app()
    old_writer = Api(old_app.test_client(), add_credential(old_app, ["all"])[0])
    before_rotation = new(A)
    assert old_writer.post_statements(before_rotation).status_code == 200
    new_key = encode_key(secrets.token_bytes(32))
    rotated = Keyring.from_text(new_key)
    app = make_app(master_key=new_key + "\n" + master_key)
    writer = Api(app.test_client(), add_credential(app, ["all"])[0])
    after_rotation = new(A)
    assert writer.post_statements(after_rotation).status_code == 200
    assert Pseudonymizer(rotated, "default").pseudonym(A) != Pseudonymizer(
        Keyring.from_text(master_key), "default").pseudonym(A)
    eraser = Api(app.test_client(), add_credential(app, ["erase"])[0])
    receipt = eraser.post("/admin/erasure", json={"agent": A}).get_json()
    assert receipt["counts"]["statements"] == 3
    store = app.extensions[EXTENSION].store
    assert store.get_statements("default", [raw["id"], before_rotation["id"],
                                            after_rotation["id"]]) == {}


def test_signed_statements_naming_the_learner_go_with_their_jws(app, writer, eraser,
                                                                storage_uri):
    """A signed statement's vault entry holds the statement as signed and its JWS, the
    learner in clear in both: B's signed statement naming A as a team member is deleted,
    not edited (edited, it would no longer match its signature)."""
    own, own_token = sign_statement(new(A))
    team = {"objectType": "Group", "name": "Team Pair", "member": [A, B]}
    shared, shared_token = sign_statement(new(B, context={"team": team}))
    unrelated, unrelated_token = sign_statement(new(B))
    body, kind = multipart_body([own, shared, unrelated],
                                [own_token, shared_token, unrelated_token])
    sent = writer.post("/xapi/statements", data=body, headers={"Content-Type": kind})
    assert sent.status_code == 200, sent.get_json()
    store = app.extensions[EXTENSION].store
    kept = store.get_statements("default", [unrelated["id"]])
    receipt = eraser.post("/admin/erasure", json={"agent": A}).get_json()
    assert receipt["counts"]["statements"] == 2 and receipt["counts"]["edited_statements"] == 0
    assert store.get_statements("default", [own["id"], shared["id"]]) == {}
    assert store.get_statements("default", [unrelated["id"]]) == kept
    blob = store_bytes(storage_uri)
    assert find_identifiers(blob, [*jws_forms(own_token), *jws_forms(shared_token)]) == []


@pytest.mark.parametrize("body,field", [
    ({}, "agent"),
    ({"agent": "mailto:zoe@example.org"}, "agent"),
    ({"agent": {"name": "no identifier"}}, "agent"),
    ({"agent": {"mbox": "zoe@example.org"}}, "agent.mbox"),
    ({"agent": {"objectType": "Group", "mbox": "mailto:class@example.org"}},
     "agent.objectType"),
    ({"agent": {"account": {"homePage": "https://lrs.test", "name": "key"}}}, "agent"),
    ({"agent": A, "dry_run": "yes"}, "dry_run"),
    ({"agent": A, "now": True}, "now"),
])
def test_bad_requests_are_400_naming_the_field_and_change_nothing(app, writer, eraser, body,
                                                                  field):
    writer.post_statements(new(A))
    before = whole(app), eraser_log(app)
    answer = eraser.post("/admin/erasure", json=body)
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert field in error["fields"], error
    assert (whole(app), eraser_log(app)) == before


def test_erasure_needs_the_erase_scope_and_a_json_body(app, writer, eraser):
    for scopes in (["all"], ["admin"], ["platform"], ["all", "reidentify"]):
        other = Api(app.test_client(), add_credential(app, scopes)[0])
        assert other.post("/admin/erasure", json={"agent": A}).status_code == 403
    assert eraser.post("/admin/erasure", json={"agent": A}, auth=False).status_code == 401
    answer = eraser.post("/admin/erasure", data=b"{", content_type="application/json")
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "invalid_json"
    assert eraser.post("/admin/erasure", data=b"x", content_type="text/plain").status_code == 400
    assert eraser.post("/admin/erasure", json={"agent": A},
                       query_string={"x": "1"}).status_code == 400

"""Edge forwarding in one process: an edge LRS (SQLite) forwarding through the real sync API
of a central LRS (every backend), reached through its Flask test client. What travels,
what the central LRS stores, what it refuses (400 naming the field, nothing stored), the
cursor, erasures. The same with two real servers and a killed forwarder is tests/e2e."""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import json
import secrets

import orjson
import pytest
from flask import Flask

from anonymize import Keyring, Purpose, seal, unseal, write_tenant_keys
from anonymize.keys import SCOPED_PURPOSES, encode_key
from lrs import create_app
from lrs.cli.common import operator
from lrs.extension import EXTENSION
from lrs.service.errors import SyncFailedError, SyncRefusedError
from lrs.service.forwarding import Forwarder
from lrs.sync_client import _answer
from statements import build_multipart, verify_signature
from storage.commands import record_erasure
from tests.jws_testing import SIGNATURE_USAGE
from tests.lrs.lrs_testing import Api, add_credential
from tests.privacy.people import (
    IDENTIFIERS,
    NOA,
    SAM,
    TEACHER,
    ZOE,
    everywhere,
    everywhere_2_0,
    multipart_body,
    sign_statement,
    simple,
)
from tests.privacy.scan import find_identifiers, jws_forms, store_bytes

CENTRAL_KEY = encode_key(secrets.token_bytes(32))
ESSAY = b"My essay, written offline.\r\n--not a boundary--\r\n\x00\xff"
ESSAY_SHA = hashlib.sha256(ESSAY).hexdigest()
ASSIGNED = ("stored", "authority", "version", "timestamp")


class ClientTransport:
    """The forwarding Transport over a central app's test client: the real sync API,
    minus the socket. `down` makes it fail as an unreachable server does."""

    target = "http://central.test/sync/v1"

    def __init__(self, app: Flask, auth: dict[str, str]) -> None:
        self.client = app.test_client()
        self.auth = auth
        self.down = False
        self.sent: list[bytes] = []

    def _call(self, method: str, path: str, **kwargs):
        if self.down:
            raise SyncFailedError(f"cannot reach the central LRS at {self.target}: refused")
        response = self.client.open("/sync/v1" + path, method=method, headers=self.auth,
                                    **kwargs)
        return _answer(self.target, response.status_code, response.data)

    def hello(self):
        return self._call("GET", "/hello")

    def send(self, content_type, body):
        self.sent.append(body)
        return self._call("POST", "/statements", data=body, content_type=content_type)

    def erasures(self, after, limit):
        return self._call("GET", "/erasures", query_string={"after": after, "limit": limit})


@pytest.fixture
def central(storage_uri, monkeypatch):
    monkeypatch.delenv("LRS_CONFIG_FILE", raising=False)
    app = create_app({"storage_uri": storage_uri, "master_key": CENTRAL_KEY})
    yield app
    app.extensions[EXTENSION].close()


def central_keyring() -> Keyring:
    return Keyring.from_text(CENTRAL_KEY)


@pytest.fixture
def make_edge(tmp_path, monkeypatch):
    """Edge apps on one SQLite store, their own master key, the central's tenant keys
    installed unless `keys` says otherwise (None: none; else the purposes to install)."""
    monkeypatch.delenv("LRS_CONFIG_FILE", raising=False)
    apps = []

    def make(keys=(Purpose.PSEUDONYM, Purpose.VAULT, Purpose.GENERAL), **settings):
        path = tmp_path / "edge-keys" / "tenant-keys.json"
        if keys is not None and not path.exists():
            path.parent.mkdir(mode=0o700)
            ring = central_keyring()
            write_tenant_keys(path, {("default", p): [ring.derive("default", p).key]
                                     for p in keys})
        app = create_app({
            "storage_uri": f"sqlite:///{tmp_path / 'edge.db'}",
            "master_key": encode_key(secrets.token_bytes(32)) if not apps else
            apps[0].extensions[EXTENSION].config.master_key,
            "tenant_keys_file": str(path), **settings,
        })
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions[EXTENSION].close()


@pytest.fixture
def edge(make_edge):
    return make_edge()


@pytest.fixture
def transport(central):
    auth, key = add_credential(central, ["sync"])
    transport = ClientTransport(central, auth)
    transport.key = key
    return transport


@pytest.fixture
def device(edge):
    """A learning app posting to the edge."""
    auth, key = add_credential(edge, ["all"])
    api = Api(edge.test_client(), auth)
    api.key = key
    return api


@pytest.fixture
def reader(central):
    return Api(central.test_client(), add_credential(central, ["all/read", "reidentify"])[0])


def forwarder(app: Flask) -> Forwarder:
    return app.extensions[EXTENSION].service.forwarding


def push(app: Flask, transport, **kwargs):
    return forwarder(app).push(operator(), transport, batch_size=kwargs.pop("batch_size", 3),
                               **kwargs)


def wire(statement: dict) -> dict:
    return {k: v for k, v in statement.items() if k not in ASSIGNED}


def central_statements(reader: Api, **params) -> list[dict]:
    response = reader.get_statements(limit=500, **params)
    assert response.status_code == 200, response.data
    return response.get_json()["statements"]


def with_essay(statement: dict) -> dict:
    statement["attachments"] = [{
        "usageType": "http://example.com/attachment-usage/essay",
        "display": {"en-US": "Essay"}, "contentType": "text/plain",
        "length": len(ESSAY), "sha2": ESSAY_SHA,
    }]
    return statement


def post_with_essay(device: Api, statement: dict) -> None:
    content_type, body = build_multipart(json.dumps([statement]).encode(),
                                         {ESSAY_SHA: ("text/plain", ESSAY)})
    response = device.post("/xapi/statements", data=body, content_type=content_type)
    assert response.status_code == 200, response.data


def test_statements_arrive_once_with_attachments_originals_and_nothing_in_clear(
    edge, device, transport, reader, central, storage_uri
):
    sent = [everywhere(actor=who) for who in (ZOE, SAM, NOA)] + [simple(TEACHER)]
    assert device.post_statements(sent).status_code == 200
    essay = with_essay(simple(ZOE))
    post_with_essay(device, essay)
    voiding = {"actor": TEACHER, "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
               "object": {"objectType": "StatementRef", "id": sent[3]["id"]}}
    assert device.post_statements(voiding).status_code == 200

    result = push(edge, transport)
    assert (result.forwarded, result.batches, result.backlog) == (6, 2, 0)
    assert result.originals
    again = push(edge, transport)  # nothing new: nothing sent
    assert (again.forwarded, again.batches) == (0, 0)

    stored = {s["id"]: s for s in central_statements(reader)}
    assert len(stored) == 5  # the voided one is not in a StatementResult...
    voided = reader.get_statements(voidedStatementId=sent[3]["id"])
    assert voided.status_code == 200  # ...it arrived voided
    for original in sent[:3]:
        assert wire(stored[original["id"]]) == wire(original)  # the originals, re-identified
    authority = stored[sent[0]["id"]]["authority"]
    assert authority["objectType"] == "Group"
    assert [m["account"]["name"] for m in authority["member"]] == [transport.key, device.key]

    multipart = reader.get_statements(statementId=essay["id"], attachments="true")
    assert multipart.status_code == 200 and ESSAY in multipart.data

    plain = Api(central.test_client(), add_credential(central, ["statements/read"])[0])
    assert find_identifiers(plain.get_statements(limit=500).data, IDENTIFIERS) == []
    assert find_identifiers(store_bytes(storage_uri), IDENTIFIERS) == []
    assert all(find_identifiers(body, IDENTIFIERS) == [] for body in transport.sent)
    person = reader.get("/xapi/agents", query_string={"agent": json.dumps(ZOE)})
    assert ZOE["mbox"] in person.get_json()["mbox"]  # the vault's per-pseudonym entry


def test_a_batch_acknowledged_but_not_noted_is_sent_again_and_stored_once(
    edge, device, transport, reader, monkeypatch
):
    sent = [simple(ZOE) for _ in range(7)]
    assert device.post_statements(sent).status_code == 200
    import lrs.service.forwarding as forwarding

    real = forwarding._acknowledged_to
    calls = []

    def crash_after_first_answer(position):
        calls.append(position)
        if len(calls) == 2:  # the central LRS answered batch 2; the edge dies before noting it
            raise KeyboardInterrupt
        return real(position)

    monkeypatch.setattr(forwarding, "_acknowledged_to", crash_after_first_answer)
    with pytest.raises(KeyboardInterrupt):
        push(edge, transport)
    monkeypatch.setattr(forwarding, "_acknowledged_to", real)
    assert forwarder(edge).status(operator())[0].backlog == 4
    result = push(edge, transport)
    assert (result.forwarded, result.backlog) == (4, 0)
    assert len(transport.sent) == 2 + 2  # batch 2 went twice
    assert sorted(s["id"] for s in central_statements(reader)) == sorted(s["id"] for s in sent)


def test_while_the_central_lrs_is_down_everything_waits_and_then_arrives(
    edge, device, transport, reader
):
    assert device.post_statements([simple(ZOE) for _ in range(4)]).status_code == 200
    transport.down = True
    with pytest.raises(SyncFailedError, match="cannot reach"):
        push(edge, transport)
    [status] = forwarder(edge).status(operator())
    assert (status.backlog, status.position, status.last_success) == (4, "", "")
    assert "cannot reach" in status.last_error and status.last_error_at
    assert device.post_statements([simple(SAM)]).status_code == 200
    transport.down = False
    assert push(edge, transport).forwarded == 5
    [status] = forwarder(edge).status(operator())
    assert (status.backlog, status.last_error) == (0, "") and status.last_success
    assert len(central_statements(reader)) == 5


def test_the_edge_refuses_to_forward_under_other_keys_or_in_clear(
    make_edge, transport, central, tmp_path
):
    own = make_edge(keys=None)  # its own master key only: other pseudonyms
    Api(own.test_client(), add_credential(own, ["all"])[0]).post_statements(simple(ZOE))
    with pytest.raises(SyncFailedError, match=r"pseudonym key .* is not the central LRS's"):
        push(own, transport)
    raw = create_app({"storage_uri": f"sqlite:///{tmp_path / 'raw.db'}", "pseudonymize": False,
                      "master_key": CENTRAL_KEY})
    try:
        with pytest.raises(SyncFailedError, match="identities would travel in clear"):
            push(raw, transport)
        central.extensions[EXTENSION].service.admin.create_tenant(operator(), "school-b")
        other = ClientTransport(central, add_credential(central, ["sync"], tenant="school-b")[0])
        with pytest.raises(SyncFailedError, match="tenant 'school-b' at the central LRS"):
            push(raw, other)
    finally:
        raw.extensions[EXTENSION].close()


def test_without_the_vault_key_the_central_lrs_stores_pseudonyms_only(
    make_edge, transport, reader
):
    edge = make_edge(keys=(Purpose.PSEUDONYM, Purpose.GENERAL))  # its own vault key
    device = Api(edge.test_client(), add_credential(edge, ["all"])[0])
    sent = simple(ZOE)
    assert device.post_statements(sent).status_code == 200
    result = push(edge, transport)
    assert result.forwarded == 1 and not result.originals
    assert b'"sealed":{}' in transport.sent[0]
    [got] = central_statements(reader)
    assert got["actor"]["account"]["homePage"].startswith("https://lrs.invalid/pseudonym/")
    own = device.get_statements(statementId=sent["id"])  # the edge still re-identifies
    assert own.status_code == 200


def sync_post(central: Flask, auth, body, **kwargs):
    client = central.test_client()
    if "content_type" not in kwargs:
        kwargs["json"] = body
    return client.post("/sync/v1/statements", headers=auth, **kwargs)


def forwardable(edge: Flask, device: Api, statement: dict) -> tuple[dict, str]:
    """A statement as the edge stores it, and its sealed originals (base64url)."""
    assert device.post_statements(statement).status_code == 200
    [row] = edge.extensions[EXTENSION].store.read_feed("default", "", 500).statements[-1:]
    return orjson.loads(row.statement), base64.urlsafe_b64encode(row.sealed).decode()


def test_bad_batches_are_400_naming_the_field_and_store_nothing(
    central, edge, device, transport, reader
):
    auth = transport.auth
    good, sealed = forwardable(edge, device, simple(ZOE))
    other, other_sealed = forwardable(edge, device, simple(SAM))
    raw_actor = copy.deepcopy(good) | {"actor": ZOE}
    foreign = copy.deepcopy(good)
    foreign["actor"]["account"]["homePage"] = "https://lrs.invalid/pseudonym/aaaaaaaa"
    cases = [
        ([good], ""),
        ({"statements": [good], "extra": 1}, "extra"),
        ({"statements": []}, "statements"),
        ({"statements": "no"}, "statements"),
        ({"statements": [good] * 1001}, "statements"),
        ({"statements": [good], "sealed": []}, "sealed"),
        ({"statements": [good], "sealed": {good["id"]: "not base64!"}}, f"sealed.{good['id']}"),
        ({"statements": [good], "sealed": {other["id"]: other_sealed}}, f"sealed.{other['id']}"),
        ({"statements": [good], "sealed": {good["id"]: other_sealed}}, f"sealed.{good['id']}"),
        ({"statements": [{k: v for k, v in good.items() if k != "id"}]}, "statements[0].id"),
        ({"statements": [good, raw_actor]}, "statements[1].actor"),
        ({"statements": [foreign]}, "statements[0].actor"),
        ({"statements": [good | {"verb": {"id": "not an IRI"}}]}, "statements[0].verb.id"),
        ({"statements": [with_essay(copy.deepcopy(good))]},
         "statements[0].attachments[0].sha2"),
    ]
    for body, field in cases:
        response = sync_post(central, auth, body)
        assert response.status_code == 400, (field, response.data)
        error = response.get_json()["error"]
        assert field in error["fields"], (field, error)
        assert find_identifiers(response.data, IDENTIFIERS) == []
    not_json = sync_post(central, auth, None, data=b"{", content_type="application/json")
    assert not_json.status_code == 400
    assert central_statements(reader) == []
    assert sync_post(central, auth, {"statements": [good], "sealed": {good["id"]: sealed}}
                     ).status_code == 200


def test_only_a_sync_credential_may_forward(central, edge, device):
    good, sealed = forwardable(edge, device, simple(ZOE))
    body = {"statements": [good], "sealed": {good["id"]: sealed}}
    for scopes in (["all"], ["all", "statements/write", "reidentify", "admin"]):
        auth = add_credential(central, scopes)[0]
        assert sync_post(central, auth, body).status_code == 403
        assert central.test_client().get("/sync/v1/hello", headers=auth).status_code == 403
    assert central.test_client().get("/sync/v1/hello").status_code == 401
    xapi = Api(central.test_client(), add_credential(central, ["sync"])[0])
    assert xapi.post_statements(simple(ZOE)).status_code == 403  # sync is no xAPI scope


def test_sync_is_no_xapi_door_for_sealed_originals(central, edge, device, transport, reader):
    """The central LRS checks the sealed originals belong to the statement: a blob that opens
    but holds other originals (a pseudonym swapped under them) is refused."""
    good, sealed = forwardable(edge, device, simple(ZOE))
    swapped = copy.deepcopy(good)
    pseudonymizer = central.extensions[EXTENSION].service.privacy.pseudonymizer("default")
    swapped["actor"] = pseudonymizer.pseudonym(SAM)
    response = sync_post(central, transport.auth,
                         {"statements": [swapped], "sealed": {good["id"]: sealed}})
    assert response.status_code == 400
    assert f"sealed.{good['id']}" in response.get_json()["error"]["fields"]


def test_erasures_at_the_centre_reach_the_edge_and_are_never_forwarded_again(
    central, edge, device, transport, reader
):
    """POST /admin/erasure at the centre of a tenant with edges lists the pseudonym; the
    edge's next push pulls it, forwards nothing naming the learner and erases them there
    (`ErasureService.erase_listed`): no statement or vault entry of theirs stays at the
    edge."""
    zoe = simple(ZOE)
    assert device.post_statements([zoe, simple(SAM)]).status_code == 200
    pseudonymizer = central.extensions[EXTENSION].service.privacy.pseudonymizer("default")
    zoe_key = "account:{homePage}|{name}".format(**pseudonymizer.pseudonym(ZOE)["account"])
    eraser = Api(central.test_client(), add_credential(central, ["erase"])[0])
    dry = eraser.post("/admin/erasure", json={"agent": ZOE, "dry_run": True}).get_json()
    assert dry["listed_for_edges"] is True
    assert central.extensions[EXTENSION].store.read_erasures("default") == []
    receipt = eraser.post("/admin/erasure", json={"agent": ZOE}).get_json()
    assert receipt["listed_for_edges"] is True
    result = push(edge, transport)
    # Erased at the edge before forwarding: nothing of Zoe's is left there to skip.
    assert (result.erasures, result.forwarded, result.skipped) == (1, 1, 0)
    [status] = forwarder(edge).status(operator())
    assert (status.erasures_pulled, status.erasures_waiting, status.backlog) == (1, 0, 0)
    [only] = central_statements(reader)
    assert only["actor"] == SAM
    edge_store = edge.extensions[EXTENSION].store
    assert edge_store.get_statements("default", [zoe["id"]]) == {}
    assert edge_store.get_identities("default", zoe_key) == []
    log = [e for e in edge_store.read_audit("default", limit=100) if e.action == "erasure"]
    assert [e.credential for e in log] == ["sync"]

    # The centre refuses them too: from an edge that has not pulled the list yet.
    late, sealed = forwardable(edge, device, simple(ZOE))
    answer = sync_post(central, transport.auth,
                       {"statements": [late], "sealed": {late["id"]: sealed}}).get_json()
    assert answer == {"ids": [], "skipped": [late["id"]]}
    listed = central.test_client().get("/sync/v1/erasures?after=0", headers=transport.auth)
    assert listed.get_json()["erasures"][0]["agent"] == zoe_key
    assert central.test_client().get("/sync/v1/erasures?after=x",
                                     headers=transport.auth).status_code == 400


def test_entries_wait_while_the_edge_cannot_erase_and_a_centre_without_edges_lists_none(
    central, edge, device, transport
):
    assert device.post_statements([simple(ZOE), simple(SAM)]).status_code == 200
    pseudonymizer = central.extensions[EXTENSION].service.privacy.pseudonymizer("default")
    zoe_key = "account:{homePage}|{name}".format(**pseudonymizer.pseudonym(ZOE)["account"])
    record_erasure(central.extensions[EXTENSION].store, "default", zoe_key,
                   "2026-12-01T10:00:00.000000Z")
    forwarder(edge).erase_local = None
    result = push(edge, transport)
    assert (result.erasures, result.forwarded, result.skipped) == (1, 1, 1)
    assert forwarder(edge).status(operator())[0].erasures_waiting == 1
    erased = []
    forwarder(edge).erase_local = lambda tenant, agent: erased.append((tenant, agent))
    push(edge, transport)
    assert erased == [("default", zoe_key)]
    assert forwarder(edge).status(operator())[0].erasures_waiting == 0
    # The edge has no sync credential: its own erasures list nothing.
    assert device.post_statements(simple(SAM)).status_code == 200
    eraser = Api(edge.test_client(), add_credential(edge, ["erase"])[0])
    receipt = eraser.post("/admin/erasure", json={"agent": SAM}).get_json()
    assert receipt["listed_for_edges"] is False
    assert edge.extensions[EXTENSION].store.read_erasures("default")[-1].agent == zoe_key


def test_statements_stored_before_pseudonymization_travel_pseudonymized(
    make_edge, transport, reader
):
    edge = make_edge(pseudonymize=False)
    device = Api(edge.test_client(), add_credential(edge, ["all"])[0])
    sent = simple(NOA)
    assert device.post_statements(sent).status_code == 200
    edge.extensions[EXTENSION].service.admin.update_tenant(
        operator(), "default", policy={"pseudonymize": True})
    assert push(edge, transport).forwarded == 1
    assert find_identifiers(transport.sent[0], IDENTIFIERS) == []
    [got] = central_statements(reader)
    assert wire(got) == wire(sent)  # with its originals, sealed on the way out


def test_hello_names_key_ids_never_keys(central, transport):
    hello = transport.hello()
    ring = central_keyring()
    assert hello["pseudonym_key_ids"] == [ring.derive("default", Purpose.PSEUDONYM).key_id]
    assert hello["vault_key_ids"] == [ring.derive("default", Purpose.VAULT).key_id]
    assert (hello["tenant"], hello["protocol"], hello["pseudonymize"]) == ("default", 1, True)
    text = json.dumps(hello)
    for purpose in set(Purpose) - SCOPED_PURPOSES:  # (an agreement's are per agreement)
        assert encode_key(ring.derive("default", purpose).key) not in text


def test_a_big_batch_is_split_below_the_central_body_limit(
    storage_uri, edge, device, monkeypatch, reader
):
    monkeypatch.delenv("LRS_CONFIG_FILE", raising=False)
    small = create_app({"storage_uri": storage_uri, "master_key": CENTRAL_KEY,
                        "max_body_bytes": 80 * 1024})
    try:
        transport = ClientTransport(small, add_credential(small, ["sync"])[0])
        filler = "x" * 3000
        sent = [simple(ZOE, result={"response": filler}) for _ in range(40)]
        assert device.post_statements(sent).status_code == 200
        result = forwarder(edge).push(operator(), transport, batch_size=40)
        assert result.forwarded == 40 and result.batches > 1
        assert all(len(body) <= 80 * 1024 for body in transport.sent)
        assert len(central_statements(reader)) == 40
    finally:
        small.extensions[EXTENSION].close()


def test_the_central_lrs_sets_the_authority_keeping_a_valid_writer_only(
    central, edge, device, transport, reader
):
    good, sealed = forwardable(edge, device, simple(ZOE))
    broken = copy.deepcopy(good) | {"authority": {"name": "no identifier"}}
    twice, twice_sealed = forwardable(edge, device, simple(SAM))
    hopped = copy.deepcopy(twice) | {"authority": {"objectType": "Group", "member": [
        {"account": {"homePage": "https://regional.test", "name": "hub"}},
        twice["authority"]]}}
    answer = sync_post(central, transport.auth, {
        "statements": [broken, hopped], "sealed": {good["id"]: sealed, twice["id"]: twice_sealed},
    })
    assert answer.status_code == 200, answer.data
    stored = {s["id"]: s["authority"] for s in central_statements(reader)}
    assert stored[good["id"]]["account"]["name"] == transport.key  # the sync link alone
    assert [m["account"]["name"] for m in stored[twice["id"]]["member"]] == [
        transport.key, device.key]


def test_without_pseudonymization_on_either_side_statements_travel_as_stored(
    storage_uri, tmp_path, monkeypatch
):
    """The conformance-run setup: nothing to pseudonymize, nothing sealed, the rest the same."""
    monkeypatch.delenv("LRS_CONFIG_FILE", raising=False)
    raw = {"pseudonymize": False}
    central = create_app({"storage_uri": storage_uri, **raw})
    edge = create_app({"storage_uri": f"sqlite:///{tmp_path / 'raw-edge.db'}", **raw})
    try:
        transport = ClientTransport(central, add_credential(central, ["sync"])[0])
        sent = simple(NOA)
        Api(edge.test_client(), add_credential(edge, ["all"])[0]).post_statements(sent)
        assert push(edge, transport).forwarded == 1
        reader = Api(central.test_client(), add_credential(central, ["all/read"])[0])
        [got] = central_statements(reader)
        assert wire(got) == wire(sent)
    finally:
        central.extensions[EXTENSION].close()
        edge.extensions[EXTENSION].close()


def test_batches_may_come_gzipped_and_a_bomb_is_413(central, edge, device, transport, reader):
    good, sealed = forwardable(edge, device, simple(ZOE))
    body = json.dumps({"statements": [good], "sealed": {good["id"]: sealed}}).encode()
    client = central.test_client()
    headers = {**transport.auth, "Content-Encoding": "gzip"}

    def send(data, **extra):
        return client.post("/sync/v1/statements", data=data, content_type="application/json",
                           headers={**headers, **extra})

    bomb = gzip.compress(b" " * (11 * 1024 * 1024))  # 11 MiB of spaces, 11 KiB sent
    assert send(bomb).status_code == 413
    for data, extra in ((b"not gzip", {}), (gzip.compress(body)[:-8], {}),
                        (body, {"Content-Encoding": "br"})):
        answer = send(data, **extra)
        assert answer.status_code == 400
        assert "Content-Encoding" in answer.get_json()["error"]["fields"]
    assert central_statements(reader) == []
    assert send(gzip.compress(body)).get_json() == {"ids": [good["id"]], "skipped": []}
    assert client.post("/sync/v1/statements", data=body, content_type="text/plain",
                       headers=transport.auth).status_code == 400


def test_statements_stored_under_xapi_2_0_are_forwarded_by_its_rules(
    edge, device, transport, reader, storage_uri
):
    modern, older = everywhere_2_0(SAM), simple(NOA)
    v2 = {"X-Experience-API-Version": "2.0.0"}
    assert device.post_statements([modern], headers=v2).status_code == 200
    assert device.post_statements([older]).status_code == 200

    result = push(edge, transport)
    assert (result.forwarded, result.backlog) == (2, 0)
    got = reader.get("/xapi/statements", query_string={"statementId": modern["id"]},
                     headers=v2)
    assert got.status_code == 200, got.data
    arrived = got.get_json()
    assert arrived["version"] == "2.0.0"
    assert wire(arrived) == wire(modern)  # context agents and groups, re-identified
    assert wire(reader.get_statements(statementId=older["id"]).get_json()) == wire(older)
    assert find_identifiers(store_bytes(storage_uri), IDENTIFIERS) == []


def test_a_mixed_batch_is_validated_per_version_with_the_batch_s_indexes():
    from lrs.service.sync import _validated
    from statements import StatementError

    broken = {**everywhere_2_0(SAM), "version": "2.0.0"}
    broken["context"]["contextAgents"][0].pop("objectType")
    unversioned = everywhere_2_0(NOA)  # no version: 1.0.3's rules, which know no contextAgents
    fine = {**everywhere_2_0(ZOE), "version": "2.0.0"}
    with pytest.raises(StatementError) as caught:
        _validated([simple(ZOE), broken, unversioned, fine])
    paths = set(caught.value.errors)
    assert any(p.startswith("[1].context.contextAgents[0]") for p in paths), paths
    assert "[2].context.contextAgents" in paths
    assert not any(p.startswith(("[0]", "[3]")) for p in paths), paths
    assert [s["id"] for s in _validated([simple(ZOE), fine])][1] == fine["id"]


# -- signed statements (Data 2.6) of a tenant that pseudonymizes ------------------------


def post_signed(device: Api, before: dict, statement: dict, after: dict) -> tuple[dict, bytes]:
    """A batch posted to the edge: `before`, `statement` signed, `after`; the signed
    statement as sent and its JWS."""
    signed, token = sign_statement(statement)
    raw, content_type = multipart_body([before, signed, after], [token])
    response = device.post("/xapi/statements", data=raw, content_type=content_type)
    assert response.status_code == 200, response.data
    return signed, token


def signed_answer(reader: Api, statement_id: str) -> tuple[dict, bytes]:
    """A `reidentify` reader's statement and the one attachment part that comes with it."""
    response = reader.get_statements(statementId=statement_id, attachments="true")
    assert response.status_code == 200, response.data
    delimiter = b"--" + response.mimetype_params["boundary"].encode()
    _, first, second, _ = response.data.split(delimiter)
    return json.loads(first.partition(b"\r\n\r\n")[2]), second.partition(b"\r\n\r\n")[2][:-2]


def test_a_signed_statement_is_forwarded_sealed_and_verifies_at_the_centre(
    edge, device, transport, reader, central, storage_uri
):
    signed, token = post_signed(device, simple(SAM), everywhere(actor=ZOE), simple(NOA))
    assert device.post_statements(simple(TEACHER)).status_code == 200

    result = push(edge, transport, batch_size=2)
    assert (result.forwarded, result.refused, result.backlog) == (4, 0, 0)
    assert all(find_identifiers(body, [*IDENTIFIERS, *jws_forms(token)]) == []
               for body in transport.sent)  # the JWS travelled sealed only
    assert len(central_statements(reader)) == 4

    got, data = signed_answer(reader, signed["id"])
    assert wire(got) == wire(signed) and data == token
    verify_signature(got, got["attachments"][0], data)  # Data 2.6, as a client checks it
    assert find_identifiers(store_bytes(storage_uri), [*IDENTIFIERS, *jws_forms(token)]) == []
    plain = Api(central.test_client(), add_credential(central, ["statements/read"])[0])
    other = plain.get_statements(statementId=signed["id"], attachments="true")
    assert other.status_code == 200 and token not in other.data
    person = reader.get("/xapi/agents", query_string={"agent": json.dumps(ZOE)})
    assert ZOE["mbox"] in person.get_json()["mbox"]  # identities made from the sealed original


class TamperingTransport(ClientTransport):
    """Replaces the sealed entry of statement `target_id` in every batch carrying it."""

    def __init__(self, app: Flask, auth: dict[str, str], target_id: str, blob) -> None:
        super().__init__(app, auth)
        self.target_id, self.blob = target_id, blob

    def send(self, content_type, body):
        batch = json.loads(body)
        if self.target_id in batch["sealed"]:
            original = base64.urlsafe_b64decode(batch["sealed"][self.target_id] + "==")
            batch["sealed"][self.target_id] = base64.urlsafe_b64encode(
                self.blob(original)).decode().rstrip("=")
        return super().send(content_type, json.dumps(batch).encode())


def _resealed(change):
    """A tampering: the entry opened with the tenant's vault key, changed, sealed again."""
    ring = central_keyring()

    def tamper(blob: bytes, statement_id: str) -> bytes:
        aad = f"default|{statement_id}".encode()
        entry = unseal(blob, ring.derive_all("default", Purpose.VAULT), aad=aad)
        change(entry)
        return seal(entry, ring.derive("default", Purpose.VAULT), aad=aad)

    return tamper


def _other_learner(entry):
    entry["statement"]["actor"] = NOA  # signature and pseudonyms no longer match


def _other_verb(entry):
    entry["statement"]["verb"] = {"id": "http://adlnet.gov/expapi/verbs/failed"}


def _flipped(blob: bytes, statement_id: str) -> bytes:
    return blob[:-1] + bytes([blob[-1] ^ 1])


@pytest.mark.parametrize("tamper", [_resealed(_other_learner), _resealed(_other_verb), _flipped])
def test_a_tampered_sealed_entry_is_refused_recorded_and_blocks_nothing(
    central, edge, device, reader, tamper
):
    auth, _ = add_credential(central, ["sync"])
    signed, _token = post_signed(device, simple(SAM), simple(ZOE), simple(NOA))
    later = [simple(TEACHER), simple(ZOE)]
    assert device.post_statements(later).status_code == 200
    sending = TamperingTransport(central, auth, signed["id"],
                                 lambda blob: tamper(blob, signed["id"]))

    result = push(edge, sending, batch_size=5)
    assert (result.refused, result.backlog) == (1, 0)
    stored = {s["id"] for s in central_statements(reader)}
    assert signed["id"] not in stored and len(stored) == 4  # every other one arrived
    [status] = forwarder(edge).status(operator())
    assert status.refused == 1 and signed["id"] in status.last_refused
    assert "sealed." in status.last_refused and status.last_error == ""
    assert push(edge, sending).forwarded == 0  # passed: never sent again, never blocking
    [entry] = edge.extensions[EXTENSION].service.audit.read("default", action="sync.refused")
    assert entry.filters["statement"] == signed["id"]


def test_without_the_vault_key_a_signed_statement_is_stored_pseudonymized_only(
    make_edge, transport, reader
):
    edge = make_edge(keys=(Purpose.PSEUDONYM, Purpose.GENERAL))  # its own vault key
    device = Api(edge.test_client(), add_credential(edge, ["all"])[0])
    signed, token = post_signed(device, simple(SAM), simple(ZOE), simple(NOA))
    result = push(edge, transport)
    assert (result.forwarded, result.refused, result.originals) == (3, 0, False)
    assert all(token not in body for body in transport.sent)
    response = reader.get_statements(statementId=signed["id"], attachments="true")
    assert response.status_code == 200 and token not in response.data
    got = json.loads(response.data.split(b"\r\n\r\n", 1)[1].split(b"\r\n--")[0]) \
        if response.mimetype == "multipart/mixed" else response.get_json()
    assert got["actor"]["account"]["homePage"].startswith("https://lrs.invalid/pseudonym/")
    assert got["attachments"][0]["usageType"] == SIGNATURE_USAGE  # known to be signed


def test_a_signed_statement_stored_before_pseudonymization_travels_sealed(
    make_edge, transport, reader
):
    edge = make_edge(pseudonymize=False)
    device = Api(edge.test_client(), add_credential(edge, ["all"])[0])
    signed, token = post_signed(device, simple(SAM), simple(ZOE), simple(NOA))
    edge.extensions[EXTENSION].service.admin.update_tenant(
        operator(), "default", policy={"pseudonymize": True})
    result = push(edge, transport)
    assert (result.forwarded, result.refused) == (3, 0)
    assert all(find_identifiers(body, [*IDENTIFIERS, *jws_forms(token)]) == []
               for body in transport.sent)  # not as an attachment part in clear
    got, data = signed_answer(reader, signed["id"])
    assert wire(got) == wire(signed) and data == token
    verify_signature(got, got["attachments"][0], data)


def test_a_signature_given_by_file_url_travels_with_the_originals_only(
    edge, device, transport, reader
):
    signed, _ = sign_statement(everywhere(actor=ZOE))
    signed["attachments"][0]["fileUrl"] = "https://signer.example.org/jws/1"
    assert device.post_statements(signed).status_code == 200  # no JWS received: none kept
    assert push(edge, transport).refused == 0
    [got] = central_statements(reader)
    assert wire(got) == wire(signed)  # the originals' vault entry, verified as any other


def test_a_refusal_is_permanent_a_failure_is_not():
    with pytest.raises(SyncRefusedError):
        _answer("t", 409, b'{"error": {"code": "conflict", "message": "differs"}}')
    for status in (401, 403, 500, 503):
        with pytest.raises(SyncFailedError) as caught:
            _answer("t", status, b'{"error": {"code": "x", "message": "y"}}')
        assert not isinstance(caught.value, SyncRefusedError)

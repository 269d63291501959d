"""State, Activity Profile and Agent Profile resources over HTTP (Communication 2.2 to 2.7,
3.1), on every storage backend."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

import pytest
from lrs_testing import Api, add_credential

from lrs import create_app
from lrs.extension import EXTENSION

ACT = "http://example.com/activities/course"
ALICE = {"objectType": "Agent", "mbox": "mailto:alice@example.com", "name": "Alice Secretname"}
BOB = {"mbox": "mailto:bob@example.com"}
REG = "6fbd600f-d17c-4c74-801a-2ec2e53231c9"
JSON_TYPE = "application/json"

STATE = "/xapi/activities/state"
ACTIVITY_PROFILE = "/xapi/activities/profile"
AGENT_PROFILE = "/xapi/agents/profile"

# path, parameters naming one document, the id parameter
RESOURCES = {
    "state": (STATE, {"activityId": ACT, "agent": json.dumps(ALICE), "stateId": "s1"}, "stateId"),
    "activity_profile": (ACTIVITY_PROFILE, {"activityId": ACT, "profileId": "p1"}, "profileId"),
    "agent_profile": (AGENT_PROFILE, {"agent": json.dumps(ALICE), "profileId": "p1"}, "profileId"),
}
PROFILES = ["activity_profile", "agent_profile"]
CREATE = {"If-None-Match": "*"}


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def without(params: dict, *names: str) -> dict:
    return {k: v for k, v in params.items() if k not in names}


def put(api, path, params, data, *, content_type=JSON_TYPE, headers=None):
    sent = {"Content-Type": content_type, **(headers or {})}
    return api.put(path, query_string=params, data=data, headers=sent)


def post(api, path, params, data, *, content_type=JSON_TYPE, headers=None):
    sent = {"Content-Type": content_type, **(headers or {})}
    return api.post(path, query_string=params, data=data, headers=sent)


def delete(api, path, params, *, headers=None):
    return api.request("DELETE", path, query_string=params, headers=headers)


def create(api, kind, data=b'{"a": 1}', *, params=None, content_type=JSON_TYPE):
    """Store a new document the way each resource allows (profiles need If-None-Match)."""
    path, base, _ = RESOURCES[kind]
    response = put(api, path, params or base, data, content_type=content_type, headers=CREATE)
    assert response.status_code == 204, response.get_data(as_text=True)
    return response


@pytest.fixture(params=sorted(RESOURCES))
def kind(request):
    return request.param


# --- single documents (Communication 2.2, 2.3, 2.6, 2.7) --------------------------------


def test_put_then_get_returns_the_document_with_etag_and_last_modified(api, kind):
    """Communication 3.1: ETag is the quoted SHA-1 hex of the content; 2.2: Last-Modified."""
    path, params, _ = RESOURCES[kind]
    body = b'{"progress": 0.5, "bookmark": "page-3"}'
    create(api, kind, body)
    response = api.get(path, query_string=params)
    assert response.status_code == 200
    assert response.get_data() == body
    assert response.headers["Content-Type"] == JSON_TYPE
    assert response.headers["ETag"] == f'"{sha1(body)}"'
    modified = parsedate_to_datetime(response.headers["Last-Modified"])
    assert abs((datetime.now(UTC) - modified).total_seconds()) < 5
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


def test_any_content_type_round_trips_byte_for_byte(api, kind):
    """Communication 2.2: contents are arbitrary binary data."""
    path, params, _ = RESOURCES[kind]
    body = bytes(range(256)) * 8 + b"\x00\xff\xfe"
    create(api, kind, body, content_type="image/png")
    response = api.get(path, query_string=params)
    assert response.get_data() == body
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["ETag"] == f'"{sha1(body)}"'


def test_content_type_parameters_are_kept(api, kind):
    path, params, _ = RESOURCES[kind]
    create(api, kind, "é".encode("latin-1"), content_type="text/plain; charset=latin-1")
    response = api.get(path, query_string=params)
    assert response.headers["Content-Type"] == "text/plain; charset=latin-1"
    assert response.get_data() == "é".encode("latin-1")


def test_head_answers_like_get_without_a_body(api, kind):
    """Communication 1.1."""
    path, params, _ = RESOURCES[kind]
    create(api, kind, b'{"a": 1}')
    got = api.get(path, query_string=params)
    head = api.head(path, query_string=params)
    assert head.status_code == 200
    assert head.get_data() == b""
    assert head.headers["ETag"] == got.headers["ETag"]
    assert head.headers["Last-Modified"] == got.headers["Last-Modified"]
    assert api.head(path, query_string={**params, RESOURCES[kind][2]: "none"}).status_code == 404


def test_get_unknown_document_is_404(api, kind):
    path, params, _ = RESOURCES[kind]
    response = api.get(path, query_string=params)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_documents_of_unknown_activities_and_agents_are_accepted(api, kind):
    """Communication 2.2: no prior knowledge of the Activity or Agent is needed."""
    path, params, _ = RESOURCES[kind]
    assert put(api, path, params, b"{}", headers=CREATE).status_code == 204


def test_delete_single_document(api, kind):
    path, params, _ = RESOURCES[kind]
    create(api, kind)
    assert delete(api, path, params).status_code == 204
    assert api.get(path, query_string=params).status_code == 404
    assert delete(api, path, params).status_code == 204


def test_the_three_resources_keep_the_same_ids_apart(api):
    for index, kind in enumerate(sorted(RESOURCES)):
        create(api, kind, str(index).encode(), params={**RESOURCES[kind][1]})
    for index, kind in enumerate(sorted(RESOURCES)):
        path, params, _ = RESOURCES[kind]
        assert api.get(path, query_string=params).get_data() == str(index).encode()


# --- multiple-document GET (ids) and DELETE -------------------------------------------


def test_get_without_id_lists_ids_as_a_json_array(api, kind):
    """Communication 2.3/2.6/2.7 Multiple Document GET."""
    path, params, id_param = RESOURCES[kind]
    for doc_id in ("b", "a", "c"):
        create(api, kind, params={**params, id_param: doc_id})
    response = api.get(path, query_string=without(params, id_param))
    assert response.status_code == 200
    assert response.mimetype == JSON_TYPE
    assert sorted(response.get_json()) == ["a", "b", "c"]
    assert parsedate_to_datetime(response.headers["Last-Modified"])
    empty = api.get(path, query_string={**without(params, id_param), "activityId": ACT + "/x"}
                    if "activityId" in params else {"agent": json.dumps(BOB)})
    assert empty.get_json() == []


def test_since_returns_only_ids_updated_after_it(api, kind):
    """`since` is exclusive and applies to updates too (Communication 2.3, 2.6, 2.7)."""
    path, params, id_param = RESOURCES[kind]
    create(api, kind, params={**params, id_param: "old"})
    create(api, kind, params={**params, id_param: "updated-later"})
    time.sleep(0.01)
    since = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    create(api, kind, params={**params, id_param: "new"})
    later = {**params, id_param: "updated-later"}
    assert post(api, path, later, b'{"b": 2}').status_code == 204
    listed = api.get(path, query_string={**without(params, id_param), "since": since})
    assert listed.status_code == 200
    assert sorted(listed.get_json()) == ["new", "updated-later"]
    future = datetime(2999, 1, 1, tzinfo=UTC).isoformat()
    listed = api.get(path, query_string={**without(params, id_param), "since": future})
    assert listed.get_json() == []


@pytest.mark.parametrize("since", ["not a timestamp", "1", "true", "2024-13-01T00:00:00Z"])
def test_since_must_be_a_timestamp(api, kind, since):
    path, params, id_param = RESOURCES[kind]
    response = api.get(path, query_string={**without(params, id_param), "since": since})
    assert response.status_code == 400
    assert "since" in response.get_json()["error"]["fields"]


def test_state_delete_without_state_id_deletes_the_context(api):
    """Communication 2.3 Multiple Document DELETE: Activity + Agent [+ registration]."""
    _, params, _ = RESOURCES["state"]
    bob = {**params, "agent": json.dumps(BOB)}
    with_reg = {**params, "registration": REG}
    for doc_id in ("a", "b"):
        create(api, "state", params={**params, "stateId": doc_id})
        create(api, "state", params={**bob, "stateId": doc_id})
        create(api, "state", params={**with_reg, "stateId": doc_id + "-reg"})
    assert delete(api, STATE, without(with_reg, "stateId")).status_code == 204
    assert api.get(STATE, query_string=without(with_reg, "stateId")).get_json() == []
    assert sorted(api.get(STATE, query_string=without(params, "stateId")).get_json()) == ["a", "b"]
    assert delete(api, STATE, without(params, "stateId")).status_code == 204
    assert api.get(STATE, query_string=without(params, "stateId")).get_json() == []
    assert sorted(api.get(STATE, query_string=without(bob, "stateId")).get_json()) == ["a", "b"]


@pytest.mark.parametrize("kind", PROFILES)
def test_profile_delete_needs_a_profile_id(api, kind):
    path, params, _ = RESOURCES[kind]
    create(api, kind)
    response = delete(api, path, without(params, "profileId"))
    assert response.status_code == 400
    assert "profileId" in response.get_json()["error"]["fields"]
    assert api.get(path, query_string=params).status_code == 200


def test_state_registration_names_a_separate_document(api):
    _, params, _ = RESOURCES["state"]
    create(api, "state", b"plain")
    create(api, "state", b"registered", params={**params, "registration": REG.upper()})
    assert api.get(STATE, query_string=params).get_data() == b"plain"
    assert api.get(
        STATE, query_string={**params, "registration": REG}
    ).get_data() == b"registered"
    ids = api.get(STATE, query_string={**without(params, "stateId"), "registration": REG})
    assert ids.get_json() == ["s1"]


# --- JSON merge on POST (Communication 2.2 JSON Procedure) ------------------------------


def test_post_merges_top_level_properties(api, kind):
    path, params, _ = RESOURCES[kind]
    assert post(api, path, params, b'{"x": "foo", "y": "bar"}').status_code == 204
    assert post(api, path, params, b'{"x": "bash", "z": "faz"}').status_code == 204
    response = api.get(path, query_string=params)
    assert response.get_json() == {"x": "bash", "y": "bar", "z": "faz"}
    assert response.headers["ETag"] == f'"{sha1(response.get_data())}"'


def test_post_onto_no_document_stores_it_as_sent(api, kind):
    path, params, _ = RESOURCES[kind]
    assert post(api, path, params, b"1", content_type="text/plain").status_code == 204
    response = api.get(path, query_string=params)
    assert (response.get_data(), response.headers["Content-Type"]) == (b"1", "text/plain")


def test_post_replaces_nested_objects_whole(api, kind):
    path, params, _ = RESOURCES[kind]
    post(api, path, params, b'{"car": {"make": "Ford", "model": "Escape"}, "driver": "Dale"}')
    post(api, path, params, b'{"car": {"make": "Dodge"}}')
    assert api.get(path, query_string=params).get_json() == {
        "car": {"make": "Dodge"}, "driver": "Dale",
    }


@pytest.mark.parametrize(
    ("stored", "stored_type", "posted", "posted_type"),
    [
        (b'{"a": 1}', JSON_TYPE, b"abcdefg", "application/octet-stream"),
        (b'{"a": 1}', JSON_TYPE, b"abc", "application/x-www-form-urlencoded"),
        (b"/ asdf / undefined", "application/octet-stream", b'{"b": 2}', JSON_TYPE),
        (b'{"a": 1}', JSON_TYPE, b'{"b": 2}{', JSON_TYPE),
        (b'{"a": 1}', JSON_TYPE, b"[1, 2]", JSON_TYPE),
    ],
)
def test_post_that_cannot_merge_is_400_and_changes_nothing(
    api, kind, stored, stored_type, posted, posted_type
):
    """Communication 2.2: either document not an application/json object -> 400, no update."""
    path, params, _ = RESOURCES[kind]
    create(api, kind, stored, content_type=stored_type)
    before = api.get(path, query_string=params)
    response = post(api, path, params, posted, content_type=posted_type)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_document"
    after = api.get(path, query_string=params)
    assert after.get_data() == stored
    assert after.headers["ETag"] == before.headers["ETag"]


@pytest.mark.parametrize("posted", [b'{"b": 2}{', b"not json", b"[1, 2]", b'"text"', b""])
def test_post_of_json_that_is_no_object_is_400_even_onto_no_document(api, kind, posted):
    """Communication 2.2 (JSON Procedure), 2.3-2.7: a posted application/json document that
    cannot be parsed as a JSON Object is 400 whether or not a document exists, and nothing
    is stored."""
    path, params, _ = RESOURCES[kind]
    response = post(api, path, params, posted)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_document"
    assert api.get(path, query_string=params).status_code == 404


def test_form_encoded_body_is_an_ordinary_document(api):
    """Without ?method, a form-encoded body is just content (not alternate syntax)."""
    _, params, _ = RESOURCES["state"]
    content_type = "application/x-www-form-urlencoded"
    assert post(api, STATE, params, b"a=1&b=2", content_type=content_type).status_code == 204
    assert api.get(STATE, query_string=params).get_data() == b"a=1&b=2"


# --- concurrency (Communication 3.1) -------------------------------------------------


def etag_of(api, path, params):
    return api.get(path, query_string=params).headers["ETag"]


def test_put_with_current_etag_replaces(api, kind):
    path, params, _ = RESOURCES[kind]
    create(api, kind, b'{"v": 1}')
    etag = etag_of(api, path, params)
    response = put(api, path, params, b'{"v": 2}', headers={"If-Match": etag})
    assert response.status_code == 204
    assert api.get(path, query_string=params).get_data() == b'{"v": 2}'


def test_put_with_stale_etag_is_412_and_changes_nothing(api, kind):
    path, params, _ = RESOURCES[kind]
    create(api, kind, b'{"v": 1}')
    stale = etag_of(api, path, params)
    put(api, path, params, b'{"v": 2}', headers={"If-Match": stale})
    for bad in (stale, '"1111111111111111111111111111111111111111"'):
        response = put(api, path, params, b'{"v": 3}', headers={"If-Match": bad})
        assert response.status_code == 412
        assert response.get_json()["error"]["code"] == "precondition_failed"
    assert api.get(path, query_string=params).get_data() == b'{"v": 2}'


def test_if_match_accepts_lists_weak_prefix_unquoted_and_uppercase(api, kind):
    path, params, _ = RESOURCES[kind]
    create(api, kind, b"1")
    etag = sha1(b"1")
    for header, body in (
        (f'"{"0" * 40}", "{etag}"', b"2"),
        (f'W/"{sha1(b"2")}"', b"3"),
        (sha1(b"3").upper(), b"4"),
        ("*", b"5"),
    ):
        assert put(api, path, params, body, headers={"If-Match": header}).status_code == 204
    assert api.get(path, query_string=params).get_data() == b"5"


def test_if_match_on_a_missing_document_is_412(api, kind):
    path, params, _ = RESOURCES[kind]
    for header in ("*", f'"{sha1(b"x")}"'):
        assert put(api, path, params, b"x", headers={"If-Match": header}).status_code == 412
    assert api.get(path, query_string=params).status_code == 404


def test_if_none_match_star_creates_only_when_absent(api, kind):
    path, params, _ = RESOURCES[kind]
    assert put(api, path, params, b"first", headers=CREATE).status_code == 204
    assert put(api, path, params, b"second", headers=CREATE).status_code == 412
    assert api.get(path, query_string=params).get_data() == b"first"


@pytest.mark.parametrize("kind", PROFILES)
def test_profile_put_without_precondition_onto_existing_is_409(api, kind):
    """Communication 3.1: 409 with an explanation, and no change."""
    path, params, _ = RESOURCES[kind]
    create(api, kind, b'{"v": 1}')
    response = put(api, path, params, b'{"v": 2}')
    assert response.status_code == 409
    assert "If-Match" in response.get_json()["error"]["message"]
    assert api.get(path, query_string=params).get_data() == b'{"v": 1}'


@pytest.mark.parametrize("kind", PROFILES)
def test_profile_put_without_precondition_onto_new_creates_it(api, kind):
    """Communication 3.1 names no error for a new document; clients like tincan send no
    header when creating, so the default creates it."""
    path, params, _ = RESOURCES[kind]
    assert put(api, path, params, b'{"v": 1}').status_code == 204
    assert api.get(path, query_string=params).get_data() == b'{"v": 1}'


@pytest.mark.parametrize("kind", PROFILES)
def test_strict_profile_put_onto_new_is_400(app_config, kind):
    """With strict_profile_put, the 1.0.3 conformance suite's rule (XAPI-00273): the client
    MUST send If-Match or If-None-Match, and nothing is written."""
    app = create_app({**app_config, "strict_profile_put": True})
    try:
        api = Api(app.test_client(), add_credential(app, ["all"])[0])
        path, params, _ = RESOURCES[kind]
        response = put(api, path, params, b'{"v": 1}')
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "precondition_required"
        assert api.get(path, query_string=params).status_code == 404
    finally:
        app.extensions[EXTENSION].close()


def test_state_put_without_precondition_overwrites(api):
    """Communication 3.1: State permits PUT, POST and DELETE without concurrency headers."""
    _, params, _ = RESOURCES["state"]
    assert put(api, STATE, params, b"one").status_code == 204
    assert put(api, STATE, params, b"two").status_code == 204
    assert api.get(STATE, query_string=params).get_data() == b"two"


def test_post_and_delete_honour_if_match(api, kind):
    path, params, _ = RESOURCES[kind]
    create(api, kind, b'{"a": 1}')
    bad = {"If-Match": f'"{"0" * 40}"'}
    assert post(api, path, params, b'{"b": 2}', headers=bad).status_code == 412
    assert delete(api, path, params, headers=bad).status_code == 412
    assert api.get(path, query_string=params).get_json() == {"a": 1}
    good = {"If-Match": etag_of(api, path, params)}
    assert post(api, path, params, b'{"b": 2}', headers=good).status_code == 204
    assert api.get(path, query_string=params).get_json() == {"a": 1, "b": 2}
    assert post(api, path, params, b'{"c": 3}', headers=CREATE).status_code == 412
    good = {"If-Match": etag_of(api, path, params)}
    assert delete(api, path, params, headers=good).status_code == 204
    assert api.get(path, query_string=params).status_code == 404


def test_empty_if_match_is_400(api, kind):
    path, params, _ = RESOURCES[kind]
    response = put(api, path, params, b"x", headers={"If-Match": " , "})
    assert response.status_code == 400
    assert "If-Match" in response.get_json()["error"]["fields"]


@pytest.mark.slow
def test_last_modified_advances_on_update(api, kind):
    """Communication 2.2 Last Modified (seconds resolution, so the test waits one second)."""
    path, params, _ = RESOURCES[kind]
    create(api, kind, b'{"v": 1}')
    first = parsedate_to_datetime(api.get(path, query_string=params).headers["Last-Modified"])
    time.sleep(1.05)
    post(api, path, params, b'{"v": 2}')
    second = parsedate_to_datetime(api.get(path, query_string=params).headers["Last-Modified"])
    assert second > first


# --- parameters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "headers"), [("PUT", CREATE), ("POST", {}), ("GET", {}), ("DELETE", {})]
)
@pytest.mark.parametrize(
    ("kind", "missing"),
    [
        ("state", "activityId"),
        ("state", "agent"),
        ("activity_profile", "activityId"),
        ("agent_profile", "agent"),
    ],
)
def test_missing_required_parameter_is_400_naming_it(api, kind, missing, method, headers):
    path, params, _ = RESOURCES[kind]
    response = api.request(
        method, path, query_string=without(params, missing), data=b"{}",
        headers={"Content-Type": JSON_TYPE, **headers},
    )
    assert response.status_code == 400
    assert missing in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_writes_need_the_document_id(api, kind, method):
    path, params, id_param = RESOURCES[kind]
    response = api.request(
        method, path, query_string=without(params, id_param), data=b"{}", headers=CREATE
    )
    assert response.status_code == 400
    assert id_param in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("kind", ["state", "activity_profile"])
@pytest.mark.parametrize("activity", ["not an iri", "1", "true", '{"key": "value"}'])
def test_activity_id_must_be_an_iri(api, kind, activity):
    path, params, _ = RESOURCES[kind]
    response = api.get(path, query_string={**params, "activityId": activity})
    assert response.status_code == 400
    assert "activityId" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("kind", ["state", "agent_profile"])
@pytest.mark.parametrize(
    "agent",
    [
        "1",
        "true",
        "not Agent",
        '{"key": "value"}',
        '{"not_actor": "yup"}',
        '{"mbox": "alice@example.com"}',
        '{"mbox": "mailto:a@example.com", "openid": "http://example.com/a"}',
        '{"objectType": "Group", "mbox": "mailto:team@example.com"}',
        '{"objectType":"Agent","account":{"homePage":"http://www.example.com/agentId/1"',
    ],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "POST", "DELETE"])
def test_agent_must_be_a_valid_agent_object(api, kind, agent, method):
    """Communication 2.3/2.6: the agent parameter is an Agent (not a Group), in JSON."""
    path, params, _ = RESOURCES[kind]
    response = api.request(
        method, path, query_string={**params, "agent": agent}, data=b"{}", headers=CREATE
    )
    assert response.status_code == 400
    assert any(field.startswith("agent") for field in response.get_json()["error"]["fields"])


def test_registration_must_be_a_uuid(api):
    _, params, _ = RESOURCES["state"]
    response = api.get(STATE, query_string={**params, "registration": "not-a-uuid"})
    assert response.status_code == 400
    assert "registration" in response.get_json()["error"]["fields"]


def test_unknown_parameter_is_400(api, kind):
    path, params, _ = RESOURCES[kind]
    response = api.get(path, query_string={**params, "stateid": "x", "profileid": "y"})
    assert response.status_code == 400


@pytest.mark.parametrize("kind", ["state", "agent_profile"])
def test_agent_is_matched_by_its_identifier(api, kind):
    """Data 2.4.2.3: the IFI identifies the agent; name and objectType do not, and the mbox
    domain is case insensitive."""
    path, params, _ = RESOURCES[kind]
    create(api, kind, b"doc")
    same = {"mbox": "mailto:alice@EXAMPLE.com", "name": "Someone Else"}
    response = api.get(path, query_string={**params, "agent": json.dumps(same)})
    assert response.get_data() == b"doc"
    other = api.get(path, query_string={**params, "agent": json.dumps(BOB)})
    assert other.status_code == 404


def test_only_the_agent_key_is_stored_never_the_agent_json(api, app_config):
    """Personal data minimization: the agent's name never reaches storage."""
    if not app_config["storage_uri"].startswith("sqlite:///"):
        pytest.skip("reads the SQLite file directly")
    create(api, "state", b"doc")
    create(api, "agent_profile", b"doc")
    path = app_config["storage_uri"][len("sqlite:///"):]
    with sqlite3.connect(path) as conn:
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
        dump = "\n".join(
            str(row) for (table,) in tables for row in conn.execute(f"SELECT * FROM {table}")
        )
        agents = {row[0] for row in conn.execute("SELECT agent FROM documents")}
    assert "Secretname" not in dump
    assert "alice" not in dump  # pseudonymized (lrs.service.privacy)
    [agent] = agents
    assert agent.startswith("account:https://lrs.invalid/pseudonym/")


# --- scopes and tenants (Communication 4.2) -------------------------------------------


@pytest.mark.parametrize(
    ("scopes", "state_read", "state_write", "profile_read", "profile_write"),
    [
        (["state"], 200, 204, 403, 403),
        (["profile"], 403, 403, 200, 204),
        (["all/read"], 200, 403, 200, 403),
        (["all"], 200, 204, 200, 204),
        (["statements/write", "statements/read"], 403, 403, 403, 403),
    ],
)
def test_scopes(api, app, scopes, state_read, state_write, profile_read, profile_write):
    create(api, "state")
    create(api, "activity_profile")
    auth = add_credential(app, scopes)[0]
    _, state_params, _ = RESOURCES["state"]
    _, profile_params, _ = RESOURCES["activity_profile"]
    assert api.get(STATE, query_string=state_params, auth=auth).status_code == state_read
    assert api.get(
        ACTIVITY_PROFILE, query_string=profile_params, auth=auth
    ).status_code == profile_read
    assert post(api, STATE, state_params, b"{}", headers=auth).status_code == state_write
    assert post(
        api, ACTIVITY_PROFILE, profile_params, b"{}", headers=auth
    ).status_code == profile_write
    assert delete(api, STATE, state_params, headers=auth).status_code == state_write


def test_requests_without_credentials_are_401(api, kind):
    path, params, _ = RESOURCES[kind]
    response = api.get(path, query_string=params, auth=False)
    assert response.status_code == 401
    assert "Basic" in response.headers["WWW-Authenticate"]


def test_version_header_is_required(api, kind):
    path, params, _ = RESOURCES[kind]
    assert api.get(path, query_string=params, version=False).status_code == 400


def test_tenants_never_see_each_other(api, app, kind):
    path, params, id_param = RESOURCES[kind]
    create(api, kind, b"default tenant")
    other = add_credential(app, ["all"], tenant="other")[0]
    assert api.get(path, query_string=params, auth=other).status_code == 404
    assert api.get(path, query_string=without(params, id_param), auth=other).get_json() == []
    assert put(api, path, params, b"other tenant", headers={**other, **CREATE}).status_code == 204
    assert api.get(path, query_string=params).get_data() == b"default tenant"
    assert api.get(path, query_string=params, auth=other).get_data() == b"other tenant"


# --- alternate request syntax (Communication 1.3) -----------------------------------------


def test_alternate_syntax_put_and_get(api, app, kind):
    path, params, _ = RESOURCES[kind]
    key_header = api.auth["Authorization"]
    form = {
        **params,
        "content": '{"via": "form"}',
        "Content-Type": JSON_TYPE,
        "If-None-Match": "*",
        "Authorization": key_header,
        "X-Experience-API-Version": "1.0.3",
    }
    response = app.test_client().post(
        f"{path}?method=PUT", data=urlencode(form),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 204, response.get_data(as_text=True)
    response = api.post(
        f"{path}?method=GET", data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert response.get_json() == {"via": "form"}
    assert response.headers["Content-Type"] == JSON_TYPE

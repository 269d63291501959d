"""The document resources on the real service under gunicorn, driven by the `tincan` client
(RemoteLRS) and raw HTTP (Communication 2.2 to 2.7, 3.1)."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import uuid
from urllib.parse import urlencode

import pytest
from tincan import (
    Activity,
    ActivityProfileDocument,
    Agent,
    AgentAccount,
    AgentProfileDocument,
    RemoteLRS,
    StateDocument,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def lrs(live_lrs):
    return RemoteLRS(endpoint=live_lrs.endpoint, username=live_lrs.key,
                     password=live_lrs.secret)


@pytest.fixture
def activity():
    """A fresh activity per test, so tests sharing the server do not see each other."""
    return Activity(id=f"http://example.com/courses/{uuid.uuid4()}")


@pytest.fixture
def agent():
    return Agent(name="Learner", account=AgentAccount(
        home_page="http://example.com/accounts", name=str(uuid.uuid4())))


def raw(live_lrs, method, path, params, body=None, headers=None):
    """One request with http.client: status, headers (lower-case names) and body."""
    token = base64.b64encode(f"{live_lrs.key}:{live_lrs.secret}".encode()).decode()
    sent = {"Authorization": f"Basic {token}", "X-Experience-API-Version": "1.0.3",
            **(headers or {})}
    conn = http.client.HTTPConnection("127.0.0.1", live_lrs.port, timeout=10)
    try:
        conn.request(method, f"/xapi/{path}?{urlencode(params)}", body=body, headers=sent)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_state_round_trip_with_tincan(lrs, activity, agent):
    """Communication 2.3 through the real client: save, retrieve, list, delete, clear."""
    for state_id, content in (("bookmark", b'{"page": 3}'), ("scores", b"\x00\x01binary")):
        document = StateDocument(id=state_id, activity=activity, agent=agent,
                                 content=bytearray(content),
                                 content_type="application/octet-stream")
        assert lrs.save_state(document).success
    got = lrs.retrieve_state(activity, agent, "bookmark")
    assert got.success
    assert bytes(got.content.content) == b'{"page": 3}'
    assert lrs.retrieve_state(activity, agent, "scores").content.content == b"\x00\x01binary"
    listed = lrs.retrieve_state_ids(activity, agent)
    assert listed.success
    assert sorted(listed.content) == ["bookmark", "scores"]
    assert lrs.delete_state(StateDocument(id="bookmark", activity=activity, agent=agent)).success
    missing = lrs.retrieve_state(activity, agent, "bookmark")
    assert missing.response.status == 404
    assert lrs.retrieve_state_ids(activity, agent).content == ["scores"]
    assert lrs.clear_state(activity, agent).success
    assert lrs.retrieve_state_ids(activity, agent).content == []


def test_state_ids_since_and_registration(lrs, live_lrs, activity, agent):
    registration = str(uuid.uuid4())
    lrs.save_state(StateDocument(id="plain", activity=activity, agent=agent, content="1"))
    status, _, _ = raw(live_lrs, "PUT", "activities/state", {
        "activityId": activity.id, "agent": agent.to_json(), "stateId": "registered",
        "registration": registration,
    }, b"2")
    assert status == 204
    assert sorted(lrs.retrieve_state_ids(activity, agent).content) == ["plain", "registered"]
    only = lrs.retrieve_state_ids(activity, agent, registration=registration)
    assert only.content == ["registered"]
    assert lrs.retrieve_state_ids(activity, agent, since="2999-01-01T00:00:00Z").content == []
    assert lrs.clear_state(activity, agent, registration=registration).success
    assert lrs.retrieve_state_ids(activity, agent).content == ["plain"]


def test_activity_profile_with_tincan(lrs, live_lrs, activity):
    """Communication 2.7 and 3.1 through the real client: tincan creates the profile with no
    precondition header, reads it, is refused (409) when replacing without If-Match, then
    replaces it with If-Match."""
    profile = ActivityProfileDocument(id="settings", activity=activity, content='{"a": 1}',
                                      content_type="application/json")
    assert lrs.save_activity_profile(profile).success
    got = lrs.retrieve_activity_profile(activity, "settings")
    assert got.success
    assert json.loads(bytes(got.content.content)) == {"a": 1}
    assert lrs.retrieve_activity_profile_ids(activity).content == ["settings"]
    profile.content = '{"a": 2}'
    assert lrs.save_activity_profile(profile).response.status == 409
    profile.etag = '"' + hashlib.sha1(b'{"a": 1}').hexdigest() + '"'
    assert lrs.save_activity_profile(profile).success
    assert bytes(lrs.retrieve_activity_profile(activity, "settings").content.content) == (
        b'{"a": 2}'
    )
    stale = lrs.delete_activity_profile(profile)
    assert stale.response.status == 412
    profile.etag = '"' + hashlib.sha1(b'{"a": 2}').hexdigest() + '"'
    assert lrs.delete_activity_profile(profile).success
    assert lrs.retrieve_activity_profile_ids(activity).content == []


def test_agent_profile_with_tincan(lrs, live_lrs, agent):
    """Communication 2.6 through the real client, plus a JSON merge by POST (2.2)."""
    params = {"agent": agent.to_json(), "profileId": "prefs"}
    status, _, _ = raw(live_lrs, "POST", "agents/profile", params, b'{"lang": "en"}',
                       {"Content-Type": "application/json"})
    assert status == 204
    status, _, _ = raw(live_lrs, "POST", "agents/profile", params, b'{"theme": "dark"}',
                       {"Content-Type": "application/json"})
    assert status == 204
    got = lrs.retrieve_agent_profile(agent, "prefs")
    assert got.success
    merged = bytes(got.content.content)
    assert json.loads(merged) == {"lang": "en", "theme": "dark"}
    assert lrs.retrieve_agent_profile_ids(agent).content == ["prefs"]
    document = AgentProfileDocument(id="prefs", agent=agent, content="plain text",
                                    content_type="text/plain")
    document.etag = '"' + hashlib.sha1(merged).hexdigest() + '"'
    assert lrs.save_agent_profile(document).success
    status, headers, body = raw(live_lrs, "GET", "agents/profile", params)
    assert (status, body, headers["content-type"]) == (200, b"plain text", "text/plain")
    assert headers["etag"] == '"' + hashlib.sha1(b"plain text").hexdigest() + '"'
    assert "last-modified" in headers
    document.etag = headers["etag"]
    assert lrs.delete_agent_profile(document).success
    assert lrs.retrieve_agent_profile_ids(agent).content == []


def test_head_and_errors_over_http(live_lrs, activity, agent):
    """Communication 1.1 HEAD; 400 for a bad agent; 412 for a stale If-Match on State."""
    params = {"activityId": activity.id, "agent": agent.to_json(), "stateId": "s"}
    assert raw(live_lrs, "PUT", "activities/state", params, b"x")[0] == 204
    status, headers, body = raw(live_lrs, "HEAD", "activities/state", params)
    assert (status, body) == (200, b"")
    assert headers["etag"] == '"' + hashlib.sha1(b"x").hexdigest() + '"'
    bad_agent = {**params, "agent": '{"name": "no identifier"}'}
    assert raw(live_lrs, "GET", "activities/state", bad_agent)[0] == 400
    stale = {"If-Match": '"' + "1" * 40 + '"'}
    assert raw(live_lrs, "PUT", "activities/state", params, b"y", stale)[0] == 412
    assert raw(live_lrs, "GET", "activities/state", params)[2] == b"x"

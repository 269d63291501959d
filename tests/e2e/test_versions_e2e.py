"""xAPI 1.0.3 and 2.0 on one running server (gunicorn, pseudonymization on): tincan-built
statements and raw HTTP through both versions, each request answered under its own."""

from __future__ import annotations

import base64
import http.client
import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from tincan import (
    Activity,
    Agent,
    Context,
    ContextActivities,
    LanguageMap,
    RemoteLRS,
    Statement,
    Verb,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ATTEMPTED = Verb(id="http://adlnet.gov/expapi/verbs/attempted",
                 display=LanguageMap({"en-US": "attempted"}))
COACH = {"objectType": "contextAgent", "agent": {"mbox": "mailto:coach-e2e@example.com"}}


def send(live_lrs, method, path, body=None, *, version="2.0.0", headers=None):
    """Raw HTTP: (status, headers, parsed JSON body or raw bytes)."""
    token = base64.b64encode(f"{live_lrs.key}:{live_lrs.secret}".encode()).decode()
    sent = {"X-Experience-API-Version": version, "Authorization": f"Basic {token}"}
    if isinstance(body, dict | list):
        body = json.dumps(body)
        sent["Content-Type"] = "application/json"
    sent.update(headers or {})
    connection = http.client.HTTPConnection("127.0.0.1", live_lrs.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        raw = response.read()
        content_type = response.getheader("Content-Type") or ""
        data = json.loads(raw) if raw and content_type.startswith("application/json") else raw
        return response.status, dict(response.getheaders()), data
    finally:
        connection.close()


@pytest.fixture
def lrs(live_lrs):
    return RemoteLRS(endpoint=live_lrs.endpoint, username=live_lrs.key,
                     password=live_lrs.secret)


@pytest.fixture
def course():
    return f"http://example.com/courses/{uuid.uuid4()}"


def built(course, mbox="mailto:two-versions@example.com", **kwargs) -> Statement:
    """A statement as the tincan client builds it."""
    return Statement(actor=Agent(name="Learner", mbox=mbox), verb=ATTEMPTED,
                     object=Activity(id=course), **kwargs)


def test_tincan_query_with_python_booleans_and_datetimes_works_unchanged(lrs, course):
    """tincan sends `True` and `str(datetime)` (a space for the T): Communication 2.1.3."""
    parent = f"{course}/parent"
    first = built(course, context=Context(
        context_activities=ContextActivities(parent=[Activity(id=parent)])))
    second = built(course)
    assert lrs.save_statements([first, second]).success
    since = datetime.now(UTC) - timedelta(minutes=5)
    response = lrs.query_statements({"activity": Activity(id=parent), "related_activities": True,
                                     "since": since, "ascending": True})
    assert response.success, response.data
    assert [str(s.id) for s in response.content.statements] == [str(first.id)]
    response = lrs.query_statements({"agent": Agent(mbox="mailto:two-versions@example.com"),
                                     "related_agents": True, "activity": Activity(id=course),
                                     "ascending": True})
    assert [str(s.id) for s in response.content.statements] == [str(first.id), str(second.id)]
    assert lrs.about().success  # a 1.0.x About names only 1.0.3, which tincan accepts


def test_a_tincan_built_statement_through_2_0_and_back_through_both(live_lrs, lrs, course):
    sent = json.loads(built(course).to_json())
    sent["id"] = str(uuid.uuid4())
    sent["timestamp"] = "2024-05-04 12:00:00.5-05:00"  # RFC 3339 with a space, an offset
    sent["context"] = {"contextAgents": [COACH]}
    status, headers, _ = send(live_lrs, "POST", "/xapi/statements", [sent])
    assert (status, headers["X-Experience-API-Version"]) == (200, "2.0.0")
    status, headers, got = send(live_lrs, "GET", f"/xapi/statements?statementId={sent['id']}")
    assert headers["X-Experience-API-Version"] == "2.0.0"
    assert got["timestamp"] == "2024-05-04T17:00:00.5Z"
    assert got["version"] == "1.0.3"  # as tincan wrote it: a 1.0.x version is valid in 2.0
    assert got["context"] == sent["context"]
    # The same statement to a 1.0.x reader: unchanged (1.0.3 Communication 3.3).
    status, headers, old = send(live_lrs, "GET", f"/xapi/statements?statementId={sent['id']}",
                                version="1.0.3")
    assert headers["X-Experience-API-Version"] == "1.0.3"
    assert old == got
    # Related through the context agent, with a 2.0 query.
    query = urlencode({"agent": json.dumps(COACH["agent"]), "related_agents": "True"})
    _, _, found = send(live_lrs, "GET", f"/xapi/statements?{query}")
    assert [s["id"] for s in found["statements"]] == [sent["id"]]


def test_2_0_statements_without_2_0_properties_read_by_tincan(live_lrs, lrs, course):
    sent = json.loads(built(course).to_json())
    sent["id"] = str(uuid.uuid4())
    del sent["version"]  # stored with 2.0.0, the version of the request
    assert send(live_lrs, "POST", "/xapi/statements", sent)[0] == 200
    got = lrs.retrieve_statement(sent["id"])
    assert got.success, got.data
    assert got.content.version == "2.0.0"


def test_alternate_syntax_is_refused_on_2_0_only(live_lrs, course):
    sent = {"id": str(uuid.uuid4()), "actor": {"mbox": "mailto:alt@example.com"},
            "verb": {"id": ATTEMPTED.id}, "object": {"id": course}}
    form = {"statementId": sent["id"], "content": json.dumps(sent)}
    for version, expected in (("2.0.0", 400), ("1.0.3", 204)):
        status, headers, _ = send(
            live_lrs, "POST", "/xapi/statements?method=PUT", urlencode(form), version=version,
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == expected
        assert headers["X-Experience-API-Version"] == {"2.0.0": "2.0.0"}.get(version, "1.0.3")


def test_state_concurrency_follows_the_request_version(live_lrs, course):
    query = urlencode({"activityId": course, "stateId": "bookmark",
                       "agent": json.dumps({"mbox": "mailto:state-e2e@example.com"})})
    path = f"/xapi/activities/state?{query}"
    assert send(live_lrs, "PUT", path, {"page": 1})[0] == 204
    assert send(live_lrs, "PUT", path, {"page": 2})[0] == 409
    assert send(live_lrs, "PUT", path, {"page": 3}, version="1.0.3")[0] == 204
    assert send(live_lrs, "GET", path)[2] == {"page": 3}


def test_about_over_http(live_lrs):
    for version, listed in (("2.0.0", ["1.0.3", "2.0.0"]), ("1.0.3", ["1.0.3"])):
        status, _, about = send(live_lrs, "GET", "/xapi/about", version=version)
        assert (status, about["version"]) == (200, listed)

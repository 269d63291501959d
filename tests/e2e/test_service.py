"""The real service under gunicorn, driven by the `tincan` client (RemoteLRS) and raw HTTP."""

from __future__ import annotations

import base64
import http.client
import json
import time
import uuid
from urllib.parse import urlencode

import pytest
from tincan import (
    Activity,
    ActivityDefinition,
    Agent,
    Context,
    ContextActivities,
    LanguageMap,
    RemoteLRS,
    Result,
    Score,
    Statement,
    StatementRef,
    Verb,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

COMPLETED = Verb(id="http://adlnet.gov/expapi/verbs/completed",
                 display=LanguageMap({"en-US": "completed"}))
VOIDED = Verb(id="http://adlnet.gov/expapi/verbs/voided")


@pytest.fixture
def lrs(live_lrs):
    return RemoteLRS(endpoint=live_lrs.endpoint, username=live_lrs.key,
                     password=live_lrs.secret)


@pytest.fixture
def course():
    """A fresh activity id per test, so tests sharing the server do not see each other."""
    return f"http://example.com/courses/{uuid.uuid4()}"


def make(course, mbox="mailto:learner@example.com", **kwargs):
    return Statement(
        actor=Agent(name="Learner", mbox=mbox),
        verb=kwargs.pop("verb", COMPLETED),
        object=kwargs.pop("object", Activity(
            id=course, definition=ActivityDefinition(name=LanguageMap({"en-US": "Course"})))),
        **kwargs,
    )


def ids(response):
    assert response.success, response.data
    return [str(s.id) for s in response.content.statements]


def test_about(lrs):
    response = lrs.about()
    assert response.success
    assert "1.0.3" in response.content.version


def test_save_and_retrieve(lrs, course):
    posted = make(course, result=Result(score=Score(scaled=0.75), success=True))
    response = lrs.save_statement(posted)  # no id: POST
    assert response.success, response.data
    put = make(course)
    put.id = uuid.uuid4()
    assert lrs.save_statement(put).success  # with id: PUT
    got = lrs.retrieve_statement(str(posted.id))
    assert got.success
    assert got.content.result.score.scaled == 0.75
    assert got.content.authority is not None
    assert str(lrs.retrieve_statement(str(put.id)).content.id) == str(put.id)


def test_save_batch_keeps_order(lrs, course):
    batch = [make(course) for _ in range(5)]
    response = lrs.save_statements(batch)
    assert response.success, response.data
    assert ids(lrs.query_statements({"activity": Activity(id=course), "ascending": "true"})) \
        == [str(s.id) for s in batch]


def test_query_each_filter(lrs, course):
    registration = uuid.uuid4()
    other = f"mailto:other-{uuid.uuid4().hex[:8]}@example.com"
    parent = f"{course}/parent"
    first = make(course, context=Context(registration=registration))
    second = make(course, mbox=other, verb=Verb(id="http://adlnet.gov/expapi/verbs/attempted"))
    third = make(f"{course}/module", context=Context(
        instructor=Agent(mbox=other),
        context_activities=ContextActivities(parent=[Activity(id=parent)])))
    assert lrs.save_statements([first, second, third]).success
    stored = {str(s.id): s for s in lrs.query_statements(
        {"activity": Activity(id=parent), "related_activities": "true"}).content.statements}
    assert list(stored) == [str(third.id)]
    mid = lrs.retrieve_statement(str(second.id)).content.stored

    q = lambda **p: set(ids(lrs.query_statements(p)))  # noqa: E731
    assert q(activity=Activity(id=course)) == {str(first.id), str(second.id)}
    assert q(activity=Activity(id=course), agent=Agent(mbox=other)) == {str(second.id)}
    assert q(agent=Agent(mbox=other), related_agents="true",
             activity=Activity(id=f"{course}/module")) == {str(third.id)}
    assert q(activity=Activity(id=course),
             verb=Verb(id="http://adlnet.gov/expapi/verbs/attempted")) == {str(second.id)}
    assert q(registration=str(registration)) == {str(first.id)}
    assert q(activity=Activity(id=course), until=mid.isoformat()) == {
        str(first.id), str(second.id)}
    assert q(activity=Activity(id=course), since=mid.isoformat()) == set()
    limited = lrs.query_statements({"activity": Activity(id=course), "limit": 1})
    assert len(ids(limited)) == 1
    by_ids = lrs.query_statements({"activity": Activity(id=course), "format": "ids"})
    assert all(s.actor.name is None for s in by_ids.content.statements)


def test_more_paging_while_writing(lrs, course):
    batch = [make(course) for _ in range(5)]
    assert lrs.save_statements(batch).success
    response = lrs.query_statements({"activity": Activity(id=course), "limit": 2})
    seen = ids(response)
    for _ in range(5):
        more = response.content.more
        if not more:
            break
        assert more.startswith("/xapi/statements/more/")
        assert lrs.save_statement(make(course)).success  # another client writes
        response = lrs.more_statements(response.content)
        seen += ids(response)
    assert seen == [str(s.id) for s in reversed(batch)]


def test_voided_retrieval(lrs, course):
    target = make(course)
    assert lrs.save_statement(target).success
    voiding = make(course, verb=VOIDED, object=StatementRef(id=target.id))
    assert lrs.save_statement(voiding).success
    assert lrs.retrieve_statement(str(target.id)).response.status == 404
    voided = lrs.retrieve_voided_statement(str(target.id))
    assert voided.success and str(voided.content.id) == str(target.id)
    assert str(target.id) not in ids(lrs.query_statements({"activity": Activity(id=course)}))


# --- raw HTTP ----------------------------------------------------------------------------


def request(live_lrs, method, path, body=None, headers=None, auth=None, version="1.0.3"):
    sent = {}
    if version:
        sent["X-Experience-API-Version"] = version
    key, secret = auth or (live_lrs.key, live_lrs.secret)
    if key:
        sent["Authorization"] = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
    if isinstance(body, dict | list):
        body = json.dumps(body)
        sent["Content-Type"] = "application/json"
    sent.update(headers or {})
    connection = http.client.HTTPConnection("127.0.0.1", live_lrs.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def raw_statement(course):
    return {"id": str(uuid.uuid4()), "actor": {"mbox": "mailto:raw@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": course}}


@pytest.mark.parametrize("version", [None, "0.95", "1.1.0"])
def test_bad_version_header(live_lrs, version):
    status, headers, body = request(live_lrs, "GET", "/xapi/statements", version=version)
    assert status == 400
    assert headers["X-Experience-API-Version"] == "1.0.3"
    assert json.loads(body)["error"]["code"] == "bad_version"


def test_bad_json(live_lrs):
    status, _, body = request(live_lrs, "POST", "/xapi/statements", body=b"[{",
                              headers={"Content-Type": "application/json"})
    assert status == 400
    assert json.loads(body)["error"]["code"] == "invalid_json"


def test_conflict_and_resend(live_lrs, course):
    sent = raw_statement(course)
    assert request(live_lrs, "POST", "/xapi/statements", sent)[0] == 200
    assert request(live_lrs, "POST", "/xapi/statements", sent)[0] == 200
    path = f"/xapi/statements?statementId={sent['id']}"
    assert request(live_lrs, "PUT", path, sent)[0] == 204
    changed = dict(sent, verb={"id": "http://adlnet.gov/expapi/verbs/failed"})
    assert request(live_lrs, "PUT", path, changed)[0] == 409


def test_concurrent_resends_never_500(live_lrs, course):
    """Two workers racing on the same ids end in success or 409, never 500."""
    from concurrent.futures import ThreadPoolExecutor

    batch = [raw_statement(course) for _ in range(20)]
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(
            lambda _: request(live_lrs, "POST", "/xapi/statements", batch)[0], range(16)))
    assert set(statuses) == {200}


def test_head(live_lrs, course):
    sent = raw_statement(course)
    request(live_lrs, "POST", "/xapi/statements", sent)
    status, headers, body = request(live_lrs, "HEAD", f"/xapi/statements?statementId={sent['id']}")
    assert status == 200 and body == b""
    assert "Last-Modified" in headers and "X-Experience-API-Consistent-Through" in headers


def test_alternate_syntax(live_lrs, course):
    sent = raw_statement(course)
    auth = "Basic " + base64.b64encode(f"{live_lrs.key}:{live_lrs.secret}".encode()).decode()
    form = urlencode({"statementId": sent["id"], "Authorization": auth,
                      "X-Experience-API-Version": "1.0.3", "Content-Type": "application/json",
                      "content": json.dumps(sent)})
    status, _, body = request(live_lrs, "POST", "/xapi/statements?method=PUT", body=form,
                              headers={"Content-Type": "application/x-www-form-urlencoded"},
                              auth=("", ""), version=None)
    assert status == 204, body
    form = urlencode({"statementId": sent["id"], "Authorization": auth,
                      "X-Experience-API-Version": "1.0.3"})
    status, _, body = request(live_lrs, "POST", "/xapi/statements?method=GET", body=form,
                              headers={"Content-Type": "application/x-www-form-urlencoded"},
                              auth=("", ""), version=None)
    assert status == 200 and json.loads(body)["id"] == sent["id"]


def test_401_and_403(live_lrs, course):
    status, headers, _ = request(live_lrs, "GET", "/xapi/statements", auth=("", ""))
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic")
    status, _, _ = request(live_lrs, "GET", "/xapi/statements", auth=(live_lrs.key, "wrong"))
    assert status == 401
    reader = live_lrs.credential("statements/read")
    assert request(live_lrs, "GET", "/xapi/statements", auth=reader)[0] == 200
    assert request(live_lrs, "POST", "/xapi/statements", raw_statement(course),
                   auth=reader)[0] == 403


def test_revocation_reaches_every_worker(live_lrs):
    """Within auth_cache_seconds (default 2, README "Authentication"): each worker trusts a
    verified header that long without re-reading its credential."""
    from lrs.config import Config

    key, secret = live_lrs.credential("all")
    for _ in range(4):  # several requests, so both workers have verified it
        assert request(live_lrs, "GET", "/xapi/statements", auth=(key, secret))[0] == 200
    live_lrs.cli("credentials", "revoke", key, "--yes")
    time.sleep(Config().auth_cache_seconds + 0.1)
    for _ in range(4):
        assert request(live_lrs, "GET", "/xapi/statements", auth=(key, secret))[0] == 401

"""The Statement resource over HTTP (Communication 2.1), on every storage backend."""

from __future__ import annotations

import time
import uuid
from email.utils import parsedate_to_datetime

import orjson
import pytest
from lrs_testing import Api, add_credential, statement

from statements.timestamps import parse_timestamp

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
ACTOR_B = {"objectType": "Agent", "mbox": "mailto:other@example.com"}


def _ids(response):
    return [s["id"] for s in response.json["statements"]]


def _voiding(target: str) -> dict:
    return statement(
        verb={"id": VOIDED, "display": {"en-US": "voided"}},
        object={"objectType": "StatementRef", "id": target},
    )


# --- PUT (2.1.1) --------------------------------------------------------------------------


def test_put_stores_204(api):
    sent = statement()
    response = api.put("/xapi/statements", query_string={"statementId": sent["id"]}, json=sent)
    assert response.status_code == 204
    assert response.data == b""
    assert "X-Experience-API-Consistent-Through" in response.headers
    assert api.get_statements(statementId=sent["id"]).json["verb"] == sent["verb"]


def test_put_without_id_in_body_takes_the_parameter(api):
    sent = statement(id=None)
    statement_id = str(uuid.uuid4())
    assert api.put("/xapi/statements", query_string={"statementId": statement_id},
                   json=sent).status_code == 204
    assert api.get_statements(statementId=statement_id).json["id"] == statement_id


@pytest.mark.parametrize(
    "query",
    [{}, {"statementId": "not-a-uuid"}, {"statementId": str(uuid.uuid4()), "verb": "x"},
     {"statementid": str(uuid.uuid4())}],
)
def test_put_parameter_errors(api, query):
    sent = statement()
    assert api.put("/xapi/statements", query_string=query, json=sent).status_code == 400
    assert api.get_statements(statementId=sent["id"]).status_code == 404


def test_put_id_must_match_parameter(api):
    """Communication 2.1.1: the id in the body MUST match statementId."""
    sent = statement()
    response = api.put("/xapi/statements", query_string={"statementId": str(uuid.uuid4())},
                       json=sent)
    assert response.status_code == 400
    assert "id" in response.json["error"]["fields"]
    assert api.get_statements(statementId=sent["id"]).status_code == 404


def test_put_array_is_400(api):
    sent = statement()
    response = api.put("/xapi/statements", query_string={"statementId": sent["id"]},
                       json=[sent])
    assert response.status_code == 400


def test_put_resend_same_is_204_different_is_409(api):
    """Communication 2.1.1: same id + same content is a no-op; different content 409,
    and the stored statement is unchanged."""
    sent = statement()
    put = lambda body: api.put("/xapi/statements",  # noqa: E731
                               query_string={"statementId": sent["id"]}, json=body)
    assert put(sent).status_code == 204
    before = api.get_statements(statementId=sent["id"]).data
    assert put(sent).status_code == 204
    changed = dict(sent, verb={"id": "http://example.com/verbs/other"})
    response = put(changed)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "conflict"
    assert api.get_statements(statementId=sent["id"]).data == before


# --- POST (2.1.2) -------------------------------------------------------------------------


def test_post_single_returns_id_array(api):
    sent = statement()
    response = api.post_statements(sent)
    assert response.status_code == 200
    assert response.json == [sent["id"]]
    assert "X-Experience-API-Consistent-Through" in response.headers


def test_post_assigns_ids_in_order(api):
    batch = [statement(id=None), statement(), statement(id=None)]
    response = api.post_statements(batch)
    assert response.status_code == 200
    ids = response.json
    assert len(ids) == 3 and ids[1] == batch[1]["id"]
    for statement_id in ids:
        uuid.UUID(statement_id)
        assert api.get_statements(statementId=statement_id).status_code == 200


def test_invalid_statement_in_batch_stores_nothing(api):
    """Communication 3.2: a batch is rejected as a whole."""
    good, bad = statement(), statement(verb={"id": "not an iri"})
    response = api.post_statements([good, bad])
    assert response.status_code == 400
    assert any(path.startswith("[1].verb") for path in response.json["error"]["fields"])
    assert api.get_statements(statementId=good["id"]).status_code == 404


def test_duplicate_ids_in_batch_400_nothing_stored(api):
    """Communication 2.1.2: a batch with the same id twice is rejected with 400."""
    first = statement()
    second = statement(id=first["id"], verb={"id": "http://example.com/verbs/other"})
    response = api.post_statements([first, second])
    assert response.status_code == 400
    assert "[1].id" in response.json["error"]["fields"]
    assert api.get_statements(statementId=first["id"]).status_code == 404


def test_post_resend_equal_is_200_conflict_409_nothing_stored(api):
    stored = statement()
    assert api.post_statements([stored]).status_code == 200
    assert api.post_statements([stored]).json == [stored["id"]]
    fresh = statement()
    conflicting = dict(stored, result={"success": True})
    response = api.post_statements([fresh, conflicting])
    assert response.status_code == 409
    assert api.get_statements(statementId=fresh["id"]).status_code == 404


def test_post_with_query_parameter_is_400(api):
    assert api.post("/xapi/statements", query_string={"verb": "x"},
                    json=statement()).status_code == 400


def test_statement_returned_byte_for_byte_as_stored(api):
    """Data 2.3.1: exact format returns what was stored, including the LRS properties."""
    sent = statement(timestamp="2024-01-02T03:04:05.678+01:00",
                     result={"extensions": {"http://example.com/x": {"b": 1, "a": [1.5]}}})
    api.post_statements(sent)
    single = api.get_statements(statementId=sent["id"])
    listed = api.get_statements()
    stored = single.json
    assert stored["timestamp"] == sent["timestamp"]
    assert stored["result"] == sent["result"]
    assert stored["version"] == "1.0.0"
    assert {"stored", "authority"} <= set(stored)
    assert single.data in listed.data


# --- GET single (2.1.3, 2.1.4) ------------------------------------------------------------


def test_get_unknown_statement_404(api):
    response = api.get_statements(statementId=str(uuid.uuid4()))
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    assert "X-Experience-API-Consistent-Through" in response.headers


def test_single_get_headers(api):
    sent = statement()
    api.post_statements(sent)
    response = api.get_statements(statementId=sent["id"])
    stored = parse_timestamp(response.json["stored"])
    assert parsedate_to_datetime(response.headers["Last-Modified"]) == stored.replace(
        microsecond=0)
    assert parse_timestamp(response.headers["X-Experience-API-Consistent-Through"])
    assert response.mimetype == "application/json"


def test_voiding_rules(api):
    """Communication 2.1.4: a voided statement is only returned by voidedStatementId."""
    target = statement()
    api.post_statements(target)
    voiding = _voiding(target["id"])
    assert api.post_statements(voiding).status_code == 200
    assert api.get_statements(statementId=target["id"]).status_code == 404
    got = api.get_statements(voidedStatementId=target["id"])
    assert got.status_code == 200 and got.json["id"] == target["id"]
    # A statement that is not voided is not returned by voidedStatementId.
    assert api.get_statements(voidedStatementId=voiding["id"]).status_code == 404
    assert api.get_statements(statementId=voiding["id"]).status_code == 200
    # Lists never contain the voided statement; the voiding one is there.
    listed = _ids(api.get_statements())
    assert voiding["id"] in listed and target["id"] not in listed


def test_voiding_a_voiding_statement_is_400(api):
    target = statement()
    voiding = _voiding(target["id"])
    api.post_statements([target, voiding])
    response = api.post_statements(_voiding(voiding["id"]))
    assert response.status_code == 400


@pytest.mark.parametrize(
    "extra",
    [{"voidedStatementId": str(uuid.uuid4())}, {"verb": "http://example.com/v"},
     {"limit": "1"}, {"ascending": "true"}],
)
def test_single_get_with_other_parameters_is_400(api, extra):
    """Communication 2.1.3: statementId allows only attachments and format beside it."""
    assert api.get_statements(statementId=str(uuid.uuid4()), **extra).status_code == 400


def test_single_get_with_format_and_attachments(api):
    sent = statement()
    api.post_statements(sent)
    response = api.get_statements(statementId=sent["id"], format="ids", attachments="false")
    assert response.status_code == 200
    assert response.json["actor"] == {"objectType": "Agent", "mbox": sent["actor"]["mbox"]}


# --- GET list: filters (2.1.3) ------------------------------------------------------------


@pytest.fixture
def corpus(api):
    """Statements designed so each filter selects a known subset."""
    registration = str(uuid.uuid4())
    s = {
        "plain": statement(),
        "other_actor": statement(actor=ACTOR_B),
        "other_verb": statement(verb={"id": "http://example.com/verbs/answered"}),
        "other_activity": statement(object={"id": "http://example.com/activities/quiz"}),
        "registered": statement(context={"registration": registration}),
        "in_context": statement(
            actor=ACTOR_B,
            object={"id": "http://example.com/activities/quiz"},
            context={"instructor": {"mbox": "mailto:learner@example.com"},
                     "contextActivities": {"parent": [
                         {"id": "http://example.com/activities/course"}]}},
        ),
    }
    for key in s:
        assert api.post_statements(s[key]).status_code == 200
    return s, registration


def _agent(mbox):
    return orjson.dumps({"mbox": mbox}).decode()


def test_filters(api, corpus):
    s, registration = corpus
    ids = lambda **p: set(_ids(api.get_statements(**p)))  # noqa: E731
    everyone = {v["id"] for v in s.values()}
    assert ids() == everyone
    learner = _agent("mailto:learner@example.com")
    assert ids(agent=learner) == everyone - {s["other_actor"]["id"], s["in_context"]["id"]}
    assert ids(agent=learner, related_agents="true") == everyone - {s["other_actor"]["id"]}
    assert ids(verb="http://example.com/verbs/answered") == {s["other_verb"]["id"]}
    quiz = "http://example.com/activities/quiz"
    assert ids(activity=quiz) == {s["other_activity"]["id"], s["in_context"]["id"]}
    course = "http://example.com/activities/course"
    assert ids(activity=course, related_activities="true") == everyone - {
        s["other_activity"]["id"]}
    assert ids(registration=registration) == {s["registered"]["id"]}
    assert ids(agent=_agent("mailto:other@example.com"), activity=quiz) == {
        s["in_context"]["id"]}


def test_since_until_and_order(api):
    first, second, third = statement(), statement(), statement()
    for sent in (first, second, third):
        api.post_statements(sent)
        time.sleep(0.002)
    stored = {
        sent["id"]: api.get_statements(statementId=sent["id"]).json["stored"]
        for sent in (first, second, third)
    }
    assert _ids(api.get_statements()) == [third["id"], second["id"], first["id"]]
    assert _ids(api.get_statements(ascending="true")) == [first["id"], second["id"],
                                                          third["id"]]
    # since is exclusive, until inclusive (Communication 2.1.3).
    assert _ids(api.get_statements(since=stored[first["id"]])) == [third["id"], second["id"]]
    assert _ids(api.get_statements(until=stored[second["id"]])) == [second["id"], first["id"]]


def test_statement_ref_target_matches_filters(api):
    """Communication 2.1.3, Filter Conditions for StatementRefs."""
    target = statement(actor=ACTOR_B)
    referring = statement(object={"objectType": "StatementRef", "id": target["id"]})
    api.post_statements([target, referring])
    found = set(_ids(api.get_statements(agent=_agent("mailto:other@example.com"))))
    assert found == {target["id"], referring["id"]}


@pytest.mark.parametrize(
    "params",
    [{"agent": "{not json"}, {"agent": '{"name": "no ifi"}'}, {"verb": "not an iri"},
     {"since": "yesterday"}, {"limit": "-1"}, {"format": "full"}, {"ascending": "yes"},
     {"unknown": "1"}, {"Verb": "http://example.com/v"}],
)
def test_bad_query_parameters_400(api, params):
    response = api.get_statements(**params)
    assert response.status_code == 400
    assert response.json["error"]["fields"]
    # Communication 2.1.3: on all responses of the Statement resource, errors too.
    assert "X-Experience-API-Consistent-Through" in response.headers


# --- limit and paging ---------------------------------------------------------------------


@pytest.fixture
def small_pages(app_config):
    from lrs import create_app

    app_config["statements_limit_max"] = 3
    app = create_app(app_config)
    return Api(app.test_client(), add_credential(app, ["all", "reidentify"])[0])


def _follow(api, response):
    more = response.json["more"]
    assert more.startswith("/xapi/statements/more/")
    return api.get(more)


def test_limit_is_clamped_to_the_server_maximum(small_pages):
    small_pages.post_statements([statement() for _ in range(5)])
    assert len(small_pages.get_statements(limit="0").json["statements"]) == 3
    assert len(small_pages.get_statements(limit="100").json["statements"]) == 3
    assert len(small_pages.get_statements(limit="2").json["statements"]) == 2


def test_more_pages_through_everything_while_others_write(small_pages):
    api = small_pages
    first_batch = [statement() for _ in range(7)]
    api.post_statements(first_batch)
    seen = []
    response = api.get_statements(limit="2")
    for _ in range(10):
        assert response.status_code == 200
        seen.extend(_ids(response))
        api.post_statements(statement())  # a write between pages
        if not response.json["more"]:
            break
        response = _follow(api, response)
    # Descending: newer writes are above the cursor and never shown; nothing skipped twice.
    assert seen == [s["id"] for s in reversed(first_batch)]


def test_more_ascending_sees_later_writes(small_pages):
    api = small_pages
    api.post_statements([statement() for _ in range(3)])
    page = api.get_statements(ascending="true", limit="2")
    late = statement()
    api.post_statements(late)
    rest = _follow(api, page)
    assert _ids(rest)[-1] == late["id"]
    assert len(set(_ids(page)) | set(_ids(rest))) == 4


def test_more_keeps_filters_and_format(small_pages):
    api = small_pages
    api.post_statements([statement(actor=ACTOR_B) for _ in range(3)] + [statement()])
    page = api.get_statements(agent=_agent("mailto:other@example.com"), format="ids",
                              limit="2")
    rest = _follow(api, page)
    assert len(_ids(page)) + len(_ids(rest)) == 3
    assert rest.json["more"] == ""
    assert all(s["actor"] == ACTOR_B for s in rest.json["statements"])


def test_bad_more_token_404(api):
    assert api.get("/xapi/statements/more/garbage").status_code == 404


def test_empty_result(api):
    response = api.get_statements(verb="http://example.com/verbs/never")
    assert response.status_code == 200
    assert response.json == {"statements": [], "more": ""}
    assert "Last-Modified" in response.headers


def test_list_last_modified_is_newest_stored(api):
    api.post_statements([statement(), statement()])
    response = api.get_statements()
    newest = max(parse_timestamp(s["stored"]) for s in response.json["statements"])
    assert parsedate_to_datetime(response.headers["Last-Modified"]) == newest.replace(
        microsecond=0)


# --- formats and attachments --------------------------------------------------------------


def test_format_ids(api):
    """Communication 2.1.3 format=ids: an Activity carries only its id."""
    sent = statement(object={"objectType": "Activity", "id": "http://example.com/a",
                             "definition": {"name": {"en-US": "A"}}})
    api.post_statements(sent)
    got = api.get_statements(format="ids").json["statements"][0]
    assert got["object"] == {"id": "http://example.com/a"}
    assert "name" not in got["actor"]
    assert got["verb"] == {"id": sent["verb"]["id"]}


def test_format_canonical_uses_accept_language(api):
    sent = statement(object={"id": "http://example.com/a", "definition": {
        "name": {"en-US": "Course", "fr-FR": "Cours"}}})
    api.post_statements(sent)
    response = api.get("/xapi/statements", query_string={"format": "canonical"},
                       headers={"Accept-Language": "fr-FR, en;q=0.5"})
    got = response.json["statements"][0]
    assert got["object"]["definition"]["name"] == {"fr-FR": "Cours"}
    assert got["actor"] == sent["actor"]


def test_attachments_true_is_multipart(api):
    sent = statement()
    api.post_statements(sent)
    response = api.get_statements(attachments="true")
    assert response.mimetype == "multipart/mixed"
    boundary = response.mimetype_params["boundary"]
    parts = response.data.split(f"--{boundary}".encode())
    assert parts[-1].strip() == b"--"
    head, _, body = parts[1].partition(b"\r\n\r\n")
    assert b"application/json" in head
    assert orjson.loads(body)["statements"][0]["id"] == sent["id"]


def test_attachments_false_is_json(api):
    assert api.get_statements(attachments="false").mimetype == "application/json"


# --- permissions and tenants --------------------------------------------------------------


def test_read_mine_sees_only_own_statements(app, api):
    """Communication 4.2: statements/read/mine reads statements written by "me"."""
    mine_headers, _ = add_credential(app, ["statements/write", "statements/read/mine"])
    mine = Api(api.client, mine_headers)
    own, foreign = statement(), statement()
    mine.post_statements(own)
    api.post_statements(foreign)
    assert _ids(mine.get_statements()) == [own["id"]]
    assert mine.get_statements(statementId=foreign["id"]).status_code == 404
    assert mine.get_statements(statementId=own["id"]).status_code == 200
    assert set(_ids(api.get_statements())) == {own["id"], foreign["id"]}


def test_tenants_are_isolated(app, api):
    other = Api(api.client, add_credential(app, ["all"], tenant="school-b")[0])
    sent = statement()
    api.post_statements(sent)
    assert other.get_statements(statementId=sent["id"]).status_code == 404
    assert other.get_statements().json["statements"] == []
    # The same id can be used in another tenant.
    assert other.post_statements(dict(sent, result={"success": True})).status_code == 200

"""xAPI 2.0 (IEEE 9274.1.1-2023) beside 1.0.3 on one server, chosen per request by the
version header, on every backend. Section numbers are 9274.1.1's; the conformance-suite
evidence for each rule is in ../shared/xapi-2.0-notes.md (sections in brackets)."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

import pytest
from lrs_testing import Api, add_credential, statement

from lrs import create_app
from lrs.extension import EXTENSION
from statements import parse_timestamp

V2 = {"X-Experience-API-Version": "2.0.0"}
V1 = {"X-Experience-API-Version": "1.0.3"}
ACT = "http://example.com/activities/course"
CONTEXT_AGENTS = [{
    "objectType": "contextAgent",
    "agent": {"objectType": "Agent", "mbox": "mailto:coach@example.com", "name": "Coach"},
    "relevantTypes": ["https://example.com/activity-types/coaching"],
}]
CONTEXT_GROUPS = [{
    "objectType": "contextGroup",
    "group": {"objectType": "Group", "mbox": "mailto:team-1@example.com",
              "member": [{"objectType": "Agent", "mbox": "mailto:player-1@example.com"}]},
    "relevantTypes": ["https://example.com/activity-types/team/a"],
}]


def v2(api: Api, method: str, path: str, **kwargs):
    """A request with the 2.0 version header (and the credential)."""
    headers = {**V2, **kwargs.pop("headers", {})}
    return api.request(method, path, version=False, headers=headers, **kwargs)


def post2(api: Api, data, **kwargs):
    return v2(api, "POST", "/xapi/statements", json=data, **kwargs)


def get2(api: Api, **params):
    return v2(api, "GET", "/xapi/statements", query_string=params)


def with_context(**context: object) -> dict:
    return statement(context=context)


def substatement(**context: object) -> dict:
    return statement(object={
        "objectType": "SubStatement",
        "actor": {"mbox": "mailto:sub@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
        "object": {"id": ACT},
        "context": context,
    })


# --- version negotiation [1] --------------------------------------------------------------


@pytest.mark.parametrize(("header", "answer"), [
    ("2.0", "2.0.0"), ("2.0.0", "2.0.0"), ("2.0.7", "2.0.0"),
    ("1.0", "1.0.3"), ("1.0.0", "1.0.3"), ("1.0.3", "1.0.3"),
])
def test_each_request_is_answered_in_its_version_family(api, header, answer):
    response = api.get("/xapi/statements", version=False,
                       headers={"X-Experience-API-Version": header})
    assert response.status_code == 200
    assert response.headers["X-Experience-API-Version"] == answer


def test_an_error_answer_carries_the_requests_version(api):
    response = post2(api, {"actor": {"mbox": "not-a-mailto"}})
    assert response.status_code == 400
    assert response.headers["X-Experience-API-Version"] == "2.0.0"


@pytest.mark.parametrize(("headers", "versions"), [
    ({}, ["1.0.3", "2.0.0"]), (V2, ["1.0.3", "2.0.0"]), (V1, ["1.0.3"]),
])
def test_about_lists_the_versions_for_the_reader_4_1_6_7(api, headers, versions):
    """[7] both versions; a 1.0.x reader only its own (README "xAPI 2.0")."""
    response = api.get("/xapi/about", auth=False, version=False, headers=headers)
    assert response.json["version"] == versions


def test_version_fallback_answers_a_headerless_request_with_2_0_0(app_config):
    """[1] a 2.0 conformance run wants 2.0.0 on the 400 for a request without a header."""
    app = create_app({**app_config, "version_fallback": "2.0.0"})
    try:
        response = app.test_client().get("/xapi/statements")
        assert response.status_code == 400
        assert response.headers["X-Experience-API-Version"] == "2.0.0"
    finally:
        app.extensions[EXTENSION].close()


# --- alternate request syntax, removed in 2.0 [8] -----------------------------------------


@pytest.mark.parametrize("where", ["header", "form"])
def test_alternate_request_syntax_is_refused_on_2_0_requests(api, where):
    sent = statement()
    form = {"statementId": sent["id"], "content": json.dumps(sent), **api.auth}
    headers = {}
    if where == "form":
        form.update(V2)
    else:
        headers = V2
    response = api.client.post("/xapi/statements?method=PUT", data=urlencode(form),
                               content_type="application/x-www-form-urlencoded",
                               headers=headers)
    assert response.status_code == 400
    assert "method" in response.json["error"]["fields"]
    assert response.headers["X-Experience-API-Version"] == "2.0.0"
    assert api.get_statements(statementId=sent["id"]).status_code == 404


def test_alternate_request_syntax_still_works_on_1_0_requests(api):
    sent = statement()
    form = {"statementId": sent["id"], "content": json.dumps(sent), **api.auth, **V1}
    response = api.client.post("/xapi/statements?method=PUT", data=urlencode(form),
                               content_type="application/x-www-form-urlencoded")
    assert response.status_code == 204


# --- contextAgents and contextGroups 4.2.2.5 [2] ------------------------------------------


@pytest.mark.parametrize("make", [with_context, substatement], ids=["statement", "substatement"])
def test_context_agents_and_groups_are_accepted_on_2_0_4_2_2_5(api, make):
    sent = make(contextAgents=CONTEXT_AGENTS, contextGroups=CONTEXT_GROUPS)
    assert post2(api, sent).status_code == 200
    got = get2(api, statementId=sent["id"]).json
    holder, sent_holder = (got, sent) if make is with_context else (got["object"], sent["object"])
    assert holder["context"] == sent_holder["context"]


@pytest.mark.parametrize("make", [with_context, substatement], ids=["statement", "substatement"])
def test_context_agents_and_groups_are_unknown_on_1_0_data_2_4_6(api, make):
    """Data 2.2, 2.4.6: on a 1.0.x request they are properties 1.0.3 does not define."""
    sent = make(contextAgents=CONTEXT_AGENTS)
    response = api.post_statements(sent)
    assert response.status_code == 400
    prefix = "context" if make is with_context else "object.context"
    assert response.json["error"]["fields"] == {f"{prefix}.contextAgents": ["unknown property"]}


def _item(base: dict, **changes: object) -> list[dict]:
    item = copy.deepcopy(base[0])
    for key, value in changes.items():
        if value is None:
            del item[key]
        else:
            item[key] = value
    return [item]


@pytest.mark.parametrize(("context", "path"), [
    ({"contextAgents": CONTEXT_AGENTS[0]}, "context.contextAgents"),
    ({"contextAgents": _item(CONTEXT_AGENTS, objectType="Should fail")},
     "context.contextAgents[0].objectType"),
    ({"contextAgents": _item(CONTEXT_AGENTS, objectType=None)},
     "context.contextAgents[0].objectType"),
    ({"contextAgents": _item(CONTEXT_AGENTS, agent={"key": "Should fail"})},
     "context.contextAgents[0].agent.key"),
    ({"contextAgents": _item(CONTEXT_AGENTS, agent=CONTEXT_GROUPS[0]["group"])},
     "context.contextAgents[0].agent.objectType"),
    ({"contextAgents": _item(CONTEXT_AGENTS, relevantTypes=[])},
     "context.contextAgents[0].relevantTypes"),
    ({"contextAgents": _item(CONTEXT_AGENTS, relevantTypes=["abc"])},
     "context.contextAgents[0].relevantTypes[0]"),
    ({"contextAgents": _item(CONTEXT_AGENTS, extra=1)}, "context.contextAgents[0].extra"),
    ({"contextGroups": _item(CONTEXT_GROUPS, objectType="contextAgent")},
     "context.contextGroups[0].objectType"),
    ({"contextGroups": _item(CONTEXT_GROUPS, group={"key": "Should fail"})},
     "context.contextGroups[0].group.objectType"),
    ({"contextGroups": _item(CONTEXT_GROUPS, relevantTypes="https://example.com/t")},
     "context.contextGroups[0].relevantTypes"),
    ({"contextGroups": [None]}, "context.contextGroups[0]"),
])
def test_bad_context_agents_and_groups_are_400_4_2_2_5(api, context, path):
    for sent in (with_context(**context), substatement(**context)):
        response = post2(api, sent)
        assert response.status_code == 400
        fields = response.json["error"]["fields"]
        prefix = "" if "context" in sent else "object."
        assert prefix + path in fields, fields
        assert api.get_statements(statementId=sent["id"]).status_code == 404


def test_context_agents_are_indexed_for_related_agents(api):
    """Communication 2.1.3 related_agents: every agent position, 2.0's context agents too."""
    coach = json.dumps(CONTEXT_AGENTS[0]["agent"])
    member = json.dumps({"mbox": "mailto:player-1@example.com"})
    sent, nested = with_context(contextAgents=CONTEXT_AGENTS), substatement(
        contextGroups=CONTEXT_GROUPS)
    assert post2(api, [sent, nested]).status_code == 200
    related = get2(api, agent=coach, related_agents="true").json["statements"]
    assert [s["id"] for s in related] == [sent["id"]]
    assert get2(api, agent=coach).json["statements"] == []
    related = get2(api, agent=member, related_agents="true").json["statements"]
    assert [s["id"] for s in related] == [nested["id"]]


# --- timestamps 4.2.7, 4.1.6.1 [3] --------------------------------------------------------


@pytest.mark.parametrize(("sent", "stored"), [
    ("2008-09-15 15:53:00.601+00:00", "2008-09-15T15:53:00.601Z"),
    ("2023-05-04T12:00:00-05:00", "2023-05-04T17:00:00Z"),
    ("2013-05-18T05:32:34.8041234+02:00", "2013-05-18T03:32:34.8041234Z"),
    ("2023-05-04T17:00:00.000Z", "2023-05-04T17:00:00.000Z"),
])
def test_timestamps_are_converted_to_utc_4_2_7(api, sent, stored):
    outer = substatement()
    outer["timestamp"] = outer["object"]["timestamp"] = sent
    assert post2(api, outer).status_code == 200
    got = get2(api, statementId=outer["id"]).json
    assert got["timestamp"] == got["object"]["timestamp"] == stored
    # The same statement read through 1.0.3 has the same (valid ISO 8601) timestamp.
    assert api.get_statements(statementId=outer["id"]).json["timestamp"] == stored


@pytest.mark.parametrize("timestamp", [
    "2008-09-15T15:53:00.601-00", "2008-09-15T15:53:00.601-0000",
    "2008-09-15T15:53:00.601-00:00", "01/011/2015", "should fail", "2008-09-15  15:53:00Z",
])
def test_bad_timestamps_stay_400_4_2_7(api, timestamp):
    assert post2(api, statement(timestamp=timestamp)).status_code == 400
    sub = substatement()
    sub["object"]["timestamp"] = timestamp
    assert post2(api, sub).status_code == 400


def test_a_space_for_the_t_is_400_on_1_0_data_4_5(api):
    """ISO 8601, which 1.0.3 requires, has no such form; 1.0.3 keeps an offset as sent."""
    assert api.post_statements(statement(timestamp="2008-09-15 15:53:00Z")).status_code == 400


def test_missing_timestamp_is_stored_and_last_modified_matches_4_1_6_1(api):
    sent = statement()
    post2(api, sent)
    response = get2(api, statementId=sent["id"])
    got = response.json
    assert got["timestamp"] == got["stored"]
    assert parsedate_to_datetime(response.headers["Last-Modified"]) == parse_timestamp(
        got["stored"]).replace(microsecond=0)


def test_future_timestamp_is_accepted_4_1_6_1(api):
    assert post2(api, statement(timestamp="2999-01-01T00:00:00Z")).status_code == 200


# --- version property 4.2.4.3 [1] ---------------------------------------------------------


@pytest.mark.parametrize("version", ["1.0", "1.0.9", "2.0.0", "2.0"])
def test_version_of_either_family_is_accepted_and_retained_4_2_4_3(api, version):
    sent = statement(version=version)
    assert post2(api, sent).status_code == 200
    assert get2(api, statementId=sent["id"]).json["version"] == version


@pytest.mark.parametrize("version", ["0.9.9", "1.1.0", "2.1.0", "junk"])
def test_other_versions_are_400_4_2_4_3(api, version):
    response = post2(api, statement(version=version))
    assert response.status_code == 400
    assert list(response.json["error"]["fields"]) == ["version"]


def test_missing_version_is_2_0_0_on_2_0_and_1_0_0_on_1_0(api):
    two, one = statement(), statement()
    post2(api, two)
    api.post_statements(one)
    assert get2(api, statementId=two["id"]).json["version"] == "2.0.0"
    assert get2(api, statementId=one["id"]).json["version"] == "1.0.0"


def test_version_2_0_0_is_400_on_1_0_data_2_4_10(api):
    assert api.post_statements(statement(version="2.0.0")).status_code == 400


# --- other statement rules 4.2.1, 4.1.6.1, 4.2.7 [2] -------------------------------------


def test_extra_properties_are_400_4_2_1(api):
    for sent in (statement(extra=1), with_context(extra=1),
                 statement(verb={"id": "http://adlnet.gov/expapi/verbs/x", "extra": 1})):
        response = post2(api, sent)
        assert response.status_code == 400
        assert any("extra" in path for path in response.json["error"]["fields"])


def test_a_batch_reusing_an_id_is_400_4_1_6_1(api):
    sent = statement()
    assert post2(api, [sent, {**sent}]).status_code == 400
    assert api.get_statements(statementId=sent["id"]).status_code == 404


def test_duration_precision_is_kept_and_compared_to_hundredths_4_2_7(api):
    sent = statement(result={"duration": "P1DT12H36M0.12567S"})
    assert post2(api, sent).status_code == 200
    assert get2(api, statementId=sent["id"]).json["result"]["duration"] == "P1DT12H36M0.12567S"
    # Re-sent with digits past 0.01 s changed: the same statement, no conflict.
    assert post2(api, {**sent, "result": {"duration": "P1DT12H36M0.1299S"}}).status_code == 200


def test_voiding_an_unknown_statement_is_accepted_4_2_4_1(api):
    voiding = statement(verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
                        object={"objectType": "StatementRef", "id": str(uuid.uuid4())})
    assert post2(api, voiding).status_code == 200


def test_format_ids_keeps_only_identifiers_4_1_6_1(api):
    sent = substatement(contextAgents=CONTEXT_AGENTS)
    sent["object"]["object"]["definition"] = {"name": {"en-US": "Course"}}
    post2(api, sent)
    got = get2(api, statementId=sent["id"], format="ids").json
    assert got["verb"] == {"id": sent["verb"]["id"]}
    assert got["object"]["verb"] == {"id": sent["object"]["verb"]["id"]}
    assert got["object"]["object"] == {"id": ACT}
    # The reader re-identifies (the `api` fixture): the agent's IFI, without its name.
    assert got["object"]["context"]["contextAgents"][0]["agent"] == {
        "objectType": "Agent", "mbox": "mailto:coach@example.com",
    }


# --- documents: concurrency 4.1.4, Last-Modified 4.1.6.2 [4, 5] ---------------------------

STATE = "/xapi/activities/state"
STATE_PARAMS = {"activityId": ACT, "agent": json.dumps({"mbox": "mailto:a@example.com"}),
                "stateId": "s1"}
PROFILE = "/xapi/activities/profile"
PROFILE_PARAMS = {"activityId": ACT, "profileId": "p1"}


def doc(api, method: str, path: str, params: dict, body: bytes = b"", *, version=V2, **headers):
    return api.request(method, path, version=False, query_string=params, data=body,
                       headers={**version, "Content-Type": "application/json", **headers})


def test_state_put_without_precondition_onto_an_existing_document_is_409_4_1_4(api):
    assert doc(api, "PUT", STATE, STATE_PARAMS, b'{"v": 1}').status_code == 204  # new
    response = doc(api, "PUT", STATE, STATE_PARAMS, b'{"v": 2}')
    assert response.status_code == 409
    assert response.json["error"]["message"]  # explains what to do
    assert doc(api, "GET", STATE, STATE_PARAMS).json == {"v": 1}
    etag = doc(api, "GET", STATE, STATE_PARAMS).headers["ETag"]
    assert doc(api, "PUT", STATE, STATE_PARAMS, b'{"v": 3}', **{"If-Match": etag}
               ).status_code == 204
    # The same PUT on a 1.0.x request may overwrite State (1.0.3 Communication 3.1).
    assert doc(api, "PUT", STATE, STATE_PARAMS, b'{"v": 4}', version=V1).status_code == 204


def test_post_and_delete_with_a_mismatched_if_match_are_412_4_1_4(api):
    doc(api, "POST", STATE, STATE_PARAMS, b'{"v": 1}')
    wrong = {"If-Match": '"1234"'}
    assert doc(api, "POST", STATE, STATE_PARAMS, b'{"w": 2}', **wrong).status_code == 412
    assert doc(api, "DELETE", STATE, STATE_PARAMS, **wrong).status_code == 412
    assert doc(api, "GET", STATE, STATE_PARAMS).json == {"v": 1}
    # Without preconditions, POST still merges (4.1.4 only guards PUT).
    assert doc(api, "POST", STATE, STATE_PARAMS, b'{"w": 2}').status_code == 204


def test_strict_profile_put_is_a_1_0_rule(app_config):
    """strict_profile_put gives the 1.0.3 suite its 400 (XAPI-00273); a 2.0 PUT onto a new
    document creates it (9274.1.1 asks headers only to replace one)."""
    app = create_app({**app_config, "strict_profile_put": True})
    try:
        api = Api(app.test_client(), add_credential(app, ["all"])[0])
        assert doc(api, "PUT", PROFILE, PROFILE_PARAMS, b"{}", version=V1).status_code == 400
        assert doc(api, "PUT", PROFILE, PROFILE_PARAMS, b"{}").status_code == 204
        assert doc(api, "PUT", PROFILE, PROFILE_PARAMS, b"{}").status_code == 409
    finally:
        app.extensions[EXTENSION].close()


def test_document_last_modified_is_its_update_time_4_1_6_2(api):
    """4.1.6.2: Last-Modified says when the document was last modified (RFC 7231 date, so
    to the second). That it advances on update: tests/lrs/test_documents.py."""
    before = datetime.now(UTC).replace(microsecond=0)
    doc(api, "POST", STATE, STATE_PARAMS, b'{"v": 1}')
    after = datetime.now(UTC)
    response = doc(api, "GET", STATE, STATE_PARAMS)
    assert before <= parsedate_to_datetime(response.headers["Last-Modified"]) <= after


# --- one statement, two readers -----------------------------------------------------------


def test_a_2_0_statement_is_shown_unchanged_to_a_1_0_reader(api):
    """1.0.3 Communication 3.3: statements of a newer version are not converted into a prior
    version's format; 1.0.x clients SHOULD ignore properties they do not know."""
    sent = substatement(contextGroups=CONTEXT_GROUPS)
    sent["context"] = {"contextAgents": CONTEXT_AGENTS}
    post2(api, sent)
    response = api.get_statements(statementId=sent["id"])
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    got = response.json
    assert got["context"] == sent["context"]
    assert got["object"]["context"] == sent["object"]["context"]
    assert got["version"] == "2.0.0"


def test_strip_2_0_properties_shows_a_1_0_reader_what_1_0_3_defines(app_config):
    app = create_app({**app_config, "strip_2_0_properties": True})
    try:
        api = Api(app.test_client(), add_credential(app, ["all", "reidentify"])[0])
        sent = substatement(contextGroups=CONTEXT_GROUPS, language="en")
        sent["context"] = {"contextAgents": CONTEXT_AGENTS, "registration": str(uuid.uuid4())}
        post2(api, sent)
        for params in ({"statementId": sent["id"]}, {"statementId": sent["id"], "format": "ids"}):
            got = api.get_statements(**params).json
            assert got["context"] == {"registration": sent["context"]["registration"]}
            assert got["object"]["context"] == {"language": "en"}
            assert got["version"] == "2.0.0"
        listed = api.get_statements().json["statements"]
        assert "contextAgents" not in listed[0]["context"]
        # A 2.0 reader still gets everything.
        assert get2(api, statementId=sent["id"]).json["context"] == sent["context"]
    finally:
        app.extensions[EXTENSION].close()


def test_a_1_0_statement_is_shown_unchanged_to_a_2_0_reader(api):
    sent = statement(timestamp="2024-01-02T03:04:05.678+01:00")
    api.post_statements(sent)
    got = get2(api, statementId=sent["id"]).json
    assert got["timestamp"] == sent["timestamp"]
    assert got["version"] == "1.0.0"


def test_a_more_page_follows_the_version_of_its_request(api):
    sent = [with_context(contextAgents=CONTEXT_AGENTS) for _ in range(2)]
    post2(api, sent)
    more = get2(api, limit="1").json["more"]
    assert v2(api, "GET", more).headers["X-Experience-API-Version"] == "2.0.0"
    assert api.get(more).headers["X-Experience-API-Version"] == "1.0.3"

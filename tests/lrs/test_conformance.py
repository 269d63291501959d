"""What the ADL LRS conformance suite (lrs-conformance-test-suite, test/v1_0_3/) checks of the
running service, one rule per test, the spec section in the name. Rules already pinned in a
resource's own module are not repeated here."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import pytest
from lrs_testing import VERSION, statement

FORM = "application/x-www-form-urlencoded"
AGENT = {"objectType": "Agent", "account": {"homePage": "http://www.example.com/agentId/1",
                                            "name": "Rick James"}}


def _alternate(api, method: str, form: dict, **kwargs):
    return api.client.post(f"/xapi/statements?method={method}", data=urlencode(form),
                           content_type=FORM, **kwargs)


# --- Communication 1.3 alternate request syntax -------------------------------------------


def test_alternate_put_without_content_type_field_takes_json_communication_1_3(api):
    """The suite's "alternate request syntax PUT issued as a POST" and "will pass PUT with
    content body which is url encoded" send statementId and content, no Content-Type field."""
    sent = statement()
    form = {"statementId": sent["id"], "content": json.dumps(sent), **VERSION, **api.auth}
    response = _alternate(api, "PUT", form)
    assert response.status_code == 204, response.json
    assert api.get_statements(statementId=sent["id"]).json["id"] == sent["id"]


def test_alternate_post_without_content_type_field_takes_json_communication_1_3(api):
    sent = statement()
    response = _alternate(api, "POST", {"content": json.dumps([sent]), **VERSION, **api.auth})
    assert response.status_code == 200
    assert response.json == [sent["id"]]


def test_alternate_content_type_field_still_wins_communication_1_3(api):
    """A Content-Type form field names the content's type, in either order."""
    query = {"activityId": "http://www.example.com/a", "agent": json.dumps(AGENT),
             "stateId": "s1"}
    form = [("content", "plain text"), ("Content-Type", "text/plain"), *query.items(),
            *VERSION.items(), *api.auth.items()]
    response = api.client.post("/xapi/activities/state?method=PUT", data=urlencode(form),
                               content_type=FORM)
    assert response.status_code == 204
    document = api.get("/xapi/activities/state", query_string=query)
    assert document.mimetype == "text/plain"
    assert document.data == b"plain text"


def test_alternate_put_with_json_body_is_400_communication_1_3(api):
    """"will fail PUT with content body which is not url encoded"."""
    response = api.client.post(
        "/xapi/statements?method=PUT",
        data=json.dumps({"statementId": str(uuid.uuid4()), "content": json.dumps(statement())}),
        content_type=FORM, headers={**VERSION, **api.auth})
    assert response.status_code == 400


def test_alternate_form_version_0_8_is_400_and_stores_nothing_communication_1_3(api):
    sent = statement()
    form = {"statementId": sent["id"], "content": json.dumps(sent),
            "X-Experience-API-Version": "0.8"}
    response = _alternate(api, "PUT", form, headers={**VERSION, **api.auth})
    assert response.status_code == 400
    assert api.get_statements(statementId=sent["id"]).status_code == 404


def test_alternate_get_with_limit_returns_a_statement_result_communication_1_3(api):
    api.post_statements([statement(), statement()])
    response = _alternate(api, "GET", {"limit": "1"}, headers={**VERSION, **api.auth})
    assert response.status_code == 200
    assert len(response.json["statements"]) == 1
    assert response.json["more"]


# --- Data 2.4.10 version property ---------------------------------------------------------


@pytest.mark.parametrize("version", ["1.0", "1.0.9", "1.0.3"])
def test_version_formatted_as_the_header_is_accepted_and_retained_data_2_4_10(api, version):
    """Data 2.4.10: formatted as the version header (Communication 3.3: "1.0" is 1.0.0);
    returned statements keep the version they were accepted with."""
    sent = statement(version=version)
    assert api.post_statements(sent).status_code == 200
    assert api.get_statements(statementId=sent["id"]).json["version"] == version


@pytest.mark.parametrize("version", ["0.9.9", "1.1.0", "should fail", "1."])
def test_other_versions_are_400_data_2_4_10(api, version):
    assert api.post_statements(statement(version=version)).status_code == 400


def test_missing_version_is_returned_as_1_0_0_data_2_4_10(api):
    sent = statement()
    api.post_statements(sent)
    assert api.get_statements(statementId=sent["id"]).json["version"] == "1.0.0"


# --- Data 2.4.7 - 2.4.9: timestamp, stored, authority -------------------------------------


@pytest.mark.parametrize(
    "timestamp",
    ["2008-09-15T15:53:00.601-00", "2008-09-15T15:53:00.601-0000",
     "2008-09-15T15:53:00.601-00:00", "01/011/2015", "should fail"],
)
def test_bad_timestamps_are_400_data_4_5(api, timestamp):
    assert api.post_statements(statement(timestamp=timestamp)).status_code == 400


def test_stored_sent_by_the_client_is_replaced_data_2_4_8(api):
    sent = statement(stored="2011-07-15T00:00:00.000Z")
    assert api.put("/xapi/statements", query_string={"statementId": sent["id"]},
                   json=sent).status_code == 204
    stored = api.get_statements(statementId=sent["id"]).json["stored"]
    assert stored != sent["stored"]
    assert not stored.startswith("2011-")


def test_missing_timestamp_is_set_to_stored_data_2_4_7(api):
    sent = statement()
    api.post_statements(sent)
    got = api.get_statements(statementId=sent["id"]).json
    assert got["timestamp"] == got["stored"]


def test_authority_is_populated_data_2_4_9(api):
    sent = statement()
    api.post_statements(sent)
    assert "authority" in api.get_statements(statementId=sent["id"]).json


def test_authority_group_of_two_plain_agents_is_400_data_2_4_9(api):
    authority = {"objectType": "Group", "name": "xAPI Group",
                 "mbox": "mailto:xapigroup@example.com",
                 "member": [{"name": "agentA", "mbox": "mailto:agentA@example.com"},
                            {"name": "agentB", "mbox": "mailto:agentB@example.com"}]}
    assert api.post_statements(statement(authority=authority)).status_code == 400


# --- Communication 2.1 statements ---------------------------------------------------------


def test_consistent_through_on_a_rejected_get_communication_2_1_3(api):
    """"returns X-Experience-API-Consistent-Through regardless of the code returned"."""
    response = api.get("/xapi/statements?LIMIT=1")
    assert response.status_code == 400
    assert response.headers["X-Experience-API-Consistent-Through"]


@pytest.mark.parametrize("name", ["StatementId", "VoidedStatementId", "Verb", "Activity",
                                  "Registration", "Related_Activities", "Related_Agents",
                                  "Since", "Until", "Limit", "Format", "Attachments",
                                  "Ascending", "Agent", "foo"])
def test_parameter_with_differing_case_is_400_communication_3_2(api, name):
    assert api.get("/xapi/statements", query_string={name: "x"}).status_code == 400


def test_put_with_differing_case_statement_id_is_400_communication_3_2(api):
    sent = statement()
    response = api.put("/xapi/statements", query_string={"StatementId": sent["id"]}, json=sent)
    assert response.status_code == 400


@pytest.mark.parametrize("extra", [{"verb": "http://adlnet.gov/expapi/non/existent"},
                                   {"limit": "1"}, {"ascending": "true"},
                                   {"since": "2012-06-01T19:09:13.245Z"}])
def test_voided_statement_id_with_other_parameters_is_400_communication_2_1_3(api, extra):
    target = statement()
    api.post_statements(target)
    api.post_statements(statement(
        verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
        object={"objectType": "StatementRef", "id": target["id"]}))
    assert api.get_statements(voidedStatementId=target["id"]).status_code == 200
    assert api.get_statements(voidedStatementId=target["id"], **extra).status_code == 400
    for allowed in ({"format": "ids"}, {"attachments": "true"}):
        response = api.get_statements(voidedStatementId=target["id"], **allowed)
        assert response.status_code == 200


def test_more_irl_resolves_against_the_request_and_pages_data_2_5(api):
    """Data 2.5: "more" is an IRL the suite resolves against the request URL."""
    api.post_statements([statement(), statement(), statement()])
    first = api.get_statements(limit="1").json
    assert first["more"].startswith("/xapi/statements/more/")
    second = api.get(first["more"])
    assert second.status_code == 200
    assert set(second.json) == {"statements", "more"}
    assert second.json["statements"][0]["id"] != first["statements"][0]["id"]


def test_no_more_results_gives_an_empty_more_data_2_5(api):
    response = api.get_statements(verb="http://adlnet.gov/expapi/non/existent")
    assert response.json == {"statements": [], "more": ""}


def test_multipart_form_data_is_400_communication_1_5(api):
    response = api.post("/xapi/statements", data=json.dumps(statement()),
                        headers={"Content-Type": "multipart/form-data; boundary=xyz"})
    assert response.status_code == 400


def test_multipart_answer_boundary_is_unquoted_after_one_space_communication_1_5_2(api):
    """The suite splits Content-Type on ";" and strips " boundary=" to find the boundary."""
    api.post_statements(statement())
    response = api.get_statements(attachments="true")
    mimetype, boundary = response.headers["Content-Type"].split(";")
    assert mimetype == "multipart/mixed"
    token = boundary.replace(" boundary=", "")
    assert '"' not in token
    assert response.data.startswith(b"--" + token.encode() + b"\r\n")


# --- Communication 2.2 - 2.7 documents, agents, activities --------------------------------


@pytest.mark.parametrize("body", [b"1", b"true"])
def test_state_post_of_any_form_content_is_stored_communication_2_2(api, body):
    """The suite POSTs "1" and "true" with superagent's default form Content-Type."""
    query = {"activityId": "http://www.example.com/a", "agent": json.dumps(AGENT),
             "stateId": str(uuid.uuid4())}
    response = api.post("/xapi/activities/state", query_string=query, data=body,
                        headers={"Content-Type": FORM})
    assert response.status_code == 204
    assert api.get("/xapi/activities/state", query_string=query).data == body


@pytest.mark.parametrize("path", ["/xapi/activities/state", "/xapi/agents/profile"])
def test_broken_agent_parameter_encoding_is_400_communication_2_3(api, path):
    """XAPI-00235 / XAPI-00284: the agent JSON's first ':' encoded as '"'."""
    agent = json.dumps(AGENT).replace(":", '"', 1)
    query = {"activityId": "http://www.example.com/a", "stateId": "s", "profileId": "p",
             "agent": agent}
    response = api.post(path, query_string=query, json={"a": 1})
    assert response.status_code == 400


def test_agents_person_lists_every_identifier_as_arrays_communication_2_4(api):
    actors = [{"mbox": "mailto:person@example.com", "name": "P"},
              {"mbox_sha1sum": "cd9b00a5611f94eaa7b1661edab976068e364975"},
              {"openid": "http://openid.example.com/person"}, {"account": AGENT["account"]}]
    for actor in actors:
        api.post_statements(statement(actor=actor))
        person = api.get("/xapi/agents", query_string={"agent": json.dumps(actor)}).json
        assert person["objectType"] == "Person"
        ifi = next(key for key in actor if key != "name")
        assert actor[ifi] in person[ifi]  # with the pseudonym's account when pseudonymizing
        assert all(type(person[key]) is list for key in person if key != "objectType")


def test_agents_parameter_without_identifier_is_400_communication_2_4(api):
    response = api.get("/xapi/agents",
                       query_string={"agent": json.dumps({"name": "Rick James",
                                                          "objectType": "Agent"})})
    assert response.status_code == 400


def test_activity_definitions_of_one_batch_are_merged_communication_2_5(api):
    """XAPI-00254: two statements of one POST, one language each, both returned."""
    activity = {"objectType": "Activity", "id": "http://www.example.com/verify/complete/1",
                "definition": {"name": {"en-US": "example meeting"}}}
    other = {**activity, "definition": {"name": {"fr-FR": "réunion"}}}
    api.post_statements([statement(object=activity), statement(object=other)])
    found = api.get("/xapi/activities", query_string={"activityId": activity["id"]}).json
    assert found["definition"]["name"] == {"en-US": "example meeting", "fr-FR": "réunion"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("DELETE", "/xapi/statements"), ("DELETE", "/xapi/activities"),
     ("POST", "/xapi/activities"), ("PUT", "/xapi/activities"), ("DELETE", "/xapi/agents"),
     ("POST", "/xapi/agents"), ("PUT", "/xapi/agents"), ("POST", "/xapi/about")],
)
def test_methods_outside_the_spec_are_405_even_without_credentials_communication_3_2(
    api, method, path
):
    response = api.request(method, path, auth=False, version=False,
                           headers={"X-Experience-API-Version": "1.0.1"})
    assert response.status_code == 405
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


# --- Communication 3.3 / 4.0 --------------------------------------------------------------


@pytest.mark.parametrize("path", ["/xapi/statements", "/xapi/activities",
                                  "/xapi/activities/profile", "/xapi/activities/state",
                                  "/xapi/agents", "/xapi/agents/profile"])
def test_missing_version_header_is_400_with_1_0_3_everywhere_but_about_communication_3_3(
    api, path
):
    response = api.get(path, version=False)
    assert response.status_code == 400
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


def test_bad_credentials_and_bad_version_together_are_400_or_401_communication_4_0(api):
    bad = {"Authorization": "Basic Zm9vOmJhcg=="}
    assert api.get("/xapi/statements", auth=bad).status_code == 401
    response = api.get("/xapi/statements", auth=bad, version=False,
                       headers={"X-Experience-API-Version": "BAD"})
    assert response.status_code in (400, 401)


# --- the last 1.0.3 gaps (issue 16) -------------------------------------------------------

VOIDED = {"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided"}}
V2 = {"X-Experience-API-Version": "2.0.0"}


@pytest.mark.parametrize("target", [
    {"objectType": "Activity", "id": "http://www.example.com/a"},
    {"id": "http://www.example.com/a"},
    {"objectType": "Agent", "mbox": "mailto:a@example.com"},
    {"objectType": "SubStatement", "actor": AGENT, "verb": VOIDED,
     "object": {"objectType": "StatementRef", "id": str(uuid.uuid4())}},
])
@pytest.mark.parametrize("headers", [VERSION, V2], ids=["1.0.3", "2.0.0"])
def test_voiding_statement_object_must_be_a_statement_ref_data_2_3_2(api, target, headers):
    sent = statement(verb=VOIDED, object=target)
    response = api.post_statements(sent, version=False, headers=headers)
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {
        "object.objectType": ["must be StatementRef: the verb voids a statement (Data 2.3.2)"]
    }
    assert api.get_statements(statementId=sent["id"]).status_code == 404


def test_a_substatement_with_the_voided_verb_voids_nothing_data_2_3_2(api):
    """The rule is a voiding statement's: a SubStatement is not issued, so voids nothing."""
    sub = {"objectType": "SubStatement", "actor": AGENT, "verb": VOIDED,
           "object": {"objectType": "Activity", "id": "http://www.example.com/a"}}
    assert api.post_statements(statement(object=sub)).status_code == 200


@pytest.mark.parametrize("ifi", [
    {"mbox": "mailto:group@example.com"},
    {"account": {"homePage": "http://www.example.com", "name": "group"}},
])
def test_authority_group_with_its_own_identifier_is_400_data_2_4_9(api, ifi):
    """Data 2.4.9: a 3-legged OAuth authority is the pair of Agents, an anonymous Group."""
    members = [AGENT, {"mbox": "mailto:user@example.com"}]
    sent = statement(authority={"objectType": "Group", **ifi, "member": members})
    response = api.post_statements(sent)
    assert response.status_code == 400
    assert list(response.json["error"]["fields"]) == [f"authority.{next(iter(ifi))}"]


def test_anonymous_authority_group_of_consumer_and_user_is_accepted_data_2_4_9(api):
    members = [AGENT, {"mbox": "mailto:user@example.com"}]
    sent = statement(authority={"objectType": "Group", "member": members})
    assert api.post_statements(sent).status_code == 200


def test_format_ids_activities_carry_only_their_id_communication_2_1_3(api):
    definition = {"name": {"en-US": "A"}, "type": "http://adlnet.gov/expapi/activities/course"}
    sub = {"objectType": "SubStatement", "actor": AGENT,
           "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
           "object": {"objectType": "Activity", "id": "http://www.example.com/sub",
                      "definition": definition},
           "context": {"contextActivities": {"parent": {"id": "http://www.example.com/p"}}}}
    sent = statement(object=sub, context={"contextActivities": {
        "category": [{"objectType": "Activity", "id": "http://www.example.com/c",
                      "definition": definition}]}})
    api.post_statements(sent)
    got = api.get_statements(statementId=sent["id"], format="ids").json
    assert got["object"]["object"] == {"id": "http://www.example.com/sub"}
    assert got["object"]["context"]["contextActivities"] == {
        "parent": [{"id": "http://www.example.com/p"}]}
    assert got["context"]["contextActivities"] == {"category": [{"id": "http://www.example.com/c"}]}


@pytest.mark.parametrize(("name", "value"), [
    ("related_activities", "True"), ("related_agents", "TRUE"), ("ascending", "False"),
    ("attachments", "fAlSe"), ("since", "2012-06-01 19:09:13.245+00:00"),
    ("until", "2999-06-01 19:09:13"),
])
def test_booleans_in_any_case_and_a_space_in_timestamps_are_accepted_communication_2_1_3(
    api, name, value
):
    """`tincan` sends Python's `True` and `str(datetime)`; Communication 2.1.3 booleans are
    "true or false as in JSON", RFC 3339 5.6 allows the space."""
    sent = statement()
    api.post_statements(sent)
    params = {name: value}
    if name.startswith("related_"):
        params["agent" if name == "related_agents" else "activity"] = (
            json.dumps(sent["actor"]) if name == "related_agents" else sent["object"]["id"])
    response = api.get_statements(**params)
    assert response.status_code == 200, response.json
    assert [s["id"] for s in response.json["statements"]] == [sent["id"]]


@pytest.mark.parametrize(("name", "value"), [
    ("related_activities", "yes"), ("ascending", "1"), ("attachments", " true"),
    ("since", "2012-06-01  19:09:13Z"), ("until", "2012-06-01_19:09:13Z"),
])
def test_other_malformed_values_stay_400_communication_2_1_3(api, name, value):
    response = api.get_statements(**{name: value})
    assert response.status_code == 400
    assert list(response.json["error"]["fields"]) == [name]


@pytest.mark.parametrize("path", ["/xapi/activities/state", "/xapi/activities/profile",
                                  "/xapi/agents/profile"])
def test_document_since_takes_a_space_in_the_timestamp_communication_2_3(api, path):
    query = {"activityId": "http://www.example.com/a", "agent": json.dumps(AGENT)}
    if path == "/xapi/activities/profile":
        del query["agent"]
    if path == "/xapi/agents/profile":
        del query["activityId"]
    doc_id = "stateId" if path.endswith("state") else "profileId"
    api.post(path, query_string={**query, doc_id: "d1"}, json={"a": 1})
    response = api.get(path, query_string={**query, "since": "2012-06-01 19:09:13"})
    assert response.status_code == 200
    assert response.json == ["d1"]
    bad = api.get(path, query_string={**query, "since": "2012-06-01  19:09:13"})
    assert bad.status_code == 400

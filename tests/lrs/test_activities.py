"""The Activities resource (Communication 2.5) and `format=canonical` (Communication 2.1.3) over
HTTP, on every storage backend: canonical definitions come from writers with the `define` or
`all` scope (Communication 4.2)."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from lrs_testing import Api, add_credential, statement

from lrs import create_app
from lrs.extension import EXTENSION

COURSE = "http://example.com/activities/course"
MODULE = "http://example.com/activities/module"
KEPT = "http://example.com/ext/kept"
DROPPED = "http://example.com/ext/dropped"


def client(app: Flask, scopes: list[str], tenant: str = "default") -> Api:
    return Api(app.test_client(), add_credential(app, scopes, tenant)[0])


@pytest.fixture
def definer(app: Flask) -> Api:
    return client(app, ["statements/write", "define"])


@pytest.fixture
def plain_writer(app: Flask) -> Api:
    return client(app, ["statements/write"])


def activity(activity_id: str = COURSE, **definition: object) -> dict:
    found = {"objectType": "Activity", "id": activity_id}
    if definition:
        found["definition"] = definition
    return found


def get_activity(api: Api, activity_id: str = COURSE):
    return api.get("/xapi/activities", query_string={"activityId": activity_id})


def post(api: Api, *statements: dict) -> None:
    response = api.post_statements(list(statements))
    assert response.status_code == 200, response.json


# --- GET /activities (Communication 2.5) -----------------------------------------------------


def test_unknown_activity_still_returns_an_activity_object(api):
    """Communication 2.5: "SHOULD* still return an Activity Object" (2.0 tests it)."""
    response = get_activity(api, "http://example.com/never-seen")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.json == {"objectType": "Activity", "id": "http://example.com/never-seen"}


def test_definition_from_a_define_writer_is_returned(api, definer):
    post(definer, statement(object=activity(name={"en-US": "Course"},
                                            type="http://adlnet.gov/expapi/activities/course")))
    response = get_activity(api)
    assert response.status_code == 200
    assert response.json == activity(
        name={"en-US": "Course"}, type="http://adlnet.gov/expapi/activities/course"
    )


def test_all_scope_defines_too(api):
    post(api, statement(object=activity(name={"en": "By all"})))
    assert get_activity(api).json == activity(name={"en": "By all"})


def test_without_define_the_id_is_known_but_the_definition_unchanged(api, definer,
                                                                     plain_writer):
    """Communication 4.2 `define`: without it "ids will be saved" but the LRS "SHOULD NOT
    update its canonical representation"."""
    post(plain_writer, statement(object=activity(name={"en": "Rogue"})))
    assert get_activity(api).json == activity()
    post(definer, statement(object=activity(name={"en": "Canon"})))
    post(plain_writer, statement(object=activity(name={"en": "Rogue again", "fr": "Voyou"})))
    assert get_activity(api).json == activity(name={"en": "Canon"})


def test_definitions_merge_newer_wins_per_language_and_extension(api, definer):
    """Data 2.4.4.1: the LRS updates its stored definition from a writer it trusts."""
    post(definer, statement(object=activity(
        name={"en-US": "Course", "fr": "Cours"}, extensions={KEPT: 1, DROPPED: 2},
        moreInfo="http://example.com/old",
    )))
    post(definer, statement(object=activity(
        name={"en-US": "The course", "de": "Kurs"}, extensions={KEPT: 3},
        moreInfo="http://example.com/new",
    )))
    assert get_activity(api).json["definition"] == {
        "name": {"en-US": "The course", "fr": "Cours", "de": "Kurs"},
        "extensions": {KEPT: 3, DROPPED: 2},
        "moreInfo": "http://example.com/new",
    }


def test_context_activities_are_defined_and_known(api, definer):
    post(definer, statement(context={"contextActivities": {
        "parent": [activity(MODULE, name={"en": "Module"})],
        "grouping": [{"id": "http://example.com/programme"}],
    }}))
    assert get_activity(api, MODULE).json == activity(MODULE, name={"en": "Module"})
    assert get_activity(api, "http://example.com/programme").json == activity(
        "http://example.com/programme"
    )


def test_rejected_batch_defines_nothing(api, definer):
    """All or nothing (Communication 2.1.2): an invalid statement in the batch leaves the
    definitions of the valid ones unstored."""
    good = statement(object=activity(name={"en": "Good"}))
    bad = statement(verb={"id": "not an iri"})
    assert definer.post_statements([good, bad]).status_code == 400
    assert get_activity(api).json == activity()


def test_head_answers_like_get_without_a_body(api, definer):
    post(definer, statement(object=activity(name={"en": "Course"})))
    response = api.head("/xapi/activities", query_string={"activityId": COURSE})
    assert response.status_code == 200
    assert response.data == b""
    assert int(response.headers["Content-Length"]) == len(get_activity(api).data)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"activityId": ""},
        {"activityId": "not an iri"},
        {"activityId": "course"},
        {"activityId": COURSE, "agent": '{"mbox": "mailto:a@example.com"}'},
        {"activityid": COURSE},
    ],
    ids=["missing", "empty", "spaces", "relative", "extra-parameter", "wrong-case"],
)
def test_bad_parameters_are_400(api, query):
    """Communication 2.5: activityId (an IRI) is required; Communication 3.2: unknown
    parameters are rejected."""
    response = api.get("/xapi/activities", query_string=query)
    assert response.status_code == 400
    assert response.json["error"]["code"]


def test_repeated_parameter_is_400(api):
    response = api.get(f"/xapi/activities?activityId={COURSE}&activityId={MODULE}")
    assert response.status_code == 400


def test_version_header_is_required(api):
    assert get_activity(api).status_code == 200
    response = api.get("/xapi/activities", query_string={"activityId": COURSE}, version=False)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "scopes",
    [["statements/read"], ["statements/read/mine"], ["all/read"], ["all"], ["define"],
     ["state"], ["profile"]],
)
def test_read_scopes_may_read(app, scopes):
    assert get_activity(client(app, scopes)).status_code == 200


@pytest.mark.parametrize("scopes", [["statements/write"], ["reidentify"], ["admin"]])
def test_other_scopes_are_forbidden(app, scopes):
    assert get_activity(client(app, scopes)).status_code == 403


def test_authentication_is_required(api):
    response = api.get("/xapi/activities", query_string={"activityId": COURSE}, auth=False)
    assert response.status_code == 401


def test_tenants_do_not_share_definitions(app, definer):
    post(definer, statement(object=activity(name={"en": "Tenant A"})))
    other_writer = client(app, ["all"], tenant="tenant-b")
    other_reader = client(app, ["all/read"], tenant="tenant-b")
    assert get_activity(other_reader).json == activity()
    post(other_writer, statement(object=activity(name={"en": "Tenant B"})))
    assert get_activity(other_reader).json == activity(name={"en": "Tenant B"})
    assert get_activity(client(app, ["all/read"])).json == activity(name={"en": "Tenant A"})


def test_masked_extensions_never_reach_the_definition(app_config, monkeypatch):
    """The masking policy applies before storage, to canonical definitions too."""
    monkeypatch.delenv("LRS_CONFIG_FILE", raising=False)
    app = create_app({**app_config, "mask_allowed_extensions": [KEPT]})
    try:
        writer = client(app, ["all"])
        post(writer, statement(object=activity(extensions={KEPT: 1, DROPPED: "secret"})))
        assert get_activity(writer).json == activity(extensions={KEPT: 1})
    finally:
        app.extensions[EXTENSION].close()


# --- format=canonical (Communication 2.1.3) --------------------------------------------------


def canonical(api: Api, languages: str | None = None, **params: str):
    headers = {"Accept-Language": languages} if languages else {}
    response = api.get("/xapi/statements", query_string={"format": "canonical", **params},
                       headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def test_canonical_format_returns_the_canonical_definition_filtered(api, definer):
    """Communication 2.1.3: Activity Objects "populated with the canonical definition ...
    after applying the language filtering process", one language per map."""
    old = statement(object=activity(name={"en-US": "Old name"}))
    post(definer, old)
    post(definer, statement(object=activity(name={"en-US": "New name", "fr": "Nouveau"},
                                            description={"en-US": "About"})))
    got = canonical(api, "fr, en;q=0.5", statementId=old["id"])
    assert got["object"] == activity(name={"fr": "Nouveau"}, description={"en-US": "About"})
    got = canonical(api, "en-US", statementId=old["id"])
    assert got["object"]["definition"]["name"] == {"en-US": "New name"}
    # `exact` keeps what was sent (Data 2.3.1 immutability).
    exact = api.get_statements(statementId=old["id"]).json
    assert exact["object"] == activity(name={"en-US": "Old name"})


def test_canonical_format_fills_in_definitions_everywhere(api, definer):
    """Object, context activities and a SubStatement's activities alike; the agents stay as
    in `exact`."""
    post(definer,
         statement(object=activity(COURSE, name={"en": "Course", "de": "Kurs"})),
         statement(object=activity(MODULE, name={"en": "Module", "de": "Modul"})))
    bare = statement(
        object={
            "objectType": "SubStatement",
            "actor": {"objectType": "Agent", "mbox": "mailto:sub@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
            "object": {"objectType": "Activity", "id": MODULE},
        },
        context={"contextActivities": {"parent": [{"id": COURSE}]}},
    )
    post(definer, bare)
    got = canonical(api, "de", statementId=bare["id"])
    assert got["object"]["object"] == activity(MODULE, name={"de": "Modul"})
    assert got["context"]["contextActivities"]["parent"] == [
        {"id": COURSE, "definition": {"name": {"de": "Kurs"}}}
    ]
    exact = api.get_statements(statementId=bare["id"]).json
    assert got["actor"] == exact["actor"]
    assert got["object"]["actor"] == exact["object"]["actor"]


def test_canonical_format_keeps_a_definition_the_lrs_does_not_hold(api, plain_writer):
    """An Activity without a canonical definition (sent without `define`) keeps its own,
    language-filtered."""
    sent = statement(object=activity(name={"en": "Own", "fr": "Propre"}))
    post(plain_writer, sent)
    assert canonical(api, "fr", statementId=sent["id"])["object"] == activity(
        name={"fr": "Propre"}
    )


def test_canonical_format_on_a_statement_list(api, definer):
    first = statement(object=activity(name={"en": "One"}))
    second = statement(object=activity(MODULE))
    post(definer, first, second)
    post(definer, statement(object=activity(MODULE, name={"en": "Module", "fr": "Module FR"})))
    listed = canonical(api, "fr", activity=MODULE)["statements"]
    assert len(listed) == 2
    assert all(s["object"] == activity(MODULE, name={"fr": "Module FR"}) for s in listed)
    listed = canonical(api, activity=COURSE)["statements"]
    assert [s["object"] for s in listed] == [activity(name={"en": "One"})]


def test_canonical_format_reads_its_own_tenant(app, definer):
    sent = statement(object=activity(name={"en": "Tenant B own"}))
    other = client(app, ["all"], tenant="tenant-b")
    post(other, sent)
    post(definer, statement(object=activity(name={"en": "Tenant A canon"})))
    got = canonical(other, statementId=sent["id"])
    assert got["object"] == activity(name={"en": "Tenant B own"})


def test_statement_id_is_unchanged_by_canonical_rendering(api, definer):
    sent = statement(object=activity(name={"en": "x"}))
    post(definer, sent)
    assert canonical(api, statementId=sent["id"])["id"] == sent["id"]
    assert uuid.UUID(sent["id"])

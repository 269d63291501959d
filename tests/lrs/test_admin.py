"""The admin API (`/admin/`), the audit log and the transparency page, on every backend."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from lrs_testing import Api, add_credential, statement

from lrs.extension import EXTENSION
from tests.privacy.scan import find_identifiers

REGION = "http://example.org/ext/region"
LEARNER = {"objectType": "Agent", "mbox": "mailto:child.4f1c@example.org", "name": "Child"}
ACTIVITY = "http://example.com/activities/course"


class Admin:
    """A JSON client of the admin API with one credential."""

    def __init__(self, app: Flask, scopes: list[str], tenant: str = "default") -> None:
        self.client = app.test_client()
        self.auth, self.key = add_credential(app, scopes, tenant)

    def get(self, path: str, **params):
        return self.client.get(path, query_string=params, headers=self.auth)

    def post(self, path: str, body):
        return self.client.post(path, data=json.dumps(body), headers=self.auth,
                                content_type="application/json")

    def patch(self, path: str, body):
        return self.client.patch(path, data=json.dumps(body), headers=self.auth,
                                 content_type="application/json")


@pytest.fixture
def platform(app: Flask) -> Admin:
    return Admin(app, ["platform"])


@pytest.fixture
def school(app: Flask, platform: Admin) -> str:
    answer = platform.post("/admin/tenants", {
        "name": "school-a", "display_name": "School A",
        "policy": {"dimensions": {"region": REGION}, "k": 5, "retention_days": 365,
                   "erasure_contact": "privacy@school-a.example"},
    })
    assert answer.status_code == 201, answer.json
    return "school-a"


# -- tenants ----------------------------------------------------------------------------------


def test_platform_creates_and_lists_tenants(platform, school):
    listed = platform.get("/admin/tenants").json["tenants"]
    assert {t["name"] for t in listed} >= {"default", "school-a"}
    shown = platform.get("/admin/tenants/school-a").json
    assert shown["display_name"] == "School A"
    assert shown["policy"]["dimensions"] == {"region": REGION}
    assert shown["policy"]["k"] == 5 and shown["revision"] == 1


def test_an_admin_manages_its_own_tenant_only(app, platform, school):
    admin = Admin(app, ["admin"], tenant="school-a")
    assert [t["name"] for t in admin.get("/admin/tenants").json["tenants"]] == ["school-a"]
    changed = admin.patch("/admin/tenants/school-a", {"policy": {"k": 12}})
    assert changed.status_code == 200 and changed.json["policy"]["k"] == 12
    assert admin.get("/admin/tenants/default").status_code == 403
    assert admin.patch("/admin/tenants/default", {"policy": {"k": 12}}).status_code == 403
    assert admin.post("/admin/tenants", {"name": "mine"}).status_code == 403
    other = Admin(app, ["admin"])  # default tenant's admin
    assert other.get("/admin/tenants/school-a").status_code == 403
    assert other.get("/admin/audit", tenant="school-a").status_code == 403


@pytest.mark.parametrize("scopes", [["all"], ["reidentify"], ["all", "reidentify", "erase"]])
def test_other_scopes_open_no_admin_endpoint(app, scopes):
    client = Admin(app, scopes)
    for path in ("/admin/tenants", "/admin/tenants/default", "/admin/audit",
                 "/admin/audit/verify"):
        assert client.get(path).status_code == 403
    assert client.client.get("/admin/tenants").status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "school-b", "policy": {"k": 1}}, "policy.k"),
        ({"name": "school-b", "policy": {"dimensions": {"region": "nope"}}}, "policy.dimensions"),
        ({"name": "School B"}, "name"),
        ({"name": "school-b", "colour": "red"}, "colour"),
        ({}, "name"),
    ],
)
def test_invalid_requests_are_400_and_change_nothing(platform, body, field):
    answer = platform.post("/admin/tenants", body)
    assert answer.status_code == 400
    assert field in answer.json["error"]["fields"]
    assert "school-b" not in {t["name"] for t in platform.get("/admin/tenants").json["tenants"]}


def test_an_existing_name_is_a_conflict(platform, school):
    assert platform.post("/admin/tenants", {"name": "school-a"}).status_code == 409


def test_admin_requests_need_no_xapi_version_header(platform):
    answer = platform.get("/admin/tenants")
    assert answer.status_code == 200
    assert "X-Experience-API-Version" not in answer.headers
    assert len(answer.headers["X-Request-Id"]) == 32


# -- the audit log ------------------------------------------------------------------------


def entries(admin: Admin, **params) -> list[dict]:
    answer = admin.get("/admin/audit", **params)
    assert answer.status_code == 200, answer.json
    return answer.json["entries"]


def test_reads_of_personal_data_are_audited_without_identifiers(app, api):
    admin = Admin(app, ["admin"])
    api.post_statements([statement(actor=LEARNER), statement(actor=LEARNER)])
    agent = json.dumps(LEARNER)
    read = api.get_statements(agent=agent, limit=1)
    assert read.status_code == 200
    api.get("/xapi/activities/state", query_string={
        "activityId": ACTIVITY, "agent": agent, "stateId": "s"})
    api.get("/xapi/agents", query_string={"agent": agent})
    log = entries(admin)
    actions = [e["action"] for e in log]
    assert actions == ["statements.read", "statements.reidentify", "documents.read",
                       "agents.read", "agents.reidentify"]
    first = log[0]
    assert first["credential"] == api_key(app, api)
    assert first["count"] == 1 and first["resource"] == "statements"
    assert first["request_id"] == read.headers["X-Request-Id"]
    assert json.loads(first["filters"]["agent"])["account"]["homePage"].startswith(
        "https://lrs.invalid/pseudonym/")
    assert first["filters"]["limit"] == "1"
    assert log[2]["count"] == 0  # the document does not exist: the attempt is still recorded
    raw = json.dumps(log)
    assert find_identifiers(raw, [LEARNER["mbox"][len("mailto:"):], "Child"]) == []


def api_key(app: Flask, api: Api) -> str:
    import base64

    token = api.auth["Authorization"].split()[1]
    return base64.b64decode(token).decode().split(":")[0]


def test_statement_writes_are_not_audited_one_by_one(app, api):
    admin = Admin(app, ["admin"])
    api.post_statements([statement() for _ in range(20)])
    assert [e for e in entries(admin) if e["action"].startswith("statements")] == []


def test_the_audit_log_pages_by_seq_and_filters(app, api):
    admin = Admin(app, ["admin"])
    for _ in range(5):
        api.get_statements(limit=1)
    page = admin.get("/admin/audit", limit=2).json
    assert [e["seq"] for e in page["entries"]] == [1, 2]
    following = admin.client.get(page["more"], headers=admin.auth).json
    assert [e["seq"] for e in following["entries"]] == [3, 4]
    only = entries(admin, action="audit.read")
    assert {e["action"] for e in only} == {"audit.read"}
    assert admin.get("/admin/audit", since="yesterday").status_code == 400
    assert admin.get("/admin/audit", limit="-1").status_code == 400


def test_tenant_changes_are_audited_in_the_tenants_log(app, platform, school):
    platform.patch("/admin/tenants/school-a", {"policy": {"k": 9}})
    log = entries(platform, tenant="school-a")
    assert [e["action"] for e in log][:2] == ["tenant.create", "tenant.update"]
    assert log[1]["filters"]["policy"] == {"k": 9}
    assert log[1]["credential"] == platform.key


def test_the_chain_verifies_and_an_edited_entry_is_reported(app, api, storage_uri):
    admin = Admin(app, ["admin"])
    for _ in range(3):
        api.get_statements(limit=1)
    verified = admin.get("/admin/audit/verify").json
    assert verified["broken"] is None and verified["checked"] == 3
    edit_audit_entry(storage_uri, "default", 2)
    broken = admin.get("/admin/audit/verify").json["broken"]
    assert broken["seq"] == 2 and "edited" in broken["reason"]


def edit_audit_entry(storage_uri: str, tenant: str, seq: int) -> None:
    """Change one entry's count behind the LRS's back, as someone with write access might."""
    if storage_uri.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(storage_uri[len("sqlite:///"):]) as conn:
            conn.execute("UPDATE audit SET count = count + 1 WHERE tenant = ? AND seq = ?",
                         (tenant, seq))
    else:
        from pymongo import MongoClient

        client = MongoClient(storage_uri)
        client.get_default_database()["audit"].update_one(
            {"t": tenant, "seq": seq}, {"$inc": {"count": 1}})
        client.close()


# -- the transparency page ----------------------------------------------------------------


def test_the_transparency_page_follows_the_live_policy(app, platform, school):
    client = app.test_client()
    page = client.get("/privacy/school-a", headers={"Accept": "application/json"})
    assert page.status_code == 200
    facts = page.json
    assert facts["dimensions"] == {"region": REGION}
    assert facts["retention_days"] == 365
    assert facts["pseudonymization"]["on"] is True
    assert facts["erasure"]["contact"] == "privacy@school-a.example"
    assert facts["partners"] == []
    assert facts["reidentification"]["credentials"] == []
    html = client.get("/privacy/school-a").get_data(as_text=True)
    assert "365 days" in html and "region" in html and "privacy@school-a.example" in html
    platform.patch("/admin/tenants/school-a",
                   {"policy": {"retention_days": None, "allowed_extensions": [REGION]}})
    changed = client.get("/privacy/school-a", headers={"Accept": "application/json"}).json
    assert changed["retention_days"] is None
    assert changed["statements"]["extensions"] == [REGION]
    assert "no fixed retention period" in client.get("/privacy/school-a").get_data(as_text=True)


def test_the_page_names_who_can_reidentify_and_escapes_text(app, platform, school):
    from lrs.service.credentials import new_credential

    credential, _ = new_credential(["all/read", "reidentify"], home_page="https://lrs.test",
                                   name="<b>Ministry</b> analyst", tenant="school-a")
    app.extensions[EXTENSION].store.put_credential(credential)
    facts = app.test_client().get(
        "/privacy/school-a", headers={"Accept": "application/json"}).json
    assert facts["reidentification"]["credentials"] == ["<b>Ministry</b> analyst"]
    html = app.test_client().get("/privacy/school-a").get_data(as_text=True)
    assert "&lt;b&gt;Ministry&lt;/b&gt; analyst" in html and "<b>Ministry" not in html


def test_an_unknown_tenant_has_no_page(app):
    answer = app.test_client().get("/privacy/nobody")
    assert answer.status_code == 404
    assert answer.json["error"]["code"] == "not_found"


# -- credentials ------------------------------------------------------------------------


def test_an_admin_creates_lists_and_revokes_credentials_of_its_tenant(app, platform, school):
    admin = Admin(app, ["admin", "all", "reports"], tenant="school-a")
    made = admin.post("/admin/credentials", {"scopes": ["statements/write", "reports"],
                                             "name": "tablets"})
    assert made.status_code == 201, made.json
    key, secret = made.json["key"], made.json["secret"]
    assert made.json["tenant"] == "school-a" and "secret_hash" not in made.json
    client = app.test_client()
    from lrs_testing import VERSION, basic

    headers = {**VERSION, **basic(key, secret)}
    posted = client.post("/xapi/statements", json=statement(), headers=headers)
    assert posted.status_code == 200
    listed = admin.get("/admin/credentials").json["credentials"]
    assert key in {c["key"] for c in listed}
    assert all(c["tenant"] == "school-a" and "secret" not in json.dumps(c) for c in listed)
    revoked = client.post(f"/admin/credentials/{key}/revoke", headers=admin.auth)
    assert revoked.status_code == 200 and revoked.json["revoked"] is True
    again = client.post("/xapi/statements", json=statement(), headers=headers)
    assert again.status_code == 401
    actions = [e["action"] for e in entries(admin) if e["action"].startswith("credential")]
    assert actions == ["credential.create", "credential.revoke"]
    assert secret not in json.dumps(entries(admin))


def test_nobody_grants_a_scope_they_do_not_hold(app, school):
    admin = Admin(app, ["admin", "statements/read"], tenant="school-a")
    for scopes in (["reidentify"], ["all"], ["platform"], ["statements/write"]):
        refused = admin.post("/admin/credentials", {"scopes": scopes})
        assert refused.status_code == 400, scopes
        assert refused.json["error"]["code"] == "scope_not_held"
    assert admin.post("/admin/credentials", {"scopes": ["statements/read/mine"]}).status_code == 201
    assert admin.post("/admin/credentials", {"scopes": ["nope"]}).status_code == 400
    assert admin.post("/admin/credentials", {"scopes": []}).status_code == 400


def test_credentials_of_another_tenant_are_out_of_reach(app, platform, school):
    theirs = Admin(app, ["admin"], tenant="school-a")
    ours = Admin(app, ["admin"])
    their_key = theirs.post("/admin/credentials", {"scopes": ["admin"]}).json["key"]
    assert ours.client.post(f"/admin/credentials/{their_key}/revoke",
                            headers=ours.auth).status_code == 404
    assert ours.get("/admin/credentials", tenant="school-a").status_code == 404
    assert their_key not in {c["key"] for c in ours.get("/admin/credentials").json["credentials"]}
    assert ours.post("/admin/credentials", {"scopes": ["admin"], "tenant": "school-a"}
                     ).status_code == 404
    made = platform.post("/admin/credentials", {"scopes": ["platform"], "tenant": "school-a"})
    assert made.status_code == 201 and made.json["tenant"] == "school-a"

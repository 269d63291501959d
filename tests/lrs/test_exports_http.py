"""Agreements through the admin API, exports through `/exports/`, and the transparency page,
on every backend: plain HTTP (no xAPI version header), the service's one error shape, a 400
naming the field for every bad term (and nothing stored), and an export credential that
can do nothing but its agreement's export."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from lrs_testing import VERSION, Api, add_credential, basic, statement

from lrs.extension import EXTENSION
from tests.privacy.scan import find_identifiers

REGION = "http://example.org/ext/region"
LEARNER = {"objectType": "Agent", "mbox": "mailto:child.77b1@example.org", "name": "Child Q"}


def iso(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


TERMS = {
    "partner": "Ministry of Education", "purpose": "Monitoring <literacy> programmes",
    "fields": ["actor", "verb.id", "object.id", "timestamp"], "dimensions": ["region"],
    "starts": iso(-1), "expires": iso(30), "learner_ids": True,
}


class Admin:
    def __init__(self, app: Flask, scopes: list[str], tenant: str = "default") -> None:
        self.client = app.test_client()
        self.auth = add_credential(app, scopes, tenant)[0]

    def get(self, path: str, **params):
        return self.client.get(path, query_string=params, headers=self.auth)

    def post(self, path: str, body=None, **params):
        return self.client.post(path, query_string=params, data=json.dumps(body or {}),
                                headers=self.auth, content_type="application/json")

    def patch(self, path: str, body):
        return self.client.patch(path, data=json.dumps(body), headers=self.auth,
                                 content_type="application/json")


@pytest.fixture
def admin(app: Flask, api: Api) -> Admin:
    platform = Admin(app, ["platform"])
    policy = {"dimensions": {"region": REGION}, "k": 2}
    assert platform.patch("/admin/tenants/default", {"policy": policy}).status_code == 200
    assert platform.post("/admin/tenants", {"name": "other"}).status_code == 201
    for n, region in enumerate(["north", "north", "south"]):
        learner = {**LEARNER, "mbox": f"mailto:child{n}.77b1@example.org"}
        assert api.post_statements(statement(
            actor=learner, context={"extensions": {REGION: region}})).status_code == 200
    return Admin(app, ["admin"])


def export_credential(admin: Admin, agreement_id: str) -> dict[str, str]:
    made = admin.post("/admin/credentials", {"scopes": ["export"], "agreement": agreement_id})
    assert made.status_code == 201, made.json
    assert made.json["agreement"] == agreement_id
    return basic(made.json["key"], made.json["secret"])


def test_an_agreement_is_made_read_listed_and_revoked(app, admin):
    made = admin.post("/admin/agreements", TERMS)
    assert made.status_code == 201, made.json
    agreement = made.json
    assert agreement["status"] == "active" and agreement["dimensions"] == ["region"]
    assert agreement["fields"] == [*TERMS["fields"], f"context.extensions.{REGION}"]
    assert admin.get(f"/admin/agreements/{agreement['id']}").json == agreement
    assert [a["id"] for a in admin.get("/admin/agreements").json["agreements"]] == [
        agreement["id"]]
    revoked = admin.post(f"/admin/agreements/{agreement['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json["status"] == "revoked"
    log = admin.get("/admin/audit", action="agreement.create").json["entries"]
    assert log[0]["filters"]["id"] == agreement["id"]
    assert admin.get("/admin/agreements/nope").status_code == 404
    other = Admin(app, ["admin"], tenant="other")
    assert other.get(f"/admin/agreements/{agreement['id']}").status_code == 404
    assert other.get("/admin/agreements", tenant="default").status_code == 404
    assert Admin(app, ["all"]).post("/admin/agreements", TERMS).status_code == 403
    theirs = {**TERMS, "dimensions": [], "tenant": "other"}
    assert admin.post("/admin/agreements", theirs).status_code == 404  # not admin's tenant
    made_there = Admin(app, ["platform"]).post("/admin/agreements", theirs)
    assert made_there.status_code == 201 and made_there.json["tenant"] == "other"
    assert [a["id"] for a in other.get("/admin/agreements").json["agreements"]] == [
        made_there.json["id"]]


@pytest.mark.parametrize("change, field", [
    ({"partner": ""}, "partner"),
    ({"partner": 7}, "partner"),
    ({"purpose": None}, "purpose"),
    ({"fields": []}, "fields"),
    ({"fields": "verb.id"}, "fields"),
    ({"fields": ["result.response"]}, "fields"),
    ({"fields": ["actor.name"]}, "fields"),
    ({"fields": ["context.extensions.http://example.org/ext/home"]}, "fields"),
    ({"fields": ["actor"], "learner_ids": False}, "fields"),
    ({"dimensions": ["gender"]}, "dimensions"),
    ({"dimensions": "region"}, "dimensions"),
    ({"learner_ids": "yes"}, "learner_ids"),
    ({"starts": "tomorrow"}, "starts"),
    ({"expires": iso(-2)}, "expires"),
    ({"since": iso(-1), "until": iso(-2)}, "until"),
    ({"audience": "everyone"}, "audience"),
])
def test_every_bad_term_is_a_400_naming_its_field_and_nothing_is_stored(admin, change, field):
    answer = admin.post("/admin/agreements", {**TERMS, **change})
    assert answer.status_code == 400, answer.json
    assert field in answer.json["error"]["fields"]
    assert admin.get("/admin/agreements").json["agreements"] == []


def test_an_export_streams_ndjson_or_csv_with_a_receipt(app, admin):
    agreement = admin.post("/admin/agreements", TERMS).json
    auth = export_credential(admin, agreement["id"])
    client = app.test_client()
    answer = client.get(f"/exports/{agreement['id']}", headers=auth)  # no version header
    assert answer.status_code == 200, answer.json
    assert answer.mimetype == "application/x-ndjson" and answer.is_streamed
    assert "X-Experience-API-Version" not in answer.headers
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.get_data()
    rows = [json.loads(line) for line in body.splitlines()]
    assert len(rows) == 3
    assert all(set(r) <= {*agreement["fields"], "withheld", "cursor"} for r in rows)
    assert [r.get(f"context.extensions.{REGION}") for r in rows] == ["north", "north", None]
    assert find_identifiers(body, ["child0.77b1", "child1.77b1", "child2.77b1", "Child Q"]) == []
    as_csv = client.get(f"/exports/{agreement['id']}", headers={**auth, "Accept": "text/csv"})
    assert as_csv.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(as_csv.get_data(as_text=True))))
    assert table[0] == [*agreement["fields"], "withheld", "cursor"] and len(table) == 4
    refused = client.get(f"/exports/{agreement['id']}",
                         headers={**auth, "Accept": "application/json"})
    assert refused.status_code == 406 and "Accept" in refused.json["error"]["fields"]
    resumed = client.get(f"/exports/{agreement['id']}", headers=auth,
                         query_string={"cursor": rows[0]["cursor"]})
    assert [json.loads(line)["actor"] for line in resumed.get_data().splitlines()] == [
        r["actor"] for r in rows[1:]]
    receipts = client.get(f"/exports/{agreement['id']}/receipts", headers=auth).json["receipts"]
    assert [r["request_id"] for r in receipts] == [
        answer.headers["X-Request-Id"], as_csv.headers["X-Request-Id"],
        resumed.headers["X-Request-Id"]]
    assert receipts[0]["digest"] == "sha256:" + hashlib.sha256(body).hexdigest()
    assert (receipts[0]["count"], receipts[2]["resumed"]) == (3, True)


def test_an_export_credential_can_do_nothing_else(app, admin):
    agreement = admin.post("/admin/agreements", TERMS).json
    other = admin.post("/admin/agreements", {**TERMS, "partner": "NGO"}).json
    auth = export_credential(admin, agreement["id"])
    client = app.test_client()
    for method, path in (("GET", "/xapi/statements"), ("POST", "/xapi/statements"),
                         ("GET", "/xapi/agents"), ("GET", "/admin/tenants"),
                         ("GET", "/admin/audit"), ("GET", "/admin/agreements")):
        answer = client.open(path, method=method, headers={**VERSION, **auth})
        assert answer.status_code == 403, (method, path)
    assert client.get(f"/exports/{other['id']}", headers=auth).status_code == 404
    assert client.get(f"/exports/{other['id']}/receipts", headers=auth).status_code == 404
    assert Api(client, add_credential(app, ["all"])[0]).get(
        f"/exports/{agreement['id']}").status_code == 403
    bad = client.get(f"/exports/{agreement['id']}", headers=auth,
                     query_string={"cursor": "forged"})
    assert bad.status_code == 400 and bad.json["error"]["fields"] == {
        "cursor": ["cursor is not a cursor of this agreement's export"]}
    unknown = client.get(f"/exports/{agreement['id']}", headers=auth, query_string={"all": 1})
    assert unknown.status_code == 400 and "all" in unknown.json["error"]["fields"]
    for body, field in (({"scopes": ["export", "all"], "agreement": agreement["id"]}, "scopes"),
                        ({"scopes": ["export"]}, "agreement"),
                        ({"scopes": ["export"], "agreement": "nope"}, "agreement"),
                        ({"scopes": ["all"], "agreement": agreement["id"]}, "agreement"),
                        ({"scopes": ["export"], "agreement": 5}, "agreement")):
        refused = Admin(app, ["admin", "all"]).post("/admin/credentials", body)
        assert refused.status_code == 400 and field in refused.json["error"]["fields"], body


def test_exports_are_refused_after_revocation_and_expiry(app, admin):
    agreement = admin.post("/admin/agreements", TERMS).json
    auth = export_credential(admin, agreement["id"])
    client = app.test_client()
    agreements = app.extensions[EXTENSION].service.agreements
    agreements.clock = lambda: datetime.now(UTC) + timedelta(days=31)
    expired = client.get(f"/exports/{agreement['id']}", headers=auth)
    assert expired.status_code == 403
    assert expired.json["error"]["code"] == "agreement_expired"
    agreements.clock = lambda: datetime.now(UTC)
    admin.post(f"/admin/agreements/{agreement['id']}/revoke")
    revoked = client.get(f"/exports/{agreement['id']}", headers=auth)
    assert revoked.status_code == 403 and revoked.json["error"]["code"] == "agreement_revoked"


def test_the_transparency_page_shows_active_agreements_only(app, admin):
    page = lambda: app.test_client().get("/privacy/default",  # noqa: E731
                                         headers={"Accept": "application/json"}).json
    assert page()["partners"] == []
    active = admin.post("/admin/agreements", TERMS).json
    revoked = admin.post("/admin/agreements", {**TERMS, "partner": "Revoked NGO"}).json
    admin.post("/admin/agreements", {**TERMS, "partner": "Later NGO", "starts": iso(2)})
    admin.post(f"/admin/agreements/{revoked['id']}/revoke")
    assert page()["partners"] == [{
        "partner": "Ministry of Education", "purpose": TERMS["purpose"],
        "fields": active["fields"], "dimensions": ["region"], "learner_ids": True,
        "expires": active["expires"],
    }]
    html = app.test_client().get("/privacy/default").get_data(as_text=True)
    assert "Ministry of Education" in html and "&lt;literacy&gt;" in html
    assert "Revoked NGO" not in html and "Later NGO" not in html and "verb.id" in html
    app.extensions[EXTENSION].service.agreements.clock = (
        lambda: datetime.now(UTC) + timedelta(days=31))
    assert page()["partners"] == []

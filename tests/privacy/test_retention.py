"""Retention by period (issue 13), on every backend: a tenant's `retention_days` deletes
exactly the statements stored before the cut-off, their attachment data no remaining
statement needs and the documents left orphaned; a dry run changes nothing; every run is
audited per tenant."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from erasure_testing import COURSE, attachment, multipart, new, whole
from people import LIA, TEACHER, ZOE

from lrs.extension import EXTENSION
from lrs.service import SCOPES, Principal
from statements import parse_timestamp

OPERATOR = Principal("cli", "default", frozenset(SCOPES), {}, "cli-test")
OLD, KEPT = b"an old essay", b"a poster still used"


def state(writer, who) -> None:
    agent = json.dumps({k: v for k, v in who.items() if k != "name"})
    assert writer.put("/xapi/activities/state", data=b"{}", content_type="application/json",
                      query_string={"activityId": COURSE["id"], "agent": agent,
                                    "stateId": "bookmark"}).status_code == 204


def test_retention_deletes_exactly_what_is_older_than_the_period(app, writer):
    service = app.extensions[EXTENSION].service
    store = service.store
    old = [new(ZOE), new(LIA), new(TEACHER, object={"objectType": "Agent", **ZOE})]
    assert writer.post_statements(old).status_code == 200
    with_files = new(ZOE, attachments=[attachment(OLD), attachment(KEPT)])
    body, kind = multipart([with_files], [OLD, KEPT])
    assert writer.post("/xapi/statements", data=body,
                       headers={"Content-Type": kind}).status_code == 200
    old.append(with_files)
    state(writer, ZOE)
    state(writer, LIA)
    recent = [new(LIA, attachments=[attachment(KEPT)]), new(TEACHER, object={
        "objectType": "StatementRef", "id": old[0]["id"]})]
    body, kind = multipart(recent, [KEPT])
    assert writer.post("/xapi/statements", data=body,
                       headers={"Content-Type": kind}).status_code == 200
    cut = store.get_statements("default", [recent[0]["id"]])[recent[0]["id"]].stored
    service.tenants.update("default", overrides={"retention_days": 30})
    service.tenants.create("other")
    now = parse_timestamp(cut) + timedelta(days=30)
    before = whole(app)

    dry = service.erasure.retention(OPERATOR, dry_run=True, now=now)
    assert whole(app) == before
    done = service.erasure.retention(OPERATOR, now=now)
    assert [r["tenant"] for r in done] == ["default", "other"]
    assert done[1] == {"tenant": "other", "retention_days": None}
    report = done[0]
    assert report["cutoff"] == cut and report["retention_days"] == 30
    assert report["counts"] == dry[0]["counts"] == {
        "statements": 4, "attachments": 1, "documents": 1}
    assert set(whole(app)[0]) == {s["id"] for s in recent}
    assert {i: before[0][i] for i in whole(app)[0]} == whole(app)[0]
    hashes = [hashlib.sha256(d).hexdigest() for d in (OLD, KEPT)]
    assert list(store.get_attachments("default", hashes)) == [hashes[1]]
    # Zoe's bookmark went with her last statement; Lia still has one since the cut-off.
    [document] = whole(app)[1]
    assert document.scope.agent == service.privacy.agent_key(service.tenants.get("default"), LIA)
    entries = [e for e in store.read_audit("default", limit=1000) if e.action == "retention"]
    assert [e.filters["dry_run"] for e in entries] == [True, False]
    assert entries[-1].filters["counts"] == report["counts"] and entries[-1].count == 4
    assert entries[-1].credential == "cli"
    assert service.erasure.retention(OPERATOR, "default", now=now)[0]["counts"] == {
        "statements": 0, "attachments": 0, "documents": 0}

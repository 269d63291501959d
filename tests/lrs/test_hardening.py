"""Issue 10, items 2, 4 and 6, on every backend: stored content types cannot break reads,
attachment data is served only to readers entitled to it, and stored content never runs as
a page of the LRS's origin."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from lrs_testing import Api, add_credential

from lrs.extension import EXTENSION
from storage import DocumentScope
from storage.commands import put_attachments, put_document
from tests.lrs.test_attachments import (
    ESSAY,
    ESSAY_PART,
    ESSAY_SHA,
    essay_attachment,
    multipart,
    post_multipart,
    with_attachments,
)

ACTIVITY = "http://example.com/activities/course"
AGENT = {"mbox": "mailto:learner@example.com"}
BAD_TYPES = ['text/plain; a="x\r\nX-Evil: 1"', "text/plain; charset=€", "text/plain\x00",
             "text/plain\r\nSet-Cookie: a=b"]


# -- item 2: media types are checked on input, and stored ones cannot break a response ----


@pytest.mark.parametrize("bad", BAD_TYPES)
def test_an_attachment_content_type_outside_the_grammar_is_400(api, bad):
    answer = api.post_statements(with_attachments(essay_attachment(contentType=bad)))
    assert answer.status_code == 400
    assert "attachments[0].contentType" in answer.json["error"]["fields"]
    assert api.get_statements().json["statements"] == []


@pytest.mark.parametrize("bad", BAD_TYPES)
def test_a_document_content_type_outside_the_grammar_is_400(api, bad):
    """Through the alternate request syntax, where a form field can hold any character."""
    params = {"activityId": ACTIVITY, "agent": json.dumps(AGENT), "stateId": "s"}
    form = {**params, "Content-Type": bad, "content": "hello",
            "X-Experience-API-Version": "1.0.3", "Authorization": api.auth["Authorization"]}
    answer = api.client.post("/xapi/activities/state?method=PUT", data=urlencode(form),
                             content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 400, answer.data
    assert answer.json["error"]["fields"] == {"Content-Type": ["Content-Type must be an "
                                                               "Internet media type"]}
    assert api.get("/xapi/activities/state", query_string=params).status_code == 404


def test_content_types_stored_before_the_check_are_sent_as_octet_stream(app, api):
    """Data written by an earlier version (or straight into the store) with a content type
    that cannot be a header: reads answer 200, never 500."""
    store = app.extensions[EXTENSION].store
    sent = with_attachments(essay_attachment(fileUrl="https://example.com/essay"))
    assert api.post_statements(sent).status_code == 200
    put_attachments(store, "default", {ESSAY_SHA: (BAD_TYPES[0], ESSAY)}, api_key(api))
    answer = api.get_statements(attachments="true")
    assert answer.status_code == 200
    assert b"X-Evil" not in answer.data
    assert b"Content-Type: application/octet-stream\r\n" in answer.data
    key = app.extensions[EXTENSION].service.privacy.agent_key(
        app.extensions[EXTENSION].service.tenants.get("default"), AGENT)
    put_document(store, "default", DocumentScope("state", ACTIVITY, key), "s", b"x",
                 "text/plain; charset=€", updated="2026-01-01T00:00:00.000000Z")
    document = api.get("/xapi/activities/state", query_string={
        "activityId": ACTIVITY, "agent": json.dumps(AGENT), "stateId": "s"})
    assert document.status_code == 200
    assert document.headers["Content-Type"] == "application/octet-stream"


def api_key(api: Api) -> str:
    import base64

    return base64.b64decode(api.auth["Authorization"].split()[1]).decode().split(":")[0]


# -- item 4: attachment data by hash --------------------------------------------------------


def test_naming_another_writers_hash_does_not_serve_its_data(app):
    first = Api(app.test_client(), add_credential(app, ["statements/write",
                                                         "statements/read/mine"])[0])
    second = Api(app.test_client(), add_credential(app, ["statements/write",
                                                          "statements/read/mine"])[0])
    reader = Api(app.test_client(), add_credential(app, ["statements/read"])[0])
    own = with_attachments(essay_attachment())
    assert post_multipart(first, multipart(own, ESSAY_PART)).status_code == 200
    # The second writer knows the hash and names it, with a fileUrl so no part is needed.
    borrowed = with_attachments(essay_attachment(fileUrl="https://example.com/nothing"))
    assert second.post_statements(borrowed).status_code == 200
    theirs = second.get_statements(attachments="true")
    assert theirs.status_code == 200
    assert borrowed["id"] in theirs.get_data(as_text=True)
    assert ESSAY not in theirs.data
    assert ESSAY in first.get_statements(attachments="true").data
    # A reader of every statement reads every statement's data, as before.
    assert ESSAY in reader.get_statements(attachments="true", statementId=borrowed["id"]).data


# -- item 6: stored content never runs as a page of the LRS ---------------------------------


def test_documents_and_attachments_are_served_with_nosniff_and_a_sandbox(api):
    params = {"activityId": ACTIVITY, "agent": json.dumps(AGENT), "stateId": "page"}
    api.put("/xapi/activities/state", query_string=params, data=b"<script>alert(1)</script>",
            headers={"Content-Type": "text/html"})
    document = api.get("/xapi/activities/state", query_string=params)
    assert document.headers["Content-Type"].startswith("text/html")
    assert document.headers["X-Content-Type-Options"] == "nosniff"
    assert document.headers["Content-Security-Policy"] == "sandbox"
    assert post_multipart(api, multipart(with_attachments(essay_attachment()), ESSAY_PART)
                          ).status_code == 200
    with_data = api.get_statements(attachments="true")
    assert with_data.headers["X-Content-Type-Options"] == "nosniff"
    assert with_data.headers["Content-Security-Policy"] == "sandbox"

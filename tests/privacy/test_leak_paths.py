"""Paths by which an identifier could leak besides the statement's agent positions (brief
H12): a client-sent `authority` (Data 2.4.9), `more` IRLs of a query by a raw agent
(Communication 2.1.3), invalid `agent` parameters echoed in errors, and a 500 while a
statement is being stored (its log line)."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from people import IDENTIFIERS, LIA, TEACHER, ZOE, simple
from scan import find_identifiers, store_bytes

from lrs.extension import EXTENSION

ACTIVITY = "http://example.com/activities/leak-paths"


def test_a_client_sent_authority_never_reaches_the_store(writer, auditor, storage_uri):
    """Data 2.4.9: the LRS replaces `authority` with the credential's; a child's identity
    put there by a client is neither stored nor returned, even to `reidentify`."""
    sent = simple(authority=TEACHER, context={"instructor": ZOE})
    assert writer.post_statements(sent).status_code == 200
    assert find_identifiers(store_bytes(storage_uri), IDENTIFIERS) == []
    got = auditor.get_statements(statementId=sent["id"]).json
    assert got["context"]["instructor"] == ZOE  # originals come back from the vault...
    assert find_identifiers(json.dumps(got["authority"]), IDENTIFIERS) == []  # ...not this


def test_more_irls_of_a_query_by_a_raw_agent_are_neither_stored_nor_logged(
    writer, storage_uri, caplog
):
    """The `more` IRL carries the query with the agent as its pseudonym, so the raw
    identifier never travels in a URL a proxy may log; following it stores and logs
    nothing of it, and still pages through the raw agent's statements."""
    caplog.set_level(logging.DEBUG)
    writer.post_statements([simple() for _ in range(3)])
    page = writer.get_statements(agent=json.dumps(ZOE), limit=1).json
    pages = 1
    while page["more"]:
        token = page["more"].rsplit("/", 1)[1]
        decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert find_identifiers(decoded, IDENTIFIERS) == []
        page = writer.get(page["more"]).json
        pages += 1
    assert pages == 3
    assert find_identifiers(store_bytes(storage_uri), IDENTIFIERS) == []
    assert find_identifiers(caplog.text, IDENTIFIERS) == []


BAD_AGENTS = {
    "unknown property": {**ZOE, "nickname": "zoe.kid.4f1c"},
    "name not a string": {"mbox": ZOE["mbox"], "name": ["Zoë Kidname"]},
    "two identifiers": {**LIA, "mbox": ZOE["mbox"]},
    "a Group": {**ZOE, "objectType": "Group"},
    "mbox without mailto": {**ZOE, "mbox": "zoe.kid.4f1c@example.org"},
    "bad account": {"name": "Noa Accountova",
                    "account": {"homePage": "noa-kid-27d5", "name": "noa-kid-27d5"}},
}
AGENT_ENDPOINTS = {
    "statements": ("/xapi/statements", {}),
    "agents": ("/xapi/agents", {}),
    "agent profile": ("/xapi/agents/profile", {"profileId": "p"}),
    "state": ("/xapi/activities/state", {"activityId": ACTIVITY, "stateId": "s"}),
}


@pytest.mark.parametrize("endpoint", sorted(AGENT_ENDPOINTS))
def test_invalid_agent_parameters_are_not_echoed(writer, endpoint, caplog):
    caplog.set_level(logging.DEBUG)
    path, params = AGENT_ENDPOINTS[endpoint]
    for name, agent in BAD_AGENTS.items():
        if name == "a Group" and endpoint == "statements":
            continue  # a Group is a valid `agent` filter there
        answer = writer.get(path, query_string={**params, "agent": json.dumps(agent)})
        assert answer.status_code == 400, (name, answer.get_data())
        assert find_identifiers(answer.get_data(), IDENTIFIERS) == [], (name, answer.get_data())
    assert find_identifiers(caplog.text, IDENTIFIERS) == []


def test_a_500_while_storing_logs_no_statement(app, writer, storage_uri, caplog, monkeypatch):
    """An unexpected failure whose message quotes the records being written (as a driver
    error might) is logged without that message."""
    store = app.extensions[EXTENSION].store

    def failing(work):
        raise RuntimeError(f"cannot write {work!r} {json.dumps(ZOE)}")

    monkeypatch.setattr(store, "atomically", failing)
    caplog.set_level(logging.DEBUG)
    answer = writer.post_statements(simple(actor=TEACHER, context={"instructor": ZOE}))
    assert answer.status_code == 500
    assert find_identifiers(answer.get_data(), IDENTIFIERS) == []
    assert "RuntimeError (message withheld)" in caplog.text
    assert find_identifiers(caplog.text, IDENTIFIERS) == []

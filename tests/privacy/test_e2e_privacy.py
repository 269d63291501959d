"""End to end on the real service (gunicorn, `lrs keys init` key file): the `tincan` client
and raw HTTP write statements with every agent position filled and State / Agent Profile
documents, then nothing in the database files (WAL included) or the server log holds a raw
identifier, while the client reads its data back with its own identifiers."""

from __future__ import annotations

import base64
import http.client
import json
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest
from people import IDENTIFIERS, LIA, NOA, SAM, TEACHER, ZOE, agent_objects, everywhere
from scan import find_identifiers, store_bytes
from tincan import (
    Activity,
    Agent,
    AgentAccount,
    RemoteLRS,
    StateDocument,
    Statement,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ASSIGNED = ("stored", "authority", "version", "timestamp")


def _http(live_lrs, method, path, body=None, credential=None):
    key, secret = credential or (live_lrs.key, live_lrs.secret)
    headers = {"X-Experience-API-Version": "1.0.3", "Authorization": "Basic "
               + base64.b64encode(f"{key}:{secret}".encode()).decode()}
    if body is not None:
        body = json.dumps(body)
        headers["Content-Type"] = "application/json"
    connection = http.client.HTTPConnection("127.0.0.1", live_lrs.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _wire(statement: Statement) -> dict:
    return {k: v for k, v in json.loads(statement.to_json()).items() if k not in ASSIGNED}


def test_tincan_and_raw_http_leave_no_identifier_anywhere(live_lrs):
    client = RemoteLRS(endpoint=live_lrs.endpoint, username=live_lrs.key,
                       password=live_lrs.secret)
    single = Statement(everywhere())
    single.id = None
    assert client.save_statement(single).success  # POST, the LRS assigns the id
    put = Statement(everywhere(actor=NOA))
    assert client.save_statement(put).success  # PUT
    batch = [Statement(s) for s in [everywhere(actor=SAM), *agent_objects()]]
    assert client.save_statements(batch).success
    raw_batch = [everywhere(actor=LIA), everywhere(actor=TEACHER)]
    status, body = _http(live_lrs, "POST", "/xapi/statements", raw_batch)
    assert status == 200, body
    raw_put = everywhere()
    assert _http(live_lrs, "PUT", f"/xapi/statements?statementId={raw_put['id']}",
                 raw_put)[0] == 204

    activity = Activity(id=f"http://example.com/privacy/{uuid.uuid4()}")
    zoe = Agent(name=ZOE["name"], mbox=ZOE["mbox"])
    noa = Agent(name=NOA["name"], account=AgentAccount(**NOA["account"]))
    assert client.save_state(StateDocument(activity=activity, agent=zoe, id="bookmark",
                                           content="page 9")).success
    # A first profile PUT needs If-None-Match, which tincan cannot send: POST creates it.
    query = urlencode({"agent": noa.to_json(), "profileId": "prefs"})
    assert _http(live_lrs, "POST", f"/xapi/agents/profile?{query}", {"font": "big"})[0] == 204

    # The client reads everything back with the identifiers it wrote with.
    assert client.retrieve_state(activity, zoe, "bookmark").content.content == b"page 9"
    profile = client.retrieve_agent_profile(noa, "prefs").content.content
    assert json.loads(bytes(profile)) == {"font": "big"}
    found = client.query_statements({"agent": zoe, "related_agents": "true"})
    assert found.success
    found_ids = {str(s.id) for s in found.content.statements}
    assert {str(single.id), raw_put["id"]} <= found_ids
    got = client.retrieve_statement(str(put.id))  # this credential may re-identify
    assert _wire(got.content) == _wire(put)
    for sent in batch:
        assert _wire(client.retrieve_statement(str(sent.id)).content) == _wire(sent)

    # A reader without `reidentify` sees pseudonyms only.
    reader = live_lrs.credential("statements/read")
    status, body = _http(live_lrs, "GET", "/xapi/statements?limit=500", credential=reader)
    assert status == 200
    assert find_identifiers(body, IDENTIFIERS) == []
    status, body = _http(live_lrs, "GET", f"/xapi/statements?statementId={put.id}",
                         credential=reader)
    assert b"lrs.invalid/pseudonym" in body
    assert find_identifiers(body, IDENTIFIERS) == []

    uri = live_lrs.env["LRS_STORAGE_URI"]
    assert find_identifiers(store_bytes(uri), IDENTIFIERS) == []
    log = Path(uri[len("sqlite:///"):]).with_name("serve.log").read_bytes()
    assert find_identifiers(log, IDENTIFIERS) == []

"""Response framing on one raw keep-alive connection to the real service (RFC 9112 6.3):
every response must carry exactly the body its headers declare for the method on the
wire, or the next response on the connection is read as part of this one."""

from __future__ import annotations

import base64
import json
import socket
import uuid
from urllib.parse import urlencode

import pytest

HOST = "127.0.0.1"

pytestmark = [pytest.mark.e2e]

NO_BODY_STATUSES = frozenset({204, 304})


def _request(method: str, target: str, headers: dict[str, str] | None = None,
             body: bytes = b"", *, close: bool = False) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {HOST}"]
    sent = dict(headers or {})
    if body or method in ("POST", "PUT"):
        sent["Content-Length"] = str(len(body))
    if close:
        sent["Connection"] = "close"
    lines += [f"{name}: {value}" for name, value in sent.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def parse_responses(data: bytes, methods: list[str]) -> list[tuple[int, dict[str, str], bytes]]:
    """Split `data` into one response per method sent, framed as RFC 9112 6.3 says for that
    method; fails unless the stream holds exactly these responses."""
    responses = []
    for method in methods:
        head, separator, data = data.partition(b"\r\n\r\n")
        assert separator, f"incomplete response head: {head[:120]!r}"
        status_line, *lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        assert len(parts) > 1 and parts[0] == "HTTP/1.1" and parts[1].isdigit(), (
            f"not a response start, the previous response was framed wrong: {head[:120]!r}"
        )
        status = int(parts[1])
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if status in NO_BODY_STATUSES:
            assert "transfer-encoding" not in headers
            if status == 204:  # RFC 9110 8.6: MUST NOT send Content-Length in a 204
                assert "content-length" not in headers, headers
            body = b""
        elif method == "HEAD":
            body = b""
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size_line, _, data = data.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                chunk, data = data[:size], data[size + 2:]
                body += chunk
                if size == 0:
                    break
        else:
            assert "content-length" in headers, headers
            length = int(headers["content-length"])
            body, data = data[:length], data[length:]
            assert len(body) == length
        responses.append((status, headers, body))
    assert data == b"", f"bytes after the last response: {data[:120]!r}"
    return responses


def exchange(port: int, requests: list[tuple[str, bytes]]) -> list[tuple[int, dict, bytes]]:
    """Send each (method, raw request) on one connection, the next one only after the head of
    the previous response has arrived; the last request asks the server to close."""
    received = b""
    with socket.create_connection((HOST, port), timeout=10) as sock:
        for index, (_, raw) in enumerate(requests):
            sock.sendall(raw)
            while received.count(b"\r\n\r\n") <= index:  # JSON bodies hold no blank line
                chunk = sock.recv(65536)
                assert chunk, "the server closed the connection early"
                received += chunk
        while chunk := sock.recv(65536):
            received += chunk
    return parse_responses(received, [method for method, _ in requests])


def _auth(live_lrs) -> str:
    return "Basic " + base64.b64encode(f"{live_lrs.key}:{live_lrs.secret}".encode()).decode()


def _alternate(method: str, fields: dict[str, str], target: str = "/xapi/statements") -> bytes:
    return _request(
        "POST", f"{target}?method={method}",
        {"Content-Type": "application/x-www-form-urlencoded"}, urlencode(fields).encode(),
    )


def _about(*, close: bool = True) -> tuple[str, bytes]:
    return "GET", _request("GET", "/xapi/about", close=close)


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"X-Experience-API-Version": "1.0.3"}, id="valid"),
        pytest.param({"X-Experience-API-Version": "1.0.3", "bogus": "1"}, id="unknown-param"),
        pytest.param({"X-Experience-API-Version": "0.9"}, id="bad-version"),
        pytest.param({"X-Experience-API-Version": "1.0.3", "Authorization": "Basic Og=="},
                     id="bad-credentials"),
    ],
)
def test_alternate_head_is_framed_as_the_post_it_is(live_lrs, fields):
    """Communication 1.3: POST ?method=HEAD answers as HEAD would, without a body; on the
    wire it is a POST, so the response must declare the (empty) body it sends."""
    fields = {"Authorization": _auth(live_lrs), **fields}
    first, second = exchange(live_lrs.port, [("POST", _alternate("HEAD", fields)), _about()])
    assert first[2] == b""
    assert first[1]["content-length"] == "0"
    assert first[1]["x-experience-api-version"] == "1.0.3"
    assert second[0] == 200
    assert json.loads(second[2])["version"] == ["1.0.3", "2.0.0"]


def test_alternate_head_status_is_that_of_the_get(live_lrs):
    fields = {"Authorization": _auth(live_lrs), "X-Experience-API-Version": "1.0.3"}
    missing = {**fields, "statementId": str(uuid.uuid4())}
    found, not_found, refused, _ = exchange(live_lrs.port, [
        ("POST", _alternate("HEAD", fields)),
        ("POST", _alternate("HEAD", missing)),
        ("POST", _alternate("HEAD", {**fields, "Authorization": "Basic Og=="})),
        _about(),
    ])
    assert (found[0], not_found[0], refused[0]) == (200, 404, 401)


def test_every_kind_of_response_is_framed_on_one_connection(live_lrs):
    """HEAD keeps the Content-Length of the GET (RFC 9110 9.3.2) without a body; 204 has
    neither; errors carry their JSON body; alternate PUT and GET are framed as POSTs."""
    auth = _auth(live_lrs)
    xapi = {"Authorization": auth, "X-Experience-API-Version": "1.0.3"}
    statement = {"id": str(uuid.uuid4()), "actor": {"mbox": "mailto:framing@example.com"},
                 "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                 "object": {"id": "http://example.com/framing"}}
    body = json.dumps(statement).encode()
    target = f"/xapi/statements?statementId={statement['id']}"
    json_headers = {**xapi, "Content-Type": "application/json"}
    state = ("/xapi/activities/state?" + urlencode({
        "activityId": "http://example.com/framing", "stateId": "s",
        "agent": json.dumps({"mbox": "mailto:framing@example.com"})}))
    requests = [
        ("PUT", _request("PUT", target, json_headers, body)),
        ("GET", _request("GET", target, xapi)),
        ("HEAD", _request("HEAD", target, xapi)),
        ("HEAD", _request("HEAD", "/xapi/about")),
        ("HEAD", _request("HEAD", "/xapi/statements?bogus=1", xapi)),
        ("OPTIONS", _request("OPTIONS", "/xapi/statements", {
            "Origin": "https://app.example", "Access-Control-Request-Method": "PUT"})),
        ("PUT", _request("PUT", state, json_headers, b'{"a": 1}')),
        ("DELETE", _request("DELETE", state, xapi)),
        ("GET", _request("GET", "/xapi/statements", {"Authorization": auth})),
        ("POST", _alternate("PUT", {**xapi, "statementId": statement["id"],
                                    "content": body.decode()})),
        ("POST", _alternate("GET", {**xapi, "statementId": statement["id"]})),
        ("POST", _alternate("DELETE", {
            **xapi, "activityId": "http://example.com/framing", "stateId": "s",
            "agent": json.dumps({"mbox": "mailto:framing@example.com"}),
        }, target="/xapi/activities/state")),
        _about(),
    ]
    responses = exchange(live_lrs.port, requests)
    statuses = [status for status, _, _ in responses]
    assert statuses == [204, 200, 200, 200, 400, 204, 204, 204, 400, 204, 200, 204, 200]
    (_, get_headers, got), (_, head_headers, _) = responses[1], responses[2]
    assert json.loads(got)["id"] == statement["id"]
    assert head_headers["content-length"] == get_headers["content-length"]
    assert int(responses[4][1]["content-length"]) > 0  # the 400's length, body not sent
    assert json.loads(responses[8][2])["error"]["code"] == "bad_version"
    assert json.loads(responses[10][2])["id"] == statement["id"]

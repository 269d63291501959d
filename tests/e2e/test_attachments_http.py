"""Attachments and signed statements on the real service (gunicorn), over raw HTTP: the
multipart/mixed body written byte by byte (Communication 1.5.2), the answer taken apart by
hand."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import uuid

import pytest

from tests.jws_testing import sign, signature_attachment

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BOUNDARY = b"e2e-boundary_0123"
NOTES = b"Lesson notes\r\n--\r\nwith CRLF and \x00 bytes"
PHOTO = bytes(range(256)) * 1024


def send(live_lrs, method, path, body=b"", content_type=None):
    token = base64.b64encode(f"{live_lrs.key}:{live_lrs.secret}".encode()).decode()
    headers = {"X-Experience-API-Version": "1.0.3", "Authorization": f"Basic {token}"}
    if content_type:
        headers["Content-Type"] = content_type
    connection = http.client.HTTPConnection("127.0.0.1", live_lrs.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()


def attachment(data: bytes, content_type: str) -> dict:
    return {
        "usageType": "http://example.com/attachment-usage/test",
        "display": {"en-US": "test"},
        "contentType": content_type,
        "length": len(data),
        "sha2": hashlib.sha256(data).hexdigest(),
    }


def base_statement(*attachments: dict) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"mbox": "mailto:e2e@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
        "object": {"id": f"http://example.com/courses/{uuid.uuid4()}"},
        **({"attachments": list(attachments)} if attachments else {}),
    }


def body(statements, *parts: tuple[bytes, bytes]) -> bytes:
    raw = (b"--" + BOUNDARY + b"\r\nContent-Type: application/json\r\n\r\n"
           + json.dumps(statements).encode())
    for content_type, data in parts:
        raw += (b"\r\n--" + BOUNDARY + b"\r\nContent-Type: " + content_type
                + b"\r\nContent-Transfer-Encoding: binary\r\nX-Experience-API-Hash: "
                + hashlib.sha256(data).hexdigest().encode() + b"\r\n\r\n" + data)
    return raw + b"\r\n--" + BOUNDARY + b"--\r\n"


MULTIPART = "multipart/mixed; boundary=" + BOUNDARY.decode()


def split_response(content_type: str, raw: bytes) -> list[tuple[bytes, bytes]]:
    boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
    chunks = raw.split(b"\r\n--" + boundary)
    assert chunks[0].startswith(b"--" + boundary + b"\r\n")
    assert chunks[-1] == b"--\r\n"
    first = chunks[0][len(boundary) + 4 :]
    return [tuple(c.partition(b"\r\n\r\n")[::2]) for c in [first] + [c[2:] for c in chunks[1:-1]]]


def test_post_two_attachments_then_get_them_with_attachments_true(live_lrs):
    first = base_statement(attachment(NOTES, "text/plain"))
    second = base_statement(attachment(PHOTO, "image/png"), attachment(NOTES, "text/plain"))
    status, _, answer = send(live_lrs, "POST", "/xapi/statements",
                             body([first, second], (b"text/plain", NOTES), (b"image/png", PHOTO)),
                             MULTIPART)
    assert status == 200, answer
    assert json.loads(answer) == [first["id"], second["id"]]

    status, content_type, raw = send(
        live_lrs, "GET", f"/xapi/statements?statementId={second['id']}&attachments=true"
    )
    assert status == 200
    assert content_type.startswith("multipart/mixed")
    (json_head, statement_json), *data = split_response(content_type, raw)
    assert b"application/json" in json_head
    assert json.loads(statement_json)["id"] == second["id"]
    got = {}
    for head, content in data:
        headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n"))
        assert headers[b"Content-Transfer-Encoding"] == b"binary"
        got[headers[b"X-Experience-API-Hash"].decode()] = content
    assert got == {hashlib.sha256(PHOTO).hexdigest(): PHOTO,
                   hashlib.sha256(NOTES).hexdigest(): NOTES}


@pytest.mark.parametrize("live_lrs", ["raw"], indirect=True)  # README: signed
def test_signed_statement_over_http(live_lrs):
    unsigned = base_statement()
    token = sign(unsigned)
    signed = {**unsigned, "attachments": [signature_attachment(token)]}
    status, _, answer = send(live_lrs, "POST", "/xapi/statements",
                             body(signed, (b"application/octet-stream", token)), MULTIPART)
    assert status == 200, answer

    other = base_statement()
    forged = sign({**other, "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"}})
    tampered = {**other, "attachments": [signature_attachment(forged)]}
    status, _, answer = send(live_lrs, "POST", "/xapi/statements",
                             body(tampered, (b"application/octet-stream", forged)), MULTIPART)
    assert status == 400
    assert "attachments[0]" in json.loads(answer)["error"]["fields"]
    status, _, _ = send(live_lrs, "GET", f"/xapi/statements?statementId={other['id']}")
    assert status == 404


def test_missing_part_is_400(live_lrs):
    sent = base_statement(attachment(PHOTO, "image/png"))
    status, _, answer = send(live_lrs, "POST", "/xapi/statements", body([sent]), MULTIPART)
    assert status == 400
    assert "[0].attachments[0].sha2" in json.loads(answer)["error"]["fields"]

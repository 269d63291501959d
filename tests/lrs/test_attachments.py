"""Statements with attachments over HTTP: multipart/mixed PUT and POST (Communication 1.5.2),
GET with `attachments` (Communication 2.1.3), signed statements (Data 2.6); every backend.

Request bodies are written out byte by byte here, and responses taken apart by hand, so the
code under test never checks itself.
"""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest
from lrs_testing import statement

from lrs.extension import EXTENSION
from tests.jws_testing import (
    SPEC_JWS,
    SPEC_SIGNED_STATEMENT,
    b64url,
    rsa_key,
    sign,
    signature_attachment,
)

ESSAY = b"My essay.\r\nIt has CRLF lines,\n--dashes--\r\n and \x00\xff bytes.\r\n"
ESSAY_SHA = hashlib.sha256(ESSAY).hexdigest()
IMAGE = bytes(range(256)) * 64 + b"\r\n--\r\n"
IMAGE_SHA = hashlib.sha256(IMAGE).hexdigest()
BOUNDARY = "3d6b6a416f9b5"
MULTIPART = f"multipart/mixed; boundary={BOUNDARY}"
DELIMITER = f"--{BOUNDARY}".encode()


def essay_attachment(**extra: object) -> dict:
    return {
        "usageType": "http://example.com/attachment-usage/essay",
        "display": {"en-US": "Essay"},
        "contentType": "text/plain",
        "length": len(ESSAY),
        "sha2": ESSAY_SHA,
        **extra,
    }


def image_attachment(**extra: object) -> dict:
    return {
        "usageType": "http://example.com/attachment-usage/image",
        "display": {"en-US": "Image"},
        "contentType": "image/png",
        "length": len(IMAGE),
        "sha2": IMAGE_SHA,
        **extra,
    }


def with_attachments(*attachments: dict) -> dict:
    return statement(attachments=list(attachments))


def multipart(statements: object, *parts: bytes) -> bytes:
    """The Communication 1.5.2 layout, written out: the statements part, then each part."""
    raw = DELIMITER + b"\r\nContent-Type: application/json\r\n\r\n" + json.dumps(
        statements).encode()
    for part in parts:
        raw += b"\r\n" + DELIMITER + b"\r\n" + part
    return raw + b"\r\n" + DELIMITER + b"--\r\n"


def data_part(data: bytes, content_type: str, sha2: str | None = None) -> bytes:
    return (
        f"Content-Type: {content_type}\r\n"
        "Content-Transfer-Encoding: binary\r\n"
        f"X-Experience-API-Hash: {sha2 or hashlib.sha256(data).hexdigest()}\r\n"
        "\r\n"
    ).encode() + data


ESSAY_PART = data_part(ESSAY, "text/plain")
IMAGE_PART = data_part(IMAGE, "image/png")


def post_multipart(api, raw: bytes, content_type: str = MULTIPART):
    return api.post("/xapi/statements", data=raw, headers={"Content-Type": content_type})


def parts_of(response) -> list[tuple[dict[str, str], bytes]]:
    """A multipart/mixed response taken apart: (headers, body) per part."""
    assert response.mimetype == "multipart/mixed"
    delimiter = b"--" + response.mimetype_params["boundary"].encode()
    raw = response.data
    assert raw.startswith(delimiter + b"\r\n")
    assert raw.endswith(b"\r\n" + delimiter + b"--\r\n")
    inner = raw[len(delimiter) + 2 : -(len(delimiter) + 6)]
    parts = []
    for chunk in inner.split(b"\r\n" + delimiter + b"\r\n"):
        head, _, body = chunk.partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        parts.append((headers, body))
    return parts


def stored_attachments(app, *sha2s: str) -> dict:
    return app.extensions[EXTENSION].store.get_attachments("default", list(sha2s))


# --- POST and GET -------------------------------------------------------------------------


def test_post_multipart_with_two_attachments_then_get_them_back(api):
    first = with_attachments(essay_attachment())
    second = with_attachments(image_attachment(), essay_attachment())
    response = post_multipart(api, multipart([first, second], ESSAY_PART, IMAGE_PART))
    assert response.status_code == 200, response.json
    assert response.json == [first["id"], second["id"]]

    listed = api.get_statements(attachments="true")
    assert listed.status_code == 200
    (json_headers, body), *data = parts_of(listed)
    assert json_headers["Content-Type"] == "application/json"
    assert [s["id"] for s in json.loads(body)["statements"]] == [second["id"], first["id"]]
    # One part per distinct sha2, with its hash, type and encoding (Communication 1.5.2).
    assert sorted(
        (h["X-Experience-API-Hash"], h["Content-Type"], h["Content-Transfer-Encoding"], b)
        for h, b in data
    ) == sorted([(ESSAY_SHA, "text/plain", "binary", ESSAY),
                 (IMAGE_SHA, "image/png", "binary", IMAGE)])
    for headers, content in data:
        assert hashlib.sha256(content).hexdigest() == headers["X-Experience-API-Hash"]


def test_single_get_with_attachments_sends_only_that_statements_data(api):
    first = with_attachments(essay_attachment())
    second = with_attachments(image_attachment())
    assert post_multipart(api, multipart([first, second], ESSAY_PART, IMAGE_PART)).status_code \
        == 200
    single = api.get_statements(statementId=first["id"], attachments="true")
    assert single.status_code == 200
    (_, body), (headers, content) = parts_of(single)
    assert json.loads(body)["id"] == first["id"]
    assert (headers["X-Experience-API-Hash"], content) == (ESSAY_SHA, ESSAY)
    assert "Last-Modified" in single.headers


@pytest.mark.parametrize("flag", [None, "false"])
def test_without_attachments_true_the_answer_is_json_only(api, flag):
    sent = with_attachments(essay_attachment())
    post_multipart(api, multipart(sent, ESSAY_PART))
    params = {"statementId": sent["id"]} | ({"attachments": flag} if flag else {})
    response = api.get_statements(**params)
    assert response.mimetype == "application/json"
    assert response.json["attachments"] == [essay_attachment()]


def test_put_accepts_multipart(api):
    sent = with_attachments(image_attachment())
    response = api.put(
        "/xapi/statements", query_string={"statementId": sent["id"]},
        data=multipart(sent, IMAGE_PART), headers={"Content-Type": MULTIPART},
    )
    assert response.status_code == 204, response.json
    _, (headers, content) = parts_of(
        api.get_statements(statementId=sent["id"], attachments="true")
    )
    assert (headers["X-Experience-API-Hash"], content) == (IMAGE_SHA, IMAGE)


def test_same_attachment_in_two_statements_is_stored_once_and_sent_once(api, app):
    first = with_attachments(essay_attachment())
    second = with_attachments(essay_attachment())
    assert post_multipart(api, multipart([first, second], ESSAY_PART)).status_code == 200
    # A later request sending the same data again is fine: it is already held.
    third = with_attachments(essay_attachment())
    assert post_multipart(api, multipart(third, ESSAY_PART)).status_code == 200
    assert stored_attachments(app, ESSAY_SHA) == {ESSAY_SHA: ("text/plain", ESSAY)}
    _, *data = parts_of(api.get_statements(attachments="true"))
    assert [h["X-Experience-API-Hash"] for h, _ in data] == [ESSAY_SHA]


# --- fileUrl and attachment-less batches ----------------------------------------------------


def test_file_url_attachments_are_accepted_as_json_and_as_multipart(api):
    linked = essay_attachment(fileUrl="http://example.com/essay.txt")
    as_json = with_attachments(linked)
    assert api.post_statements(as_json).status_code == 200
    as_multipart = with_attachments(linked)
    plain = statement()
    assert post_multipart(api, multipart([as_multipart, plain])).status_code == 200
    # Nothing is held for them, so only the statements part comes back.
    response = api.get_statements(statementId=as_json["id"], attachments="true")
    [(_, body)] = parts_of(response)
    assert json.loads(body)["attachments"] == [linked]


def test_json_request_with_an_attachment_without_file_url_is_400(api):
    sent = with_attachments(essay_attachment())
    response = api.post_statements(sent)
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {
        "attachments[0].sha2": [
            "no attachment part with this hash was received, and the attachment has no fileUrl"
        ]
    }
    assert api.get_statements(statementId=sent["id"]).status_code == 404


# --- every 400: nothing is stored ----------------------------------------------------------


def _bad_requests():
    first = with_attachments(essay_attachment())
    second = with_attachments(image_attachment())
    batch = [first, second]
    return [
        ("missing part", multipart(batch, ESSAY_PART), MULTIPART, "[1].attachments[0].sha2"),
        ("extra part", multipart(batch, ESSAY_PART, IMAGE_PART, data_part(b"x", "text/plain")),
         MULTIPART, "parts[3]"),
        ("hash mismatch", multipart(batch, ESSAY_PART, data_part(IMAGE, "image/png", ESSAY_SHA)),
         MULTIPART, "parts[2].X-Experience-API-Hash"),
        ("no hash header", multipart(batch, ESSAY_PART, b"Content-Type: image/png\r\n"
                                     b"Content-Transfer-Encoding: binary\r\n\r\n" + IMAGE),
         MULTIPART, "parts[2]"),
        ("not binary", multipart(batch, ESSAY_PART, IMAGE_PART.replace(b"binary", b"base64")),
         MULTIPART, "parts[2].Content-Transfer-Encoding"),
        ("content type disagrees", multipart(batch, ESSAY_PART,
                                             IMAGE_PART.replace(b"image/png", b"image/gif")),
         MULTIPART, "[1].attachments[0].contentType"),
        ("first part not json", multipart(batch, ESSAY_PART, IMAGE_PART).replace(
            b"application/json", b"text/plain", 1), MULTIPART, "parts[0].Content-Type"),
        ("no close delimiter", multipart(batch, ESSAY_PART, IMAGE_PART)[:-4], MULTIPART, ""),
        ("no boundary parameter", multipart(batch, ESSAY_PART, IMAGE_PART), "multipart/mixed",
         "Content-Type"),
        ("wrong boundary", multipart(batch, ESSAY_PART, IMAGE_PART),
         "multipart/mixed; boundary=other", ""),
        ("LF instead of CRLF", multipart(batch, ESSAY_PART, IMAGE_PART).replace(b"\r\n", b"\n"),
         MULTIPART, "parts[0]"),
        ("invalid statement", multipart([first, {**second, "verb": {}}], ESSAY_PART, IMAGE_PART),
         MULTIPART, "[1].verb.id"),
    ]


@pytest.mark.parametrize(
    ("raw", "content_type", "path"),
    [case[1:] for case in _bad_requests()],
    ids=[case[0] for case in _bad_requests()],
)
def test_bad_multipart_requests_are_400_and_store_nothing(api, app, raw, content_type, path):
    response = post_multipart(api, raw, content_type)
    assert response.status_code == 400
    assert path in response.json["error"]["fields"]
    assert api.get_statements().json["statements"] == []
    assert stored_attachments(app, ESSAY_SHA, IMAGE_SHA) == {}


def test_statements_part_that_is_not_json_is_400(api):
    raw = DELIMITER + b"\r\nContent-Type: application/json\r\n\r\n{nope\r\n" + DELIMITER + b"--"
    response = post_multipart(api, raw)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_json"


# --- signed statements (Data 2.6) ------------------------------------------------------------


def signed_request(unsigned: dict, token: bytes) -> tuple[dict, bytes]:
    sent = {**unsigned, "attachments": [signature_attachment(token)]}
    return sent, multipart(sent, data_part(token, "application/octet-stream"))


@pytest.mark.parametrize("pseudonymize", [True, False])  # on: the JWS is sealed (README)
def test_signed_statement_is_accepted_and_its_jws_returned(api):
    unsigned = statement()
    token = sign(unsigned)  # fresh RSA key, self-signed certificate in x5c, RS256
    sent, raw = signed_request(unsigned, token)
    assert post_multipart(api, raw).status_code == 200
    _, (headers, content) = parts_of(api.get_statements(statementId=sent["id"],
                                                        attachments="true"))
    assert content == token
    assert headers["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize("pseudonymize", [True, False])
def test_appendix_d_signed_statement_is_accepted(api):
    raw = multipart(SPEC_SIGNED_STATEMENT, data_part(SPEC_JWS, "application/octet-stream"))
    assert post_multipart(api, raw).status_code == 200


def _tampered(unsigned: dict) -> bytes:
    header, _, signature = sign(unsigned).split(b".")
    changed = {**unsigned, "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}}
    return header + b"." + b64url(json.dumps(changed).encode()) + b"." + signature


@pytest.mark.parametrize(
    "make_token",
    [
        _tampered,
        lambda u: sign(u, key=rsa_key("signer"), certificate_key=rsa_key("impostor")),
        lambda u: sign(u, header={"alg": "HS256"}),
        lambda u: sign({**u, "result": {"success": True}}),
        lambda u: b"not.a-jws",
    ],
    ids=["tampered payload", "wrong key", "bad alg", "other statement", "malformed"],
)
def test_bad_signatures_are_400_and_the_batch_is_not_stored(api, app, make_token):
    good = with_attachments(essay_attachment())
    unsigned = statement()
    token = make_token(unsigned)
    signed = {**unsigned, "attachments": [signature_attachment(token)]}
    raw = multipart([good, signed], ESSAY_PART, data_part(token, "application/octet-stream"))
    response = post_multipart(api, raw)
    assert response.status_code == 400
    assert list(response.json["error"]["fields"]) == ["[1].attachments[0]"]
    for sent in (good, signed):
        assert api.get_statements(statementId=sent["id"]).status_code == 404
    assert stored_attachments(app, ESSAY_SHA) == {}


def test_resending_a_stored_statement_with_its_data_is_a_no_op(api):
    sent = with_attachments(essay_attachment())
    assert post_multipart(api, multipart(sent, ESSAY_PART)).status_code == 200
    again = post_multipart(api, multipart(sent, ESSAY_PART))
    assert again.status_code == 200
    assert again.json == [sent["id"]]
    assert uuid.UUID(sent["id"])

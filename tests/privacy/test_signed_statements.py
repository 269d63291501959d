"""Signed statements with pseudonymization on (Data 2.6: an LRS must not reject a valid
signed statement), on every backend. The JWS payload holds the statement with its identities
in clear: it is kept only sealed in the identity vault, never as attachment data. A
`reidentify` reader gets the statement and its signature back exactly; any other reader gets
the pseudonymized statement, whose signature attachment object stays, without its data."""

from __future__ import annotations

import json

import pytest
from people import IDENTIFIERS, ZOE, everywhere, multipart_body, sign_statement, simple
from scan import find_identifiers, jws_forms, store_bytes

from statements import verify_signature
from tests.jws_testing import SIGNATURE_USAGE
from tests.lrs.lrs_testing import Api, add_credential

ASSIGNED = ("stored", "authority", "version", "timestamp")


def _post(api: Api, statements: object, tokens: list[bytes]):
    raw, content_type = multipart_body(statements, tokens)
    return api.post("/xapi/statements", data=raw, headers={"Content-Type": content_type})


def _parts(response) -> list[tuple[dict[str, str], bytes]]:
    """A multipart/mixed answer taken apart by hand: (headers, body) per part."""
    assert response.mimetype == "multipart/mixed"
    delimiter = b"--" + response.mimetype_params["boundary"].encode()
    inner = response.data[len(delimiter) + 2 : -(len(delimiter) + 6)]
    parts = []
    for chunk in inner.split(b"\r\n" + delimiter + b"\r\n"):
        head, _, body = chunk.partition(b"\r\n\r\n")
        parts.append((dict(line.split(": ", 1) for line in head.decode().split("\r\n")), body))
    return parts


@pytest.fixture
def signed_batch(writer):
    """A batch of an unsigned and a signed statement (every agent position filled), stored
    by a learning client: (the signed statement as sent, its JWS)."""
    signed, token = sign_statement(everywhere())
    answer = _post(writer, [simple(), signed], [token])
    assert answer.status_code == 200, answer.json
    return signed, token


def test_signed_statement_is_accepted_and_no_identifier_reaches_the_store_data_2_6(
    signed_batch, storage_uri
):
    _, token = signed_batch
    blob = store_bytes(storage_uri)
    assert b"lrs.invalid/pseudonym" in blob  # the scan sees the statements
    assert find_identifiers(blob, IDENTIFIERS) == []
    assert find_identifiers(blob, jws_forms(token)) == []


def test_reidentify_reader_gets_the_statement_and_signature_back_exactly_data_2_6(
    signed_batch, auditor
):
    sent, token = signed_batch
    answer = auditor.get_statements(statementId=sent["id"], attachments="true")
    (_, first), (headers, data) = _parts(answer)
    got = json.loads(first)
    assert {k: v for k, v in got.items() if k not in ASSIGNED} == sent
    assert data == token
    assert headers["Content-Type"] == "application/octet-stream"
    # What it got back verifies as the signed statement (Data 2.6, LRS requirements).
    verify_signature(got, got["attachments"][0], data)
    listed = auditor.get_statements(attachments="true")
    assert [body for _, body in _parts(listed)[1:]] == [token]


def test_other_readers_get_the_pseudonymized_statement_and_no_signature_part(
    signed_batch, writer
):
    sent, token = signed_batch
    for answer in (
        writer.get_statements(statementId=sent["id"], attachments="true"),
        writer.get_statements(attachments="true"),
    ):
        [(_, body)] = _parts(answer)  # the statements part only
        assert find_identifiers(body, IDENTIFIERS) == []
        assert find_identifiers(body, jws_forms(token)) == []
    got = writer.get_statements(statementId=sent["id"]).json
    assert got["actor"]["account"]["homePage"].startswith("https://lrs.invalid/pseudonym/")
    # The attachment object stays: the reader knows the statement was signed.
    assert got["attachments"] == sent["attachments"]
    assert got["attachments"][0]["usageType"] == SIGNATURE_USAGE


def test_a_masked_signed_statement_still_comes_back_as_signed(make_app, storage_uri):
    """Masking drops `result.response` from the stored copy; the JWS holds it anyway, sealed,
    so the statement sealed with it is the one signed (README "Pseudonymization")."""
    app = make_app(mask_drop_fields=["result.response"])
    writer = Api(app.test_client(), add_credential(app, ["all"])[0])
    auditor = Api(app.test_client(), add_credential(app, ["all/read", "reidentify"])[0])
    sent, token = sign_statement(simple(result={"response": "Zoë Kidname typed this"}))
    assert _post(writer, sent, [token]).status_code == 200
    assert "result" not in writer.get_statements(statementId=sent["id"]).json
    assert find_identifiers(store_bytes(storage_uri), ["typed this", *IDENTIFIERS]) == []
    (_, first), (_, data) = _parts(
        auditor.get_statements(statementId=sent["id"], attachments="true")
    )
    got = json.loads(first)
    assert got["result"] == sent["result"]
    verify_signature(got, got["attachments"][0], data)


def test_resending_a_signed_statement_is_a_no_op(signed_batch, writer, auditor):
    sent, token = signed_batch
    assert _post(writer, [sent], [token]).status_code == 200
    (_, _), (_, data) = _parts(auditor.get_statements(statementId=sent["id"], attachments="true"))
    assert data == token


def test_the_scan_finds_a_jws_stored_in_clear(make_app, storage_uri):
    """The scan itself can fail: with pseudonymization off the JWS is attachment data."""
    app = make_app(pseudonymize=False)
    api = Api(app.test_client(), add_credential(app, ["all"])[0])
    sent, token = sign_statement(simple(actor=ZOE))
    assert _post(api, sent, [token]).status_code == 200
    assert find_identifiers(store_bytes(storage_uri), jws_forms(token)) != []

"""multipart/mixed statement requests (Communication 1.5.2, RFC 2046 5.1) and the matching
of attachment data to attachment objects. Request bodies are written out byte by byte."""

from __future__ import annotations

import hashlib
import json

import pytest

from statements import (
    StatementError,
    attachment_hashes,
    build_multipart,
    match_attachments,
    parse_statement_parts,
    validate,
    validate_statements,
)
from statements.multipart import (
    BAD_BOUNDARY,
    BAD_DELIMITER_LINE,
    BAD_HASH,
    BAD_HEADER_LINE,
    FIRST_NOT_JSON,
    HASH_MISMATCH,
    LENGTH_MISMATCH,
    NO_CLOSE_DELIMITER,
    NO_DATA,
    NO_DELIMITER,
    NO_HASH,
    NO_HEADER_END,
    NO_PARTS,
    NOT_BINARY,
    NOT_MULTIPART,
    REPEATED_HEADER,
    TYPE_MISMATCH,
    UNUSED_PART,
    split_multipart,
)
from statements.signature import MISMATCH
from tests.jws_testing import SPEC_JWS, SPEC_SIGNED_STATEMENT, sign, signature_attachment

TEXT = b"here is a simple attachment"
TEXT_SHA = "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a"
BINARY = bytes(range(256)) + b"\r\n--\r\n\r\n--abc\r\n" + bytes(range(255, -1, -1))
BINARY_SHA = hashlib.sha256(BINARY).hexdigest()


def attachment(data: bytes, content_type: str = "text/plain", **extra: object) -> dict:
    return {
        "usageType": "http://example.com/attachment-usage/test",
        "display": {"en-US": "A test attachment"},
        "contentType": content_type,
        "length": len(data),
        "sha2": hashlib.sha256(data).hexdigest(),
        **extra,
    }


def statement(*attachments: dict, **extra: object) -> dict:
    return {
        "actor": {"objectType": "Agent", "mbox": "mailto:sample.agent@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
        "object": {"id": "http://www.example.com/tincan/activities/multipart"},
        "attachments": list(attachments),
        **extra,
    }


# The example of Communication 1.5.2, as sent: quoted boundary with every allowed character
# class, headers without a space after the colon.
SPEC_TYPE = "multipart/mixed; boundary=\"abcABC0123'()+_,-./:=?\""
SPEC_JSON = (
    b'{"actor":{"mbox":"mailto:sample.agent@example.com","name":"Sample Agent",'
    b'"objectType":"Agent"},"verb":{"id":"http://adlnet.gov/expapi/verbs/answered",'
    b'"display":{"en-US":"answered"}},"object":{"id":'
    b'"http://www.example.com/tincan/activities/multipart","objectType":"Activity"},'
    b'"attachments":[{"usageType":"http://example.com/attachment-usage/test",'
    b'"display":{"en-US":"A test attachment"},"contentType":"text/plain; charset=ascii",'
    b'"length":27,"sha2":"' + TEXT_SHA.encode() + b'"}]}'
)
SPEC_BODY = (
    b"--abcABC0123'()+_,-./:=?\r\n"
    b"Content-Type:application/json\r\n"
    b"\r\n" + SPEC_JSON + b"\r\n"
    b"--abcABC0123'()+_,-./:=?\r\n"
    b"Content-Type:text/plain\r\n"
    b"Content-Transfer-Encoding:binary\r\n"
    b"X-Experience-API-Hash:" + TEXT_SHA.encode() + b"\r\n"
    b"\r\n"
    b"here is a simple attachment\r\n"
    b"--abcABC0123'()+_,-./:=?--"
)

TYPE = "multipart/mixed; boundary=XyZ"


def body(first: bytes, *parts: bytes, preamble: bytes = b"", epilogue: bytes = b"") -> bytes:
    out = preamble + b"--XyZ\r\nContent-Type: application/json\r\n\r\n" + first
    for part in parts:
        out += b"\r\n--XyZ\r\n" + part
    return out + b"\r\n--XyZ--" + epilogue


def part(data: bytes, *, sha2: str | None = None, content_type: bytes = b"text/plain",
         encoding: bytes = b"binary", extra: bytes = b"") -> bytes:
    headers = b""
    if content_type:
        headers += b"Content-Type: " + content_type + b"\r\n"
    if encoding:
        headers += b"Content-Transfer-Encoding: " + encoding + b"\r\n"
    headers += b"X-Experience-API-Hash: " + (sha2 or hashlib.sha256(data).hexdigest()).encode()
    return headers + b"\r\n" + extra + b"\r\n" + data


def errors(content_type: str, raw: bytes) -> dict[str, list[str]]:
    with pytest.raises(StatementError) as caught:
        parse_statement_parts(raw, content_type)
    return caught.value.errors


# --- parsing ----------------------------------------------------------------------------


def test_the_communication_1_5_2_example_parses():
    first, parts = parse_statement_parts(SPEC_BODY, SPEC_TYPE)
    assert first == SPEC_JSON
    [only] = parts
    assert (only.index, only.sha2, only.content_type, only.data) == (1, TEXT_SHA, "text/plain",
                                                                     TEXT)
    statements = validate_statements(json.loads(first))
    # The part says text/plain, the object text/plain; charset=ascii: the same media type.
    assert match_attachments(statements, parts, batch=False) == {TEXT_SHA: ("text/plain", TEXT)}


def test_binary_data_with_crlf_and_dashes_survives_byte_for_byte():
    raw = body(b"[]", part(BINARY, content_type=b"application/octet-stream"))
    _, [only] = parse_statement_parts(raw, TYPE)
    assert only.data == BINARY
    assert only.sha2 == BINARY_SHA


def test_preamble_epilogue_and_transport_padding_are_ignored_rfc_2046():
    raw = (
        b"This is the preamble.\r\nIt is to be ignored.\r\n--XyZ  \t\r\n"
        b"Content-Type: application/json\r\n\r\n[]\r\n--XyZ\r\n" + part(TEXT)
        + b"\r\n--XyZ--  \r\nThis is the epilogue.\r\n--XyZ\r\nnot a part\r\n"
    )
    first, [only] = parse_statement_parts(raw, TYPE)
    assert (first, only.data) == (b"[]", TEXT)


def test_boundary_prefixes_inside_data_are_not_delimiters():
    data = b"a\r\n--XyA\r\nb\r\n--Xy\r\n--"
    _, [only] = parse_statement_parts(body(b"{}", part(data)), TYPE)
    assert only.data == data


def test_header_names_are_case_insensitive_and_folded_lines_join():
    raw = body(
        b"{}",
        b"content-type: text/plain;\r\n charset=ascii\r\nCONTENT-TRANSFER-ENCODING: BINARY\r\n"
        b"x-experience-api-hash: " + TEXT_SHA.upper().encode() + b"\r\n\r\n" + TEXT,
    )
    _, [only] = parse_statement_parts(raw, "Multipart/Mixed; charset=x; BOUNDARY=XyZ")
    assert (only.sha2, only.content_type) == (TEXT_SHA, "text/plain; charset=ascii")


def test_empty_parts_and_parts_without_headers_rfc_2046():
    raw = b"--XyZ\r\n\r\n--XyZ\r\n\r\nno headers\r\n--XyZ\r\n\r\n\r\n--XyZ--"
    parts = split_multipart(raw, "XyZ")
    assert [(p.headers, p.body) for p in parts] == [({}, b""), ({}, b"no headers"), ({}, b"")]


def test_attachment_hashes_of_a_statement_and_its_substatement():
    sub = {"objectType": "SubStatement", **statement(attachment(BINARY))}
    outer = statement(attachment(TEXT), attachment(TEXT), object=sub)
    assert attachment_hashes(validate(outer)) == [TEXT_SHA, BINARY_SHA]
    assert attachment_hashes(validate(statement())) == []


def test_part_without_content_type_is_allowed_and_empty_data_too():
    _, [one, empty] = parse_statement_parts(
        body(b"{}", part(TEXT, content_type=b""), part(b"")), TYPE
    )
    assert one.content_type is None
    assert empty.data == b"" and empty.sha2 == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("bits", [224, 256, 384, 512])
def test_every_sha2_length_is_checked(bits):
    digest = getattr(hashlib, f"sha{bits}")(TEXT).hexdigest()
    _, [only] = parse_statement_parts(body(b"{}", part(TEXT, sha2=digest)), TYPE)
    assert only.sha2 == digest
    wrong = getattr(hashlib, f"sha{bits}")(b"other").hexdigest()
    assert errors(TYPE, body(b"{}", part(TEXT, sha2=wrong))) == {
        "parts[1].X-Experience-API-Hash": [HASH_MISMATCH]
    }


def test_large_parts_full_of_crlf_and_dashes_parse_exactly():
    # 16 MiB of CRLF and dashes that resemble boundaries (a quadratic scan would also make
    # this test take minutes, which the suite's duration shows; speed is not asserted here).
    data = b"\r\n-\r\n--X\r" * (16 * 1024 * 1024 // 10)
    raw = body(b"{}", part(data), part(data[:-1]))
    _, parts = parse_statement_parts(raw, TYPE)
    assert [p.data for p in parts] == [data, data[:-1]]


# --- structural errors: 400 with the part and header named ------------------------------


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        ("application/json", NOT_MULTIPART),
        ("multipart/mixed", NOT_MULTIPART),
        ("multipart/form-data; boundary=XyZ", NOT_MULTIPART),
        ("multipart/mixed; boundary=\"\"", BAD_BOUNDARY),
        ("multipart/mixed; boundary=" + "a" * 71, BAD_BOUNDARY),
        ("multipart/mixed; boundary=\"ab<c\"", BAD_BOUNDARY),
    ],
)
def test_content_type_errors(content_type, message):
    assert errors(content_type, body(b"{}")) == {"Content-Type": [message]}


@pytest.mark.parametrize(
    ("raw", "path", "message"),
    [
        (b"{}", "", NO_DELIMITER),
        (b"--XyZ\nContent-Type: application/json\n\n{}\n--XyZ--\n", "parts[0]",
         BAD_DELIMITER_LINE),
        (b"--XyZ\r\nContent-Type: application/json\r\n\r\n{}\r\n--XyZ\r\n", "", NO_CLOSE_DELIMITER),
        (b"--XyZ\r\nContent-Type: application/json\r\n\r\n{}", "", NO_CLOSE_DELIMITER),
        (b"--XyZ\r\nContent-Type: application/json\r\n\r\n{}\r\n--XyZ", "", NO_CLOSE_DELIMITER),
        (b"--XyZ--", "", NO_PARTS),
        (b"--XyZ\r\n\r\n--XyZ--", "parts[0].Content-Type", FIRST_NOT_JSON),
        (b"--XyZjunk\r\nContent-Type: application/json\r\n\r\n{}\r\n--XyZ--", "parts[0]",
         BAD_DELIMITER_LINE),
        (b"--XyZ\r\nContent-Type: application/json\r\n{}\r\n--XyZ--", "parts[0]",
         NO_HEADER_END),
        (b"--XyZ\r\nContent-Type application/json\r\n\r\n{}\r\n--XyZ--", "parts[0]",
         BAD_HEADER_LINE),
        (b"--XyZ\r\n\r\n{}\r\n--XyZ--", "parts[0].Content-Type", FIRST_NOT_JSON),
        (b"--XyZ\r\nContent-Type: text/plain\r\n\r\n{}\r\n--XyZ--", "parts[0].Content-Type",
         FIRST_NOT_JSON),
        (body(b"{}", b"Content-Type: a/b\r\nContent-Type: a/b\r\n\r\nx"),
         "parts[1].content-type", REPEATED_HEADER),
    ],
)
def test_structure_errors(raw, path, message):
    assert errors(TYPE, raw) == {path: [message]}


@pytest.mark.parametrize(
    ("attachment_part", "path", "message"),
    [
        (part(TEXT, sha2="0" * 64), "parts[1].X-Experience-API-Hash", HASH_MISMATCH),
        (part(TEXT, sha2="xyz"), "parts[1].X-Experience-API-Hash", BAD_HASH),
        (part(TEXT, sha2="a" * 40), "parts[1].X-Experience-API-Hash", BAD_HASH),
        (b"Content-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n\r\n" + TEXT,
         "parts[1]", NO_HASH),
        (part(TEXT, encoding=b""), "parts[1].Content-Transfer-Encoding", NOT_BINARY),
        (part(TEXT, encoding=b"base64"), "parts[1].Content-Transfer-Encoding", NOT_BINARY),
    ],
)
def test_attachment_part_errors(attachment_part, path, message):
    assert errors(TYPE, body(b"{}", part(TEXT), attachment_part)) == {
        path.replace("parts[1]", "parts[2]"): [message]
    }


# --- matching parts to attachment objects (Communication 1.5.2) --------------------------


def parsed(*parts: bytes) -> list:
    return parse_statement_parts(body(b"{}", *parts), TYPE)[1]


def test_two_attachments_match_their_parts():
    batch = validate_statements([statement(attachment(TEXT)),
                                 statement(attachment(BINARY, "application/octet-stream"))])
    parts = parsed(part(BINARY, content_type=b"application/octet-stream"), part(TEXT))
    assert match_attachments(batch, parts) == {
        TEXT_SHA: ("text/plain", TEXT),
        BINARY_SHA: ("application/octet-stream", BINARY),
    }


def test_one_part_serves_every_statement_using_it():
    # SHOULD send one copy (Communication 1.5.2); a second copy of the same data is fine too.
    batch = validate_statements([statement(attachment(TEXT)), statement(attachment(TEXT))])
    assert match_attachments(batch, parsed(part(TEXT))) == {TEXT_SHA: ("text/plain", TEXT)}
    assert match_attachments(batch, parsed(part(TEXT), part(TEXT))) == {
        TEXT_SHA: ("text/plain", TEXT)
    }


def test_file_url_attachments_need_no_part():
    linked = attachment(b"elsewhere", fileUrl="http://example.com/file.txt")
    batch = validate_statements([statement(linked), statement()])
    assert match_attachments(batch, ()) == {}
    # A part for a fileUrl attachment is taken and stored.
    assert match_attachments(batch, parsed(part(b"elsewhere"))) == {
        hashlib.sha256(b"elsewhere").hexdigest(): ("text/plain", b"elsewhere")
    }


def test_missing_part_is_rejected_with_the_attachment_path():
    batch = validate_statements([statement(), statement(attachment(TEXT), attachment(BINARY))])
    with pytest.raises(StatementError) as caught:
        match_attachments(batch, parsed(part(TEXT)))
    assert caught.value.errors == {"[1].attachments[1].sha2": [NO_DATA]}


def test_application_json_needs_a_file_url_for_every_attachment():
    single = validate(statement(attachment(TEXT)))
    with pytest.raises(StatementError) as caught:
        match_attachments([single], batch=False)
    assert caught.value.errors == {"attachments[0].sha2": [NO_DATA]}


def test_substatement_attachments_need_data_too():
    sub = {"objectType": "SubStatement", **statement(attachment(TEXT))}
    outer = validate(statement(object=sub, attachments=[]))
    with pytest.raises(StatementError) as caught:
        match_attachments([outer], batch=False)
    assert caught.value.errors == {"object.attachments[0].sha2": [NO_DATA]}
    assert match_attachments([outer], parsed(part(TEXT)), batch=False) == {
        TEXT_SHA: ("text/plain", TEXT)
    }


def test_extra_part_is_rejected():
    batch = validate_statements([statement(attachment(TEXT))])
    with pytest.raises(StatementError) as caught:
        match_attachments(batch, parsed(part(TEXT), part(BINARY)))
    assert caught.value.errors == {"parts[2]": [UNUSED_PART]}


def test_part_headers_must_agree_with_the_attachment_object():
    batch = validate_statements([statement(attachment(TEXT, "text/plain"))])
    with pytest.raises(StatementError) as caught:
        match_attachments(batch, parsed(part(TEXT, content_type=b"image/png",
                                             extra=b"Content-Length: 99\r\n")))
    assert caught.value.errors == {
        "[0].attachments[0].contentType": [TYPE_MISMATCH],
        "[0].attachments[0].length": [LENGTH_MISMATCH],
    }
    right = parsed(part(TEXT, extra=f"Content-Length: {len(TEXT)}\r\n".encode()))
    assert match_attachments(batch, right)


def test_without_a_part_content_type_the_object_content_type_is_kept():
    batch = validate_statements([statement(attachment(TEXT, "text/x-essay"))])
    assert match_attachments(batch, parsed(part(TEXT, content_type=b""))) == {
        TEXT_SHA: ("text/x-essay", TEXT)
    }


# --- signatures (Data 2.6) through the request path --------------------------------------


def test_signed_statement_part_is_verified_and_kept():
    unsigned = statement()
    del unsigned["attachments"]
    token = sign(unsigned)
    batch = validate_statements([{**unsigned, "attachments": [signature_attachment(token)]}])
    sha2 = signature_attachment(token)["sha2"]
    parts = parsed(part(token, content_type=b"application/octet-stream"))
    assert match_attachments(batch, parts) == {sha2: ("application/octet-stream", token)}


def test_the_appendix_d_signed_statement_is_accepted():
    statements = validate_statements(SPEC_SIGNED_STATEMENT)
    parts = parsed(part(SPEC_JWS, content_type=b"application/octet-stream"))
    assert match_attachments(statements, parts, batch=False)


def test_bad_signature_is_reported_at_its_attachment():
    unsigned = statement()
    del unsigned["attachments"]
    token = sign({**unsigned, "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}})
    batch = validate_statements(
        [statement(), {**unsigned, "attachments": [attachment(TEXT), signature_attachment(token)]}]
    )
    with pytest.raises(StatementError) as caught:
        match_attachments(batch, parsed(part(TEXT), part(token, content_type=b"")))
    assert caught.value.errors == {"[1].attachments[1]": [MISMATCH]}


# --- building responses -----------------------------------------------------------------


def test_build_multipart_layout_and_round_trip():
    data = {TEXT_SHA: ("text/plain", TEXT), BINARY_SHA: ("application/octet-stream", BINARY)}
    content_type, raw = build_multipart(b'{"statements":[]}', data)
    boundary = content_type.split("boundary=", 1)[1]
    assert content_type.startswith("multipart/mixed; ")
    assert raw.startswith(
        f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode()
        + b'{"statements":[]}\r\n'
        + f"--{boundary}\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n"
          f"X-Experience-API-Hash: {TEXT_SHA}\r\n\r\n".encode() + TEXT + b"\r\n"
    )
    assert raw.endswith(BINARY + f"\r\n--{boundary}--\r\n".encode())
    first, parts = parse_statement_parts(raw, content_type)
    assert first == b'{"statements":[]}'
    assert {p.sha2: (p.content_type, p.data) for p in parts} == data


def test_build_multipart_without_attachments_has_only_the_statements_part():
    content_type, raw = build_multipart(b"{}", {})
    parts = split_multipart(raw, content_type.split("boundary=", 1)[1])
    assert [(p.headers, p.body) for p in parts] == [({"content-type": "application/json"}, b"{}")]


@pytest.mark.parametrize("stored", ["text/plain\r\nX-Evil: 1", "text/plain; charset=€",
                                    "text/plain\x00", 'text/plain; a="x\r\ny"'])
def test_build_multipart_cannot_be_broken_by_a_stored_content_type(stored):
    """Issue 10: data stored before media types were checked is sent as
    application/octet-stream, never as a header it could inject into or break."""
    content_type, body = build_multipart(b"{}", {TEXT_SHA: (stored, TEXT)})
    assert b"X-Evil" not in body and b"\x00" not in body.split(TEXT)[0]
    assert b"Content-Type: application/octet-stream\r\n" in body
    assert content_type.startswith("multipart/mixed; boundary=")


def test_a_part_with_a_bad_content_type_is_refused():
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Type: application/json\r\n\r\n[]\r\n"
            f"--{boundary}\r\nContent-Type: text/plain; charset=\xe9\xe9\r\n"
            f"Content-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {TEXT_SHA}\r\n\r\n"
            ).encode("latin-1") + TEXT + f"\r\n--{boundary}--".encode()
    with pytest.raises(StatementError) as info:
        parse_statement_parts(body, f"multipart/mixed; boundary={boundary}")
    assert "parts[1].Content-Type" in info.value.errors

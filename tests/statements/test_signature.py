"""Signed statements (Data 2.6): JWS decoding, x5c verification, payload comparison.

Every JWS here is built by hand in `tests.jws_testing` with a fresh RSA key and a
self-signed certificate, or is the example of Data Appendix D.
"""

from __future__ import annotations

import base64
import copy
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from statements import StatementError, is_signature_attachment, validate, verify_signature
from statements.signature import (
    BAD_ALGORITHM,
    BAD_CONTENT_TYPE,
    BAD_HEADER,
    BAD_PAYLOAD,
    BAD_SIGNATURE_BYTES,
    BAD_X5C,
    CRITICAL,
    INVALID_PAYLOAD,
    JSON_SERIALIZATION,
    MISMATCH,
    NOT_COMPACT,
    NOT_RSA,
    NOT_VERIFIED,
    decode_jws,
)
from tests.jws_testing import (
    SIGNATURE_USAGE,
    SPEC_JWS,
    SPEC_SIGNED_STATEMENT,
    b64url,
    rsa_key,
    self_signed,
    sign,
    signature_attachment,
    x5c,
)

UNSIGNED = {
    "id": "a9a0a5e8-5f3c-4f33-9c5d-2b7e8d7c6a01",
    "actor": {"objectType": "Agent", "mbox": "mailto:signer@example.com", "name": "Signer"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/passed", "display": {"en-US": "passed"}},
    "object": {"objectType": "Activity", "id": "http://example.com/exam"},
    "result": {"success": True, "duration": "PT1H0.12S"},
    "timestamp": "2024-05-01T10:00:00Z",
}


def signed(token: bytes, unsigned: dict = UNSIGNED) -> dict:
    """The validated statement as received: the unsigned one plus its signature object."""
    statement = copy.deepcopy(unsigned)
    statement.setdefault("attachments", []).append(signature_attachment(token))
    return validate(statement)


def check(statement: dict, token: bytes, index: int = -1) -> None:
    attachments = statement["attachments"]
    verify_signature(statement, attachments[index], token,
                     path=f"attachments[{index % len(attachments)}]")


def errors_of(statement: dict, token: bytes) -> dict[str, list[str]]:
    with pytest.raises(StatementError) as caught:
        check(statement, token)
    return caught.value.errors


# --- accepted ---------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_signature_with_x5c_is_verified_and_accepted_data_2_6(alg):
    token = sign(UNSIGNED, alg=alg)
    check(signed(token), token)


def test_the_appendix_d_example_is_accepted():
    statement = validate(SPEC_SIGNED_STATEMENT)
    check(statement, SPEC_JWS)


def test_without_x5c_the_signature_cannot_be_verified_and_is_accepted_data_2_6():
    # Data 2.6 verifies against the certificate only "if the JWS header includes" one.
    token = sign(UNSIGNED, with_x5c=False)
    check(signed(token), token)
    forged = token.rsplit(b".", 1)[0] + b"." + b64url(b"not the signature")
    check(signed(forged), forged)


def test_differences_the_lrs_may_cause_are_ignored_data_2_3_1():
    # Payload without id/timestamp/version (LRS-assigned) and a duration with more digits
    # (compared to 0.01 s), a timestamp in another offset, JWT claims added by a library.
    payload = {k: v for k, v in UNSIGNED.items() if k != "id"}
    payload["timestamp"] = "2024-05-01T12:00:00+02:00"
    payload["result"] = {"success": True, "duration": "PT1H0.1237S"}
    payload["iat"] = 1714557600
    token = sign(payload)
    check(signed(token), token)


def test_other_attachments_are_part_of_the_signed_statement():
    essay = {
        "usageType": "http://example.com/usage/essay",
        "display": {"en-US": "Essay"},
        "contentType": "text/plain",
        "length": 5,
        "sha2": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
    }
    with_essay = {**UNSIGNED, "attachments": [essay]}
    token = sign(with_essay)
    check(signed(token, with_essay), token)
    # Signed without the essay, received with it: not the statement before signing.
    token = sign(UNSIGNED)
    assert errors_of(signed(token, with_essay), token) == {"attachments[1]": [MISMATCH]}


def test_signature_attachment_in_the_payload_is_tolerated():
    token_less = {**UNSIGNED, "attachments": [signature_attachment(b"placeholder")]}
    token = sign(token_less)
    check(signed(token), token)


def test_is_signature_attachment():
    assert is_signature_attachment(signature_attachment(b"x"))
    assert not is_signature_attachment({**signature_attachment(b"x"), "usageType": "http://e.com/u"})


# --- rejected (400) ---------------------------------------------------------------------


def test_tampered_payload_fails_verification():
    token = sign(UNSIGNED)
    header, _, signature = token.split(b".")
    other = {**UNSIGNED, "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}}
    tampered = header + b"." + b64url(json.dumps(other).encode()) + b"." + signature
    assert errors_of(signed(tampered, other), tampered) == {"attachments[0]": [NOT_VERIFIED]}


def test_payload_of_another_statement_is_a_mismatch():
    other = {**UNSIGNED, "result": {"success": False}}
    token = sign(other)
    assert errors_of(signed(token), token) == {"attachments[0]": [MISMATCH]}


def test_statement_changed_after_signing_is_a_mismatch():
    token = sign(UNSIGNED)
    changed = {**UNSIGNED, "object": {"objectType": "Activity", "id": "http://example.com/x"}}
    assert errors_of(signed(token, changed), token) == {"attachments[0]": [MISMATCH]}


def test_wrong_key_fails_verification():
    token = sign(UNSIGNED, key=rsa_key("signer"), certificate_key=rsa_key("someone else"))
    assert errors_of(signed(token), token) == {"attachments[0]": [NOT_VERIFIED]}


@pytest.mark.parametrize("alg", ["HS256", "none", "ES256", "PS256", "rs256", None])
def test_algorithm_other_than_rs256_384_512_is_rejected_data_2_6(alg):
    header = {"x5c": x5c(self_signed(rsa_key()))}
    if alg is not None:
        header["alg"] = alg
    token = sign(UNSIGNED, header=header)
    assert errors_of(signed(token), token) == {"attachments[0]": [BAD_ALGORITHM]}


def test_x5c_with_a_non_rsa_certificate_is_rejected():
    ec_key = ec.generate_private_key(ec.SECP256R1())
    token = sign(UNSIGNED, header={"alg": "RS256", "x5c": x5c(self_signed(ec_key))})
    assert errors_of(signed(token), token) == {"attachments[0]": [NOT_RSA]}


@pytest.mark.parametrize("value", [[], "MIIB", ["not base64!"], [base64.b64encode(b"junk")
                                                                 .decode()], [7]])
def test_malformed_x5c_is_rejected(value):
    token = sign(UNSIGNED, header={"alg": "RS256", "x5c": value})
    assert errors_of(signed(token), token) == {"attachments[0]": [BAD_X5C]}


def test_critical_header_extensions_are_rejected():
    token = sign(UNSIGNED, header={"alg": "RS256", "crit": ["b64"], "b64": False})
    assert errors_of(signed(token), token) == {"attachments[0]": [CRITICAL]}


def _parts(token: bytes) -> list[bytes]:
    return token.split(b".")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda t: b".".join(_parts(t)[:2]), NOT_COMPACT),
        (lambda t: t + b".abc", NOT_COMPACT),
        (lambda t: b'{"payload":"x","signatures":[]}', JSON_SERIALIZATION),
        (lambda t: b"e30*." + b".".join(_parts(t)[1:]), BAD_HEADER),
        (lambda t: b64url(b"[1]") + b"." + b".".join(_parts(t)[1:]), BAD_HEADER),
        (lambda t: b64url(b"not json") + b"." + b".".join(_parts(t)[1:]), BAD_HEADER),
        (lambda t: b"a" + b".".join(_parts(t)), BAD_HEADER),
        (lambda t: _parts(t)[0] + b"." + b64url(b"not json") + b"." + _parts(t)[2],
         BAD_PAYLOAD),
        (lambda t: _parts(t)[0] + b"." + b64url(b'"a string"') + b"." + _parts(t)[2],
         BAD_PAYLOAD),
        (lambda t: b".".join(_parts(t)[:2]) + b".", BAD_SIGNATURE_BYTES),
        (lambda t: b".".join(_parts(t)[:2]) + b".a+b/", BAD_SIGNATURE_BYTES),
    ],
)
def test_malformed_jws_is_rejected_data_2_6(make, message):
    token = make(sign(UNSIGNED, with_x5c=False))
    assert errors_of(signed(token), token) == {"attachments[0]": [message]}


def test_payload_that_is_not_a_valid_statement_is_rejected():
    token = sign({**UNSIGNED, "verb": {"id": "not an iri"}}, with_x5c=False)
    [message] = errors_of(signed(token), token)["attachments[0]"]
    assert message.startswith(INVALID_PAYLOAD) and "verb.id" in message


def test_signature_attachment_needs_octet_stream_content_type_data_2_6():
    token = sign(UNSIGNED)
    statement = signed(token)
    statement["attachments"][0]["contentType"] = "application/jose"
    assert errors_of(statement, token) == {"attachments[0].contentType": [BAD_CONTENT_TYPE]}
    # Even when the JWS was not received (fileUrl only), the object is checked.
    with pytest.raises(StatementError):
        verify_signature(statement, statement["attachments"][0], None)


def test_not_received_jws_checks_only_the_object():
    statement = signed(b"whatever")
    verify_signature(statement, statement["attachments"][0], None)


def test_decode_jws_exposes_header_payload_and_signing_input():
    token = sign(UNSIGNED, alg="RS384", with_x5c=False)
    jws = decode_jws(b"  " + token + b"\r\n")
    assert jws.header == {"alg": "RS384"}
    assert jws.payload == UNSIGNED
    assert jws.signing_input == token.rsplit(b".", 1)[0]
    assert SIGNATURE_USAGE == "http://adlnet.gov/expapi/attachments/signature"

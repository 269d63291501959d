"""Signed statements (Data 2.6): decoding the JWS and checking it against the statement.

A signature is an attachment with usageType `http://adlnet.gov/expapi/attachments/signature`
whose data is a JWS (RFC 7515). Data 2.6, LRS Requirements, says the LRS MUST reject a
statement with a malformed signature (400), and to decide that it MUST:

- decode the JWS and load the signed statement from its payload;
- check the payload is logically equivalent to the received statement (Data 2.3.1,
  Statement Comparison Requirements: `statements_equal`);
- when the JWS header carries an X.509 certificate (`x5c`), verify the signature with it;
- check the signature requirements: contentType `application/octet-stream`, algorithm
  RS256, RS384 or RS512, a payload that is a valid statement.

Without `x5c` there is nothing to verify the signature against, and the spec asks no more:
such a JWS is accepted once well formed and matching. The certificate itself is not
validated (expiry, chain): the Data 2.6 note says this check catches mistakes, it is not a
security measure. Only the compact serialization is parsed (Data 2.6 SHOULD*, and the only
form the ADL test suite sends).

The payload is the statement "before the signature was added", so signature attachments are
left out on both sides before comparing. JWT registered claims (`iat`, `exp`...) some signing
libraries add to the payload are dropped too, as the ADL suite does (xapi-2.0-notes.md 6): a
statement can never hold those keys, so dropping them cannot hide a difference.

The payload carries the signer's statement in clear, identities included: callers that
pseudonymize find signatures with `is_signature_attachment`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from statements.attachment import SIGNATURE_USAGE
from statements.compare import statements_equal
from statements.errors import StatementError
from statements.statement import validate

__all__ = [
    "SIGNATURE_CONTENT_TYPE",
    "SIGNATURE_USAGE",
    "Jws",
    "decode_jws",
    "is_signature_attachment",
    "verify_signature",
]

SIGNATURE_CONTENT_TYPE = "application/octet-stream"

_ALGORITHMS: dict[str, type[hashes.HashAlgorithm]] = {
    "RS256": hashes.SHA256,
    "RS384": hashes.SHA384,
    "RS512": hashes.SHA512,
}
# RFC 7519 4.1, the registered claim names.
_JWT_CLAIMS = frozenset(("iss", "sub", "aud", "exp", "nbf", "iat", "jti"))
_BASE64URL = re.compile(rb"[A-Za-z0-9_-]*")

NOT_COMPACT = "must be a JWS in compact serialization: three base64url parts joined by '.'"
JSON_SERIALIZATION = "JWS JSON serialization is not supported; use the compact serialization"
BAD_HEADER = "the JWS header must be a base64url-encoded JSON object"
BAD_ALGORITHM = "the JWS algorithm (alg) must be RS256, RS384 or RS512"
CRITICAL = "the JWS header names critical extensions (crit) this LRS does not understand"
BAD_PAYLOAD = "the JWS payload must be a base64url-encoded JSON statement"
INVALID_PAYLOAD = "the JWS payload is not a valid statement"
MISMATCH = "the JWS payload does not match the statement (Data 2.6, Data 2.3.1)"
BAD_SIGNATURE_BYTES = "the JWS signature must be base64url-encoded and not empty"
BAD_X5C = "the JWS x5c header must be a list of base64 DER X.509 certificates"
NOT_RSA = "the x5c certificate must hold an RSA public key"
NOT_VERIFIED = "the JWS signature does not verify with the x5c certificate"
BAD_CONTENT_TYPE = f"a signature attachment must have contentType {SIGNATURE_CONTENT_TYPE}"


@dataclass(frozen=True, slots=True)
class Jws:
    """A decoded JWS compact serialization; `signing_input` is what the signature covers
    (RFC 7515 5.2: the encoded header, '.', the encoded payload)."""

    header: dict[str, Any]
    payload: Any
    signing_input: bytes
    signature: bytes


def is_signature_attachment(attachment: Mapping[str, Any]) -> bool:
    """Whether an attachment object is a statement signature (Data 2.6)."""
    return attachment.get("usageType") == SIGNATURE_USAGE


def _b64url(segment: bytes) -> bytes:
    if _BASE64URL.fullmatch(segment) is None or len(segment) % 4 == 1:
        raise ValueError
    return base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))


def decode_jws(token: bytes) -> Jws:
    """Parse a JWS compact serialization. Raises ValueError with a rule message."""
    token = token.strip()
    if token.startswith(b"{"):
        raise ValueError(JSON_SERIALIZATION)
    segments = token.split(b".")
    if len(segments) != 3:
        raise ValueError(NOT_COMPACT)
    encoded_header, encoded_payload, encoded_signature = segments
    try:
        header = orjson.loads(_b64url(encoded_header))
    except (ValueError, binascii.Error):
        raise ValueError(BAD_HEADER) from None
    if type(header) is not dict:
        raise ValueError(BAD_HEADER)
    if header.get("alg") not in _ALGORITHMS:
        raise ValueError(BAD_ALGORITHM)
    if "crit" in header:
        raise ValueError(CRITICAL)
    try:
        payload = orjson.loads(_b64url(encoded_payload))
    except (ValueError, binascii.Error):
        raise ValueError(BAD_PAYLOAD) from None
    try:
        signature = _b64url(encoded_signature)
    except (ValueError, binascii.Error):
        raise ValueError(BAD_SIGNATURE_BYTES) from None
    if not signature:
        raise ValueError(BAD_SIGNATURE_BYTES)
    return Jws(header, payload, encoded_header + b"." + encoded_payload, signature)


def _certificate_key(x5c: Any) -> rsa.RSAPublicKey:
    """The public key of the first certificate of the chain (RFC 7515 4.1.6: standard
    base64 of DER, the signer's certificate first)."""
    if type(x5c) is not list or not x5c or type(x5c[0]) is not str:
        raise ValueError(BAD_X5C)
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(x5c[0], validate=True))
    except (ValueError, binascii.Error):
        raise ValueError(BAD_X5C) from None
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(NOT_RSA)
    return key


def _verify(jws: Jws) -> None:
    if "x5c" not in jws.header:
        return
    key = _certificate_key(jws.header["x5c"])
    algorithm = _ALGORITHMS[jws.header["alg"]]()
    try:
        key.verify(jws.signature, jws.signing_input, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise ValueError(NOT_VERIFIED) from None


def _unsigned(statement: dict[str, Any]) -> dict[str, Any]:
    """The statement as it was before its signature was added."""
    attachments = statement.get("attachments")
    if not attachments:
        return statement
    out = dict(statement)
    kept = [a for a in attachments if not is_signature_attachment(a)]
    if kept:
        out["attachments"] = kept
    else:
        del out["attachments"]
    return out


def verify_signature(
    statement: dict[str, Any],
    attachment: Mapping[str, Any],
    token: bytes | None,
    *,
    path: str = "",
    version: str = "1.0.3",
) -> None:
    """Check one signature attachment of a validated statement and its JWS data (Data 2.6).

    `token` is None when the JWS was not received (an attachment given by `fileUrl` only):
    then only the attachment object can be checked. Raises StatementError with the problem
    under `path` (the attachment's JSON path).
    """
    content_type = attachment.get("contentType", "")
    if content_type.partition(";")[0].strip().lower() != SIGNATURE_CONTENT_TYPE:
        raise StatementError({_join(path, "contentType"): [BAD_CONTENT_TYPE]})
    if token is None:
        return
    try:
        jws = decode_jws(token)
        _verify(jws)
    except ValueError as exc:
        raise StatementError({path: [str(exc)]}) from None
    if type(jws.payload) is not dict:
        raise StatementError({path: [BAD_PAYLOAD]})
    payload = {k: v for k, v in jws.payload.items() if k not in _JWT_CLAIMS}
    try:
        signed = validate(payload, version=version)
    except StatementError as exc:
        raise StatementError({path: [f"{INVALID_PAYLOAD}: {exc}"]}) from None
    if not statements_equal(_unsigned(signed), _unsigned(statement)):
        raise StatementError({path: [MISMATCH]})


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key

"""Statements with attachment data: the multipart/mixed transmission format
(Communication 1.5.2, RFC 2046 5.1) and the rules matching data to attachment objects.

A request body is split in one forward pass (`bytes.find` from a moving offset, so the cost
is linear in the body whatever the parts hold, CR and LF included); each part is copied once.
The first part holds the statements (`application/json`); each further part holds the raw
data of an attachment, named by its `X-Experience-API-Hash` and sent with
`Content-Transfer-Encoding: binary`. Data is matched to attachment objects by SHA-2 only
(Communication 1.5.2: "It MUST not do so any other way").

Attachment data is keyed by the lowercase hex `sha2` everywhere (`AttachmentData`), which is
also how storage deduplicates it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from statements.errors import StatementError
from statements.signature import is_signature_attachment, verify_signature
from statements.values import MEDIA_TYPE_ERROR, check_media_type, safe_media_type

__all__ = [
    "AttachmentData",
    "AttachmentPart",
    "Part",
    "attachment_hashes",
    "build_multipart",
    "match_attachments",
    "multipart_boundary",
    "parse_statement_parts",
    "split_multipart",
]

# sha2 (lowercase hex) -> (content type, raw data)
AttachmentData = dict[str, tuple[str, bytes]]

HASH_HEADER = "X-Experience-API-Hash"
ENCODING_HEADER = "Content-Transfer-Encoding"
MIXED = "multipart/mixed"
JSON = "application/json"

_CRLF = b"\r\n"
_BOUNDARY_PARAM = re.compile(r';\s*boundary\s*=\s*(?:"([^"]*)"|([^\s;"]+))', re.IGNORECASE)
# RFC 2046 5.1.1: 1 to 70 bchars, the last not a space.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_SHA2_HEX = re.compile(r"[0-9a-f]{56}|[0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128}")
_HASHES: dict[int, Callable[[bytes], Any]] = {
    56: hashlib.sha224,
    64: hashlib.sha256,
    96: hashlib.sha384,
    128: hashlib.sha512,
}

NOT_MULTIPART = "Content-Type must be multipart/mixed with a boundary parameter"
BAD_BOUNDARY = "the boundary must be 1 to 70 RFC 2046 boundary characters"
NO_DELIMITER = "no boundary delimiter (CRLF, '--', the boundary) found in the body"
BAD_DELIMITER_LINE = "a boundary delimiter must be followed by CRLF or '--' (RFC 2046 5.1.1)"
NO_CLOSE_DELIMITER = "the body must end with the close delimiter '--boundary--'"
NO_HEADER_END = "part headers must end with an empty line (CRLF CRLF)"
BAD_HEADER_LINE = "a part header line must be 'Name: value'"
REPEATED_HEADER = "a part header must not be given twice"
NO_PARTS = "the body must hold at least the statements part"
FIRST_NOT_JSON = "the first part must have Content-Type application/json"
NO_HASH = "an attachment part must have an X-Experience-API-Hash header"
BAD_HASH = "must be the hexadecimal SHA-2 hash of the part body"
HASH_MISMATCH = "does not match the SHA-2 of the part body"
NOT_BINARY = "an attachment part must have Content-Transfer-Encoding: binary"
NO_DATA = "no attachment part with this hash was received, and the attachment has no fileUrl"
UNUSED_PART = "no attachment object in the statements has this part's hash"
TYPE_MISMATCH = "does not match the Content-Type of the attachment part"
LENGTH_MISMATCH = "does not match the Content-Length of the attachment part"


@dataclass(frozen=True, slots=True)
class Part:
    """One body part: headers by lowercase name, and the raw body."""

    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class AttachmentPart:
    """An attachment part whose hash was checked; `index` is its position in the body
    (the statements part is 0), for error paths; headers not sent are None."""

    index: int
    sha2: str
    content_type: str | None
    content_length: str | None
    data: bytes


def _fail(path: str, message: str) -> StatementError:
    return StatementError({path: [message]})


def _essence(content_type: str) -> str:
    """type/subtype, lowercase, without parameters (RFC 2045 5.1)."""
    return content_type.partition(";")[0].strip().lower()


def multipart_boundary(content_type: str) -> str:
    """The boundary of a multipart/mixed Content-Type. Raises StatementError."""
    if _essence(content_type) != MIXED:
        raise _fail("Content-Type", NOT_MULTIPART)
    match = _BOUNDARY_PARAM.search(content_type)
    if match is None:
        raise _fail("Content-Type", NOT_MULTIPART)
    boundary = match.group(1) if match.group(1) is not None else match.group(2)
    if _BOUNDARY.fullmatch(boundary) is None:
        raise _fail("Content-Type", BAD_BOUNDARY)
    return boundary


def _headers(raw: bytes, path: str) -> dict[str, str]:
    """RFC 822-style header lines (RFC 2046 5.1.1), folded lines joined."""
    lines: list[str] = []
    for line in raw.decode("latin-1").split("\r\n"):
        if line[:1] in (" ", "\t") and lines:
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        name = name.strip().lower()
        if not colon or not name or " " in name:
            raise _fail(path, BAD_HEADER_LINE)
        if name in headers:
            raise _fail(f"{path}.{name}", REPEATED_HEADER)
        headers[name] = value.strip()
    return headers


def _part(body: bytes, start: int, end: int, index: int) -> Part:
    path = f"parts[{index}]"
    if start == end:  # RFC 2046 5.1.1 allows an empty part: no headers, no body
        return Part({}, b"")
    if body.startswith(_CRLF, start, end):  # no headers: the body follows at once
        return Part({}, body[start + 2 : end])
    header_end = body.find(_CRLF + _CRLF, start, end)
    if header_end < 0:
        raise _fail(path, NO_HEADER_END)
    return Part(_headers(body[start:header_end], path), body[header_end + 4 : end])


def split_multipart(body: bytes, boundary: str) -> list[Part]:
    """The body parts of a multipart entity (RFC 2046 5.1.1). Preamble and epilogue are
    ignored; every delimiter is CRLF "--" boundary. Raises StatementError."""
    dash = b"--" + boundary.encode("ascii")
    delimiter = _CRLF + dash
    if body.startswith(dash):
        pos = len(dash)
    else:
        found = body.find(delimiter)
        if found < 0:
            raise _fail("", NO_DELIMITER)
        pos = found + len(delimiter)
    parts: list[Part] = []
    while not body.startswith(b"--", pos):
        if pos == len(body):
            raise _fail("", NO_CLOSE_DELIMITER)
        line_end = body.find(_CRLF, pos)
        if line_end < 0 or body[pos:line_end].strip(b" \t"):
            raise _fail(f"parts[{len(parts)}]", BAD_DELIMITER_LINE)
        start = line_end + 2
        end = body.find(delimiter, start)
        if end < 0:
            raise _fail("", NO_CLOSE_DELIMITER)
        parts.append(_part(body, start, end, len(parts)))
        pos = end + len(delimiter)
    return parts


def _attachment_part(part: Part, index: int) -> AttachmentPart:
    path = f"parts[{index}]"
    headers = part.headers
    encoding = headers.get("content-transfer-encoding")
    if encoding is None or encoding.lower() != "binary":
        raise _fail(f"{path}.{ENCODING_HEADER}", NOT_BINARY)
    declared = headers.get("x-experience-api-hash")
    if declared is None:
        raise _fail(path, NO_HASH)
    declared = declared.lower()
    if _SHA2_HEX.fullmatch(declared) is None:
        raise _fail(f"{path}.{HASH_HEADER}", BAD_HASH)
    if _HASHES[len(declared)](part.body).hexdigest() != declared:
        raise _fail(f"{path}.{HASH_HEADER}", HASH_MISMATCH)
    content_type = headers.get("content-type") or None
    if content_type is not None and check_media_type(content_type) is not None:
        raise _fail(f"{path}.Content-Type", MEDIA_TYPE_ERROR)
    return AttachmentPart(
        index, declared, content_type, headers.get("content-length"), part.body
    )


def parse_statement_parts(
    body: bytes, content_type: str
) -> tuple[bytes, list[AttachmentPart]]:
    """Split a multipart/mixed statement request (Communication 1.5.2) into the statements
    JSON (not parsed here) and its attachment parts, each hash checked against its body.
    Raises StatementError naming the part (`parts[i]`) and header at fault."""
    parts = split_multipart(body, multipart_boundary(content_type))
    if not parts:
        raise _fail("", NO_PARTS)
    first = parts[0]
    if _essence(first.headers.get("content-type", "")) != JSON:
        raise _fail("parts[0].Content-Type", FIRST_NOT_JSON)
    return first.body, [_attachment_part(p, i) for i, p in enumerate(parts[1:], 1)]


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _attachments(
    statement: dict[str, Any], prefix: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every attachment object with its JSON path, a SubStatement's included (Data 2.4.11)."""
    for index, attachment in enumerate(statement.get("attachments") or ()):
        yield _join(prefix, f"attachments[{index}]"), attachment
    target = statement.get("object")
    if type(target) is dict and target.get("objectType") == "SubStatement":
        for index, attachment in enumerate(target.get("attachments") or ()):
            yield _join(prefix, f"object.attachments[{index}]"), attachment


def attachment_hashes(statement: dict[str, Any]) -> list[str]:
    """The sha2 (lowercase) of every attachment object of a statement, a SubStatement's
    included, first seen first: the data a GET with `attachments=true` sends."""
    return list(dict.fromkeys(a["sha2"].lower() for _, a in _attachments(statement, "")))


def match_attachments(
    statements: Sequence[dict[str, Any]],
    parts: Sequence[AttachmentPart] = (),
    *,
    batch: bool = True,
    version: str = "1.0.3",
) -> AttachmentData:
    """Match validated statements' attachment objects with the data received (Communication
    1.5.2) and check their signatures (Data 2.6); return the data to store, by sha2.

    Every attachment needs a part with its hash or a `fileUrl` (with no parts at all, an
    application/json request, every attachment needs a `fileUrl`); every part must be used;
    where a part sends Content-Type or Content-Length, it must agree with the object's
    `contentType` (media type, parameters aside) and `length`; the data itself is not
    measured against `length` (only the hash names data). `batch` says whether error
    paths start with the statement index (a JSON array was sent). All problems are raised at
    once as one StatementError.
    """
    received: dict[str, AttachmentPart] = {}
    for sent in parts:
        received.setdefault(sent.sha2, sent)
    used: set[str] = set()
    data: AttachmentData = {}
    errors: dict[str, list[str]] = {}
    for index, statement in enumerate(statements):
        prefix = f"[{index}]" if batch else ""
        for path, attachment in _attachments(statement, prefix):
            part = received.get(attachment["sha2"].lower())
            if part is None:
                if "fileUrl" not in attachment:
                    errors[_join(path, "sha2")] = [NO_DATA]
                continue
            used.add(part.sha2)
            errors.update(_disagreements(attachment, part, path))
            data.setdefault(part.sha2, (part.content_type or attachment["contentType"], part.data))
        for sig_index, attachment in enumerate(statement.get("attachments") or ()):
            if not is_signature_attachment(attachment):
                continue
            part = received.get(attachment["sha2"].lower())
            try:
                verify_signature(
                    statement, attachment, part.data if part is not None else None,
                    path=_join(prefix, f"attachments[{sig_index}]"), version=version,
                )
            except StatementError as exc:
                errors.update(exc.errors)
    for part in parts:
        if part.sha2 not in used:
            errors.setdefault(f"parts[{part.index}]", []).append(UNUSED_PART)
    if errors:
        raise StatementError(errors)
    return data


def _disagreements(
    attachment: dict[str, Any], part: AttachmentPart, path: str
) -> dict[str, list[str]]:
    """Communication 1.5.2: a part parameter and its attachment property must match."""
    errors = {}
    if part.content_type is not None and _essence(part.content_type) != _essence(
        attachment["contentType"]
    ):
        errors[_join(path, "contentType")] = [TYPE_MISMATCH]
    if part.content_length is not None and part.content_length != str(attachment["length"]):
        errors[_join(path, "length")] = [LENGTH_MISMATCH]
    return errors


def build_multipart(json_bytes: bytes, parts: Mapping[str, tuple[str, bytes]]) -> tuple[str, bytes]:
    """A multipart/mixed entity: the statements JSON, then one part per attachment (sha2 ->
    (content type, data)), as Communication 1.5.2 describes. Returns (Content-Type, body)."""
    while True:
        boundary = secrets.token_hex(16)
        marker = boundary.encode("ascii")
        if marker not in json_bytes and not any(marker in d for _, d in parts.values()):
            break
    chunks = [b"--", marker, b"\r\nContent-Type: application/json\r\n\r\n", json_bytes]
    for sha2, (content_type, content) in parts.items():
        chunks += [
            b"\r\n--", marker,
            f"\r\nContent-Type: {safe_media_type(content_type)}"
            "\r\nContent-Transfer-Encoding: binary"
            f"\r\n{HASH_HEADER}: {sha2}\r\n\r\n".encode("latin-1"),
            content,
        ]
    chunks += [b"\r\n--", marker, b"--\r\n"]
    return f"{MIXED}; boundary={boundary}", b"".join(chunks)

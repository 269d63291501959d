"""Checks for the xAPI value formats (Data 2.2, 4.1 to 4.6).

Each `check_*` takes a parsed JSON value and returns None when it is valid, else a short
rule message. Types are strict (Data 2.2): `true` is not a number, `"1"` is not a number,
`1` is not a string. Regular expressions are compiled once here.
"""

from __future__ import annotations

import math
import re
from typing import Any

from statements.timestamps import parse_timestamp

# RFC 3987 best effort (Data 2.2 allows it): a scheme, then no whitespace, no characters
# IRIs exclude, and `%` only as a percent-encoding.
_IRI_BODY = r"(?:[^\s<>\"{}|\\^`%\x00-\x1f\x7f]|%[0-9A-Fa-f]{2})+"
_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:" + _IRI_BODY)
# A URI is an IRI restricted to ASCII (RFC 3986).
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:(?:[!#$&-;=?-\[\]_a-z~]|%[0-9A-Fa-f]{2})+")
_MAILTO = re.compile(r"(?i:mailto):[^\s@<>\"]+@[^\s@<>\"]+")
_SHA1 = re.compile(r"[0-9A-Fa-f]{40}")
_SHA2 = re.compile(r"[0-9A-Fa-f]{56}|[0-9A-Fa-f]{64}|[0-9A-Fa-f]{96}|[0-9A-Fa-f]{128}")
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
# Data 4.6: ISO 8601:2004 4.4.3.2 durations; weeks stand alone; the 4.4.3.3 alternative
# format (P0003-02-01...) is excluded.
_NUM = r"\d+(?:[.,]\d+)?"
_DURATION = re.compile(
    rf"P(?:{_NUM}W|(?=[\dT])(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}D)?"
    rf"(?:T(?=\d)(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?)"
)
# A subset of what `parse_timestamp` accepts, valid whatever the month: see check_timestamp.
_COMMON_TIMESTAMP = re.compile(
    r"(?!0000)\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(?:\.\d{1,9})?(?:Z|\+00:00)"
)
# Data 2.4.10: a statement version is formatted like the version header (Communication 3.3),
# so "1.0" (taken as 1.0.0) or one starting with "1.0." (Semantic Versioning 1.0.0 patch).
_VERSION = re.compile(r"1\.0(?:\.(?:0|[1-9][0-9]*))?")
# xAPI 2.0 statements may carry either family's version (xapi-2.0-notes.md section 1).
_VERSION_2_0 = re.compile(r"[12]\.0(?:\.(?:0|[1-9][0-9]*))?")
# A media type by the grammar of RFC 7231 3.1.1.1 (and RFC 2045 5.1): type "/" subtype,
# then parameters, each a token or a quoted-string, with optional space or tab around ";".
# Visible ASCII only: obs-text (bytes above 0x7F) is not allowed, and neither is any control
# character, so a stored value can always be sent back as a header (a CR or LF would split
# it, a NUL or a non-Latin-1 character cannot be written at all).
_MIME_CHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[\t !#-\[\]-~]|\\[\t -~])*"'
_MEDIA_TYPE = re.compile(
    rf"{_MIME_CHARS}/{_MIME_CHARS}(?:[ \t]*;[ \t]*{_MIME_CHARS}=(?:{_MIME_CHARS}|{_QUOTED}))*",
    re.ASCII,
)

# RFC 5646 section 2.1, case-insensitive.
_ALNUM = "[A-Za-z0-9]"
_LANGTAG = (
    r"(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})"  # language (+ extlang)
    r"(?:-[A-Za-z]{4})?"  # script
    r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"  # region
    rf"(?:-(?:{_ALNUM}{{5,8}}|[0-9]{_ALNUM}{{3}}))*"  # variants
    rf"(?:-[0-9A-WYZa-wyz](?:-{_ALNUM}{{2,8}})+)*"  # extensions
    rf"(?:-[Xx](?:-{_ALNUM}{{1,8}})+)?"  # private use
)
_PRIVATEUSE = rf"[Xx](?:-{_ALNUM}{{1,8}})+"
_GRANDFATHERED = (
    "en-GB-oed|i-ami|i-bnn|i-default|i-enochian|i-hak|i-klingon|i-lux|i-mingo|i-navajo|"
    "i-pwn|i-tao|i-tay|i-tsu|sgn-BE-FR|sgn-BE-NL|sgn-CH-DE|art-lojban|cel-gaulish|no-bok|"
    "no-nyn|zh-guoyu|zh-hakka|zh-min|zh-min-nan|zh-xiang"
)
_LANGUAGE_TAG = re.compile(rf"{_LANGTAG}|{_PRIVATEUSE}|(?i:{_GRANDFATHERED})")

# Integers beyond 64 bits cannot be stored (the storage codec, orjson, refuses them); JSON
# itself sets no limit, but Data 2.2 only asks for IEEE 754 single precision.
_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1

IRI_ERROR = "must be an absolute IRI"
IRL_ERROR = "must be an absolute IRL"
URI_ERROR = "must be an absolute URI"
MAILTO_ERROR = "must be a mailto IRI (mailto:address)"
SHA1_ERROR = "must be 40 hexadecimal digits (SHA-1)"
SHA2_ERROR = "must be a hexadecimal SHA-2 hash"
UUID_ERROR = "must be a UUID in canonical form"
DURATION_ERROR = "must be an ISO 8601 duration"
VERSION_ERROR = "must be a 1.0.x version"
VERSION_2_0_ERROR = "must be a 1.0.x or 2.0.x version"
LANGUAGE_TAG_ERROR = "must be an RFC 5646 language tag"
MEDIA_TYPE_ERROR = "must be an Internet media type"
STRING_ERROR = "must be a string"
BOOLEAN_ERROR = "must be a boolean"
NUMBER_ERROR = "must be a number"
INTEGER_ERROR = "must be a non-negative integer"
OBJECT_ERROR = "must be an object"
TIMESTAMP_ERROR = "must be an ISO 8601 timestamp"


# Strings that matched a memoized pattern, per pattern: the IRIs and language tags of a
# batch (verbs, activity ids and types, extension keys, language map keys) repeat in
# statement after statement, and a dict lookup costs less than the regular expression.
# Emptied when full (as `statements.base.BoundedCache`); longer strings are not kept.
_MEMO_SIZE = 4096
_MEMO_MAX_LENGTH = 256


def _memoized(pattern: re.Pattern[str]) -> Any:
    """A `fullmatch(value) -> bool` for strings that remembers the ones that matched."""
    fullmatch = pattern.fullmatch
    known: dict[str, None] = {}

    def matches(value: str) -> bool:
        if value in known:
            return True
        if fullmatch(value) is None:
            return False
        if len(value) <= _MEMO_MAX_LENGTH:
            if len(known) >= _MEMO_SIZE:
                known.clear()
            known[value] = None
        return True

    return matches


_iri_matches = _memoized(_IRI)
_language_tag_matches = _memoized(_LANGUAGE_TAG)


def _matcher(pattern: re.Pattern[str], message: str) -> Any:
    fullmatch = pattern.fullmatch

    def check(value: Any) -> str | None:
        if type(value) is str and fullmatch(value):
            return None
        return message

    return check


def _memo_matcher(matches: Any, message: str) -> Any:
    def check(value: Any) -> str | None:
        if type(value) is str and matches(value):
            return None
        return message

    return check


check_iri = _memo_matcher(_iri_matches, IRI_ERROR)
check_irl = _memo_matcher(_iri_matches, IRL_ERROR)
check_uri = _matcher(_URI, URI_ERROR)
check_mailto = _matcher(_MAILTO, MAILTO_ERROR)
check_sha1 = _matcher(_SHA1, SHA1_ERROR)
check_sha2 = _matcher(_SHA2, SHA2_ERROR)
check_uuid = _matcher(_UUID, UUID_ERROR)
check_duration = _matcher(_DURATION, DURATION_ERROR)
check_version = _matcher(_VERSION, VERSION_ERROR)
check_version_2_0 = _matcher(_VERSION_2_0, VERSION_2_0_ERROR)
check_language_tag = _memo_matcher(_language_tag_matches, LANGUAGE_TAG_ERROR)
check_media_type = _matcher(_MEDIA_TYPE, MEDIA_TYPE_ERROR)
OCTET_STREAM = "application/octet-stream"


def safe_media_type(value: str) -> str:
    """`value` if it is a media type by the grammar above, else `application/octet-stream`:
    what a response may send as Content-Type for data stored before the grammar was
    enforced, so that building the response cannot fail on it."""
    return value if _MEDIA_TYPE.fullmatch(value) else OCTET_STREAM


def is_iri(value: Any) -> bool:
    return type(value) is str and _iri_matches(value)


def is_uuid(value: Any) -> bool:
    return type(value) is str and _UUID.fullmatch(value) is not None


def is_language_tag(value: Any) -> bool:
    return type(value) is str and _language_tag_matches(value)


def check_timestamp(value: Any) -> str | None:
    """Data 4.5, through the one parser the query parameters use too.

    The form nearly every client sends (UTC, days 01 to 28, so valid in any month) is
    accepted by one regular expression; everything else goes through `parse_timestamp`.
    """
    return _timestamp_error(value, allow_space=False)


def check_timestamp_2_0(value: Any) -> str | None:
    """xAPI 2.0: as `check_timestamp`, and the RFC 3339 form with a space for the `T`
    (xapi-2.0-notes.md section 3)."""
    return _timestamp_error(value, allow_space=True)


def _timestamp_error(value: Any, *, allow_space: bool) -> str | None:
    if type(value) is not str:
        return TIMESTAMP_ERROR
    if _COMMON_TIMESTAMP.fullmatch(value):
        return None
    try:
        parse_timestamp(value, allow_space=allow_space)
    except ValueError as error:
        return str(error)
    return None


def check_string(value: Any) -> str | None:
    return None if type(value) is str else STRING_ERROR


def check_boolean(value: Any) -> str | None:
    return None if type(value) is bool else BOOLEAN_ERROR


def check_number(value: Any) -> str | None:
    """JSON numbers only: bool is an int subclass in Python but not a JSON number."""
    kind = type(value)
    if (kind is int and _INT_MIN <= value <= _INT_MAX) or (kind is float and math.isfinite(value)):
        return None
    return NUMBER_ERROR


def check_length(value: Any) -> str | None:
    return None if type(value) is int and 0 <= value <= _INT_MAX else INTEGER_ERROR


def check_language_map(value: Any) -> str | Any | None:
    """Data 4.2: keys are RFC 5646 tags, values strings. Errors are keyed by the tag."""
    if type(value) is not dict:
        return OBJECT_ERROR
    errors: dict[str, list[str]] = {}
    for tag, text in value.items():
        if not is_language_tag(tag):
            errors[tag] = [LANGUAGE_TAG_ERROR]
        elif type(text) is not str:
            errors[tag] = [STRING_ERROR]
    return errors or None


def check_extensions(value: Any) -> str | Any | None:
    """Data 4.1: keys are IRIs; values are any JSON, never rejected for what they say.

    Non-finite floats (NaN, Infinity) are not JSON at all, so they are still refused.
    """
    if type(value) is not dict:
        return OBJECT_ERROR
    errors: dict[str, list[str]] = {}
    for key, item in value.items():
        if not is_iri(key):
            errors[key] = ["key " + IRI_ERROR]
        elif not _is_json(item):
            errors[key] = ["must be a JSON value"]
    return errors or None


_SCALARS = (str, bool, type(None))


def _is_json(value: Any) -> bool:
    if type(value) is int:
        return _INT_MIN <= value <= _INT_MAX
    if isinstance(value, _SCALARS):
        return True
    if type(value) is float:
        return math.isfinite(value)
    if type(value) is list:
        return all(_is_json(item) for item in value)
    if type(value) is dict:
        return all(type(k) is str and _is_json(v) for k, v in value.items())
    return False

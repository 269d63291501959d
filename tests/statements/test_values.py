"""Value formats: RFC 5646 language tags (Data 2.2, 4.2), IRIs (Data 3.1, 4.3), mailto
IRIs (Data 2.4.2.3), media types (Data 2.4.11), timestamps (Data 4.5; 9274.1.1 4.2.7) and
versions (Data 2.4.10; 9274.1.1 4.2.4.3)."""

from __future__ import annotations

import pytest

from statements.timestamps import parse_timestamp, utc_timestamp
from statements.values import (
    _COMMON_TIMESTAMP,
    check_iri,
    check_language_tag,
    check_mailto,
    check_media_type,
    check_number,
    check_timestamp,
    check_timestamp_2_0,
    check_uri,
    check_version,
    check_version_2_0,
)


@pytest.mark.parametrize(
    "tag",
    [
        "en",
        "en-US",
        "es-419",
        "zh-Hant",
        "zh-Hant-TW",
        "sr-Latn-RS",
        "de-CH-1901",
        "sl-rozaj-biske",
        "hy-Latn-IT-arevela",
        "zh-yue-HK",
        "tlh",
        "en-a-myext-b-another",
        "en-US-x-twain",
        "x-whatever",
        "i-klingon",
        "en-GB-oed",
        "zh-min-nan",
        "EN-us",
        "und",
    ],
)
def test_valid_rfc_5646_tags(tag):
    assert check_language_tag(tag) is None


@pytest.mark.parametrize(
    "tag",
    [
        "",
        "e",
        "en_US",
        "en-",
        "-en",
        "en--US",
        "en-US-",
        "abcdefghi",
        "en-a",
        "en-x",
        "de-419-DE-",
        "en-US-x-abcdefghi",
        "a-DE",
        "en US",
        "ár",
    ],
)
def test_invalid_rfc_5646_tags(tag):
    """Data 2.2: the sequence of subtag lengths must match RFC 5646."""
    assert check_language_tag(tag) == "must be an RFC 5646 language tag"


@pytest.mark.parametrize(
    "iri",
    [
        "http://example.com",
        "https://example.com/a/b?c=d#e",
        "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
        "tag:example.com,2024:x",
        "http://例え.jp/パス",
        "http://example.com/%20encoded",
        "mailto:a@example.com",
    ],
)
def test_valid_iris(iri):
    assert check_iri(iri) is None


@pytest.mark.parametrize(
    "iri",
    [
        "",
        "example.com",
        "/relative/path",
        "#fragment",
        "http:",
        "1http://example.com",
        "http://exa mple.com",
        "http://example.com/<tag>",
        "http://example.com/%g0",
        "http://example.com/\n",
    ],
)
def test_invalid_iris_need_a_scheme_and_no_forbidden_characters(iri):
    """Data 2.2: IRL or IRI values without a scheme are rejected."""
    assert check_iri(iri) == "must be an absolute IRI"


def test_uri_is_ascii_only():
    assert check_uri("http://example.com/a") is None
    assert check_uri("http://example.com/ä") == "must be an absolute URI"


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("mailto:user@example.com", True),
        ("mailto:first.last+tag@sub.example.co.uk", True),
        ("Mailto:user@example.com", True),
        ("user@example.com", False),
        ("mailto:user", False),
        ("mailto:@example.com", False),
        ("mailto:user@", False),
        ("mailto:us er@example.com", False),
        ("mailto:a@b@c", False),
    ],
)
def test_mailto_iri(value, valid):
    assert (check_mailto(value) is None) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("application/octet-stream", True),
        ("image/svg+xml", True),
        ("text/plain; charset=utf-8", True),
        ('text/plain; charset="utf-8"', True),
        ("text", False),
        ("text/", False),
        ("text/plain;", False),
        ("", False),
    ],
)
def test_media_type(value, valid):
    assert (check_media_type(value) is None) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (1, True),
        (-2.5, True),
        (0, True),
        (2**63, True),
        (True, False),
        ("1", False),
        (float("inf"), False),
        (2**64, False),
        (-(2**63) - 1, False),
    ],
)
def test_numbers_are_strict_data_2_2(value, valid):
    """Data 2.2: strings (or booleans) where numbers are required are rejected."""
    assert (check_number(value) is None) is valid


@pytest.mark.parametrize(
    "text",
    [
        "2024-02-28T23:59:59Z",
        "2024-02-29T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2024-04-31T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "0001-01-01T00:00:00.123456789+00:00",
        "2024-01-01T24:00:00Z",
        "2024-01-01T23:60:00Z",
        "2024-01-01T23:59:60Z",
        "2024-00-10T00:00:00Z",
        "2024-01-00T00:00:00Z",
    ],
)
def test_timestamp_fast_path_never_accepts_what_the_parser_refuses(text):
    """check_timestamp's shortcut regex must be a subset of `parse_timestamp` (Data 4.5)."""
    if _COMMON_TIMESTAMP.fullmatch(text):
        parse_timestamp(text)


@pytest.mark.parametrize("text", ["2024-02-28T23:59:59.123Z", "2013-05-18T05:32:34+00:00"])
def test_timestamp_fast_path_takes_the_common_form(text):
    assert _COMMON_TIMESTAMP.fullmatch(text)


# --- xAPI 2.0: RFC 3339 forms, UTC (9274.1.1 4.2.7, xapi-2.0-notes.md section 3) ----------


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2008-09-15 15:53:00.601+00:00", "2008-09-15T15:53:00.601Z"),
        ("2023-05-04T12:00:00-05:00", "2023-05-04T17:00:00Z"),
        ("2013-05-18T05:32:34.8041234+02:00", "2013-05-18T03:32:34.8041234Z"),
        ("2000-01-01t00:30:00+01:00", "1999-12-31T23:30:00Z"),
        ("20130518T053234,5Z", "2013-05-18T05:32:34.5Z"),
        ("2013-05-18T05:32Z", "2013-05-18T05:32:00Z"),
        ("2013-05-18T05:32:34", "2013-05-18T05:32:34Z"),
        ("2023-05-04T17:00:00.000Z", "2023-05-04T17:00:00.000Z"),
    ],
)
def test_utc_timestamp_keeps_the_instant_and_every_digit(text, utc):
    assert utc_timestamp(text, allow_space=True) == utc
    assert parse_timestamp(utc) == parse_timestamp(text, allow_space=True)


@pytest.mark.parametrize("text", ["2008-09-15 15:53:00Z", "2008-09-15  15:53:00Z",
                                  "2008-09-15 15:53:00-00:00", "20080915 155300Z"])
def test_a_space_for_the_t_is_accepted_only_when_allowed(text):
    with pytest.raises(ValueError):
        parse_timestamp(text)
    if text == "2008-09-15 15:53:00Z":
        assert check_timestamp(text) is not None
        assert check_timestamp_2_0(text) is None
    else:
        assert check_timestamp_2_0(text) is not None


@pytest.mark.parametrize(("version", "v1", "v2"), [
    ("1.0", True, True), ("1.0.9", True, True), ("2.0", False, True), ("2.0.0", False, True),
    ("2.0.10", False, True), ("1.1.0", False, False), ("2.1.0", False, False),
    ("0.9.9", False, False), ("2.0.", False, False),
])
def test_version_property_per_family_data_2_4_10_and_4_2_4_3(version, v1, v2):
    assert (check_version(version) is None) is v1
    assert (check_version_2_0(version) is None) is v2

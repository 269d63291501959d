"""Version negotiation (Communication 3.3; xapi-2.0-notes.md section 1): each family's
patch levels follow its latest patch's rules."""

from __future__ import annotations

import pytest

from statements import XAPI_VERSIONS, negotiate_version, version_family


@pytest.mark.parametrize(("header", "version"), [
    ("1.0", "1.0.3"), ("1.0.0", "1.0.3"), ("1.0.9", "1.0.3"), (" 1.0.3 ", "1.0.3"),
    ("2.0", "2.0.0"), ("2.0.0", "2.0.0"), ("2.0.12", "2.0.0"),
    ("0.9", None), ("0.95", None), ("1.1.0", None), ("2.1.0", None), ("3.0.0", None),
    ("1", None), ("2.0.", None), ("", None), (None, None),
])
def test_negotiate_version(header, version):
    assert negotiate_version(header) == version


def test_version_family_of_what_is_spoken():
    assert [version_family(v) for v in XAPI_VERSIONS] == ["1.0", "2.0"]
    with pytest.raises(ValueError, match="unsupported xAPI version"):
        version_family("1.1.0")

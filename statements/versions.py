"""The xAPI versions this package speaks, each a family of patch levels (Communication 3.3;
9274.1.1, xapi-2.0-notes.md section 1).

A request names a version (`1.0`, `1.0.x`, `2.0`, `2.0.x`); every patch level of a family
follows the same rules, those of the family's latest patch here. The rest of the package
takes that negotiated version as a parameter (validation, signatures) and branches on its
family, never on a global.
"""

from __future__ import annotations

import re

__all__ = ["XAPI_VERSIONS", "negotiate_version", "version_family"]

# The latest patch of each family, as the About resource lists them (Communication 2.8).
XAPI_VERSIONS = ("1.0.3", "2.0.0")
_LATEST = {version[:3]: version for version in XAPI_VERSIONS}
# Communication 3.3: "1.0" is taken as 1.0.0, any "1.0." patch is accepted; 2.0 the same.
_VERSION = re.compile(r"([12]\.0)(?:\.\d+)?")


def negotiate_version(text: str | None) -> str | None:
    """The version whose rules apply to a request naming `text` (the latest patch of its
    family), or None when this LRS speaks no such version."""
    match = _VERSION.fullmatch(text.strip()) if isinstance(text, str) else None
    return None if match is None else _LATEST[match.group(1)]


def version_family(version: str) -> str:
    """`1.0` or `2.0`, the family of a negotiated version; ValueError for any other."""
    match = _VERSION.fullmatch(version) if isinstance(version, str) else None
    if match is None:
        raise ValueError(f"unsupported xAPI version: {version!r}")
    return match.group(1)

"""ISO 8601 timestamps (Data 4.5): one parser for statements and query parameters, and the
fixed-width UTC form used in storage so that timestamps sort correctly as text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

__all__ = ["parse_timestamp", "stored_timestamp"]

# Complete calendar date and time, extended (2013-05-18T05:32:34.804+00:00) or basic
# (20130518T053234.804Z) format, seconds and fraction optional (reduced precision is ISO 8601),
# optional offset. Date and time must use the same format, as ISO 8601 requires; an extended
# time may carry a basic offset (-0500), which common client libraries write.
_EXTENDED = (
    r"(?P<Y>\d{4})-(?P<M>\d{2})-(?P<D>\d{2})[Tt](?P<h>\d{2}):(?P<m>\d{2})"
    r"(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?"
    r"(?:(?P<z>[Zz])|(?P<sign>[+-])(?P<oh>\d{2})(?::?(?P<om>\d{2}))?)?"
)
_BASIC = (
    r"(?P<bY>\d{4})(?P<bM>\d{2})(?P<bD>\d{2})[Tt](?P<bh>\d{2})(?P<bm>\d{2})"
    r"(?:(?P<bs>\d{2})(?:[.,](?P<bf>\d+))?)?"
    r"(?:(?P<bz>[Zz])|(?P<bsign>[+-])(?P<boh>\d{2})(?P<bom>\d{2})?)?"
)
_TIMESTAMP = re.compile(rf"(?:{_EXTENDED}|{_BASIC})\Z", re.ASCII)


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO 8601 combined date and time into an aware UTC datetime.

    A timestamp without an offset is taken as UTC (Data 4.5 only says it SHOULD* include
    one). The offset "-00:00" means "unknown local offset" (RFC 3339 4.3), which cannot be
    placed in time, so it is rejected. Digits beyond microseconds are truncated.
    Raises ValueError for anything else.
    """
    match = _TIMESTAMP.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError("must be an ISO 8601 timestamp")
    g = match.groupdict()
    basic = g["Y"] is None
    p = "b" if basic else ""
    sign, off_h, off_m = g[p + "sign"], g[p + "oh"], g[p + "om"] or "00"
    if sign == "-" and off_h == "00" and off_m == "00":
        raise ValueError("must not use the offset -00:00")
    fraction = (g[p + "f"] or "")[:6].ljust(6, "0")
    try:
        offset = timedelta(hours=int(off_h), minutes=int(off_m)) if sign else timedelta(0)
        if offset >= timedelta(hours=24) or int(off_m) > 59:
            raise ValueError
        tz = timezone(-offset if sign == "-" else offset)
        return datetime(
            int(g[p + "Y"]),
            int(g[p + "M"]),
            int(g[p + "D"]),
            int(g[p + "h"]),
            int(g[p + "m"]),
            int(g[p + "s"] or 0),
            int(fraction),
            tzinfo=tz,
        ).astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError("must be an ISO 8601 timestamp") from None


def stored_timestamp(dt: datetime) -> str:
    """Render an aware datetime as `YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC: fixed width, so a
    text comparison orders instants (the storage paging key relies on it)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")
    d = dt.astimezone(UTC)
    return (
        f"{d.year:04d}-{d.month:02d}-{d.day:02d}T"
        f"{d.hour:02d}:{d.minute:02d}:{d.second:02d}.{d.microsecond:06d}Z"
    )

"""ISO 8601 timestamps (Data 4.5): one parser for statements and query parameters, the
fixed-width UTC form used in storage so that timestamps sort correctly as text, and the UTC
form xAPI 2.0 converts statement timestamps to.

RFC 3339 (5.6, NOTE) lets a space stand for the `T` between date and time; xAPI 2.0 accepts
such timestamps (xapi-2.0-notes.md section 3) and so do the query parameters of every
version, since clients send them (`tincan` writes `str(datetime)`). 1.0.3 statements keep to
ISO 8601, which has no such form.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

__all__ = ["parse_timestamp", "stored_timestamp", "utc_timestamp"]

# Complete calendar date and time, extended (2013-05-18T05:32:34.804+00:00) or basic
# (20130518T053234.804Z) format, seconds and fraction optional (reduced precision is ISO 8601),
# optional offset. Date and time must use the same format, as ISO 8601 requires; an extended
# time may carry a basic offset (-0500), which common client libraries write.
_EXTENDED = (
    r"(?P<Y>\d{4})-(?P<M>\d{2})-(?P<D>\d{2}){separator}(?P<h>\d{2}):(?P<m>\d{2})"
    r"(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?"
    r"(?:(?P<z>[Zz])|(?P<sign>[+-])(?P<oh>\d{2})(?::?(?P<om>\d{2}))?)?"
)
_BASIC = (
    r"(?P<bY>\d{4})(?P<bM>\d{2})(?P<bD>\d{2})[Tt](?P<bh>\d{2})(?P<bm>\d{2})"
    r"(?:(?P<bs>\d{2})(?:[.,](?P<bf>\d+))?)?"
    r"(?:(?P<bz>[Zz])|(?P<bsign>[+-])(?P<boh>\d{2})(?P<bom>\d{2})?)?"
)
_TIMESTAMP = re.compile(rf"(?:{_EXTENDED.replace('{separator}', '[Tt]')}|{_BASIC})\Z", re.ASCII)
_TIMESTAMP_OR_SPACE = re.compile(
    rf"(?:{_EXTENDED.replace('{separator}', '[Tt ]')}|{_BASIC})\Z", re.ASCII
)
# Already in the form `utc_timestamp` gives: returned as it is.
_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z", re.ASCII)


def parse_timestamp(text: str, *, allow_space: bool = False) -> datetime:
    """Parse an ISO 8601 combined date and time into an aware UTC datetime.

    A timestamp without an offset is taken as UTC (Data 4.5 only says it SHOULD* include
    one). The offset "-00:00" means "unknown local offset" (RFC 3339 4.3), which cannot be
    placed in time, so it is rejected. Digits beyond microseconds are truncated.
    `allow_space` also accepts a space between date and time (RFC 3339 5.6, NOTE).
    Raises ValueError for anything else.
    """
    return _parse(text, allow_space)[0]


def utc_timestamp(text: str, *, allow_space: bool = False) -> str:
    """The same instant as `text` (a timestamp `parse_timestamp` accepts) in UTC, RFC 3339:
    `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, every digit of the fraction kept (an offset is whole
    minutes, so converting never touches the seconds). xAPI 2.0 stores statement timestamps
    so (9274.1.1 "Timestamps", xapi-2.0-notes.md section 3). Raises ValueError."""
    if _UTC.fullmatch(text):
        return text
    at, fraction = _parse(text, allow_space)
    return (
        f"{at.year:04d}-{at.month:02d}-{at.day:02d}T{at.hour:02d}:{at.minute:02d}:"
        f"{at.second:02d}{'.' + fraction if fraction else ''}Z"
    )


def _parse(text: str, allow_space: bool) -> tuple[datetime, str]:
    """The instant in UTC and the fraction of a second as written (digits only)."""
    pattern = _TIMESTAMP_OR_SPACE if allow_space else _TIMESTAMP
    match = pattern.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError("must be an ISO 8601 timestamp")
    g = match.groupdict()
    basic = g["Y"] is None
    p = "b" if basic else ""
    sign, off_h, off_m = g[p + "sign"], g[p + "oh"], g[p + "om"] or "00"
    if sign == "-" and off_h == "00" and off_m == "00":
        raise ValueError("must not use the offset -00:00")
    fraction = g[p + "f"] or ""
    try:
        offset = timedelta(hours=int(off_h), minutes=int(off_m)) if sign else timedelta(0)
        if offset >= timedelta(hours=24) or int(off_m) > 59:
            raise ValueError
        tz = timezone(-offset if sign == "-" else offset)
        at = datetime(
            int(g[p + "Y"]),
            int(g[p + "M"]),
            int(g[p + "D"]),
            int(g[p + "h"]),
            int(g[p + "m"]),
            int(g[p + "s"] or 0),
            int(fraction[:6].ljust(6, "0")),
            tzinfo=tz,
        ).astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError("must be an ISO 8601 timestamp") from None
    return at, fraction


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

"""What a statement contributes to the progress reports and indicators, computed once when it
is stored (like the query fields of `statements.index`).

The rules, which the README states for report readers:

- Only statements about an Activity count (a StatementRef or SubStatement object, and so
  every voiding statement, does not); the learner is the actor, by its agent key (the
  pseudonym when pseudonymization is on); an actor without an identifier (an anonymous
  Group) counts for nobody.
- The courses of a statement are the activities of its `context.contextActivities.parent`
  and `grouping` (in that order, each once); a statement naming none belongs to its own
  object, which is then the course itself. The modules of a course are the objects of the
  statements naming it.
- The time is the statement's `timestamp` (when the learning happened, which an offline app
  may send days later); buckets are UTC days, weeks starting on Monday, calendar months.
- Completed: verb `completed` or `result.completion` true. Passed: verb `passed` or
  `result.success` true. The score is `result.score.scaled`; the duration
  `result.duration` in seconds (a year taken as 365 days, a month as 30).
- A dimension's value is the statement's `context.extensions[<IRI>]` when it is a string,
  a number or a boolean (numbers and booleans as their JSON text); anything else, or a
  missing one, is "not recorded".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import orjson

from statements.agent import agent_key
from statements.timestamps import parse_timestamp

COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
PASSED = "http://adlnet.gov/expapi/verbs/passed"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Seconds per duration designator (ISO 8601 4.4.3.2; Y and M have no fixed length).
_DESIGNATORS = {"Y": 365 * 86400.0, "W": 7 * 86400.0, "D": 86400.0, "H": 3600.0, "S": 1.0}
_PART = re.compile(r"(\d+(?:[.,]\d+)?)([YMWDHS])")


class ReportFields(NamedTuple):
    """A statement's report fields (module docstring). `time` is µs since the epoch (UTC);
    `day`, `week` and `month` number its buckets (days since 1970-01-01, weeks since Monday
    1969-12-29, months since January 1970); `dimensions` holds (IRI, value) for the asked
    IRIs that have a value, in the order asked. A named tuple, not a frozen dataclass: one
    is built per statement stored, and it builds in a fifth of the time."""

    learner: str
    activity: str
    courses: tuple[str, ...]
    verb: str
    registration: str | None
    time: int
    day: int
    week: int
    month: int
    completed: bool
    passed: bool
    score: float | None
    duration: float | None
    dimensions: tuple[tuple[str, str], ...]


def report_fields(
    statement: dict[str, Any], dimensions: Iterable[str] = ()
) -> ReportFields | None:
    """The report fields of a validated statement as stored; None for a statement that
    counts in no report. Without a `timestamp` its `stored` stands in, as the LRS stamps it
    (Data 2.4.7). Run for every statement stored, so written for speed."""
    target = statement["object"]
    if target.get("objectType", "Activity") != "Activity":
        return None
    learner = agent_key(statement["actor"])
    if learner is None:
        return None
    activity = target["id"]
    context = statement.get("context")
    courses: tuple[str, ...] = (activity,)
    registration = None
    values: tuple[tuple[str, str], ...] = ()
    if context:
        activities = context.get("contextActivities")
        if activities:
            courses = _courses(activities) or courses
        registration = context.get("registration")
        if registration:
            registration = registration.lower()
        extensions = context.get("extensions")
        if extensions and dimensions:
            values = _dimension_values(extensions, dimensions)
    verb = statement["verb"]["id"]
    result = statement.get("result")
    completed, passed = verb == COMPLETED, verb == PASSED
    score = duration = None
    if result:
        completed = completed or result.get("completion") is True
        passed = passed or result.get("success") is True
        scored = result.get("score")
        if scored and (scaled := scored.get("scaled")) is not None:
            score = float(scaled)
        if (text := result.get("duration")) is not None:
            duration = duration_seconds(text)
    moment = _moment(statement.get("timestamp") or statement["stored"])
    since_epoch = moment - _EPOCH
    day = since_epoch.days
    return ReportFields(
        learner, activity, courses, verb, registration or None, since_epoch // _MICROSECOND,
        day, week_of_day(day), (moment.year - 1970) * 12 + moment.month - 1, completed,
        passed, score, duration, values,
    )


def _courses(activities: dict[str, Any]) -> tuple[str, ...]:
    """The ids of `parent` then `grouping`, each once (either may be one object or a list)."""
    found: list[str] = []
    for kind in ("parent", "grouping"):
        named = activities.get(kind)
        for activity in (named,) if isinstance(named, dict) else named or ():
            if activity["id"] not in found:
                found.append(activity["id"])
    return tuple(found)


def _moment(timestamp: str) -> datetime:
    """A validated timestamp in UTC. `datetime.fromisoformat` (C, 60 times faster) reads
    every form validation accepts but a lowercase t or z, for which the validator's own
    parser runs."""
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return parse_timestamp(timestamp)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def stored_report_fields(
    raw: bytes, dimensions: Iterable[str] = ()
) -> ReportFields | None:
    """`report_fields` of a statement's stored JSON, for recomputing facts of statements
    stored earlier: a row that is not a whole statement (none this LRS wrote, but a
    migration must not stop at one) counts in no report."""
    try:
        return report_fields(orjson.loads(raw), dimensions)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def week_of_day(day: int) -> int:
    """The number of the Monday-to-Sunday week holding a day number (1970-01-01 is day 0,
    a Thursday, in week 0)."""
    return (day + 3) // 7


def bucket_of(interval: str, moment: datetime) -> int:
    """The number of the `interval` ("day", "week", "month") bucket holding an aware
    datetime, as `ReportFields` numbers them."""
    moment = moment.astimezone(UTC)
    if interval == "month":
        return (moment.year - 1970) * 12 + moment.month - 1
    day = (moment - _EPOCH).days
    return week_of_day(day) if interval == "week" else day


def bucket_start(interval: str, number: int) -> datetime:
    """The first instant (UTC) of bucket `number` of `interval`."""
    if interval == "month":
        year, month = divmod(number, 12)
        return datetime(1970 + year, month + 1, 1, tzinfo=UTC)
    return _EPOCH + timedelta(days=number * 7 - 3 if interval == "week" else number)


def bucket_bounds(interval: str, first: int, last: int) -> tuple[int, int]:
    """The µs since the epoch [start, end) that buckets `first` to `last` cover."""
    start = bucket_start(interval, first)
    end = bucket_start(interval, last + 1)
    return (start - _EPOCH) // _MICROSECOND, (end - _EPOCH) // _MICROSECOND


@functools.lru_cache(maxsize=4096)
def duration_seconds(duration: str) -> float:
    """An xAPI duration (Data 4.6, already validated) in seconds (cached: apps send the
    same few durations again and again)."""
    seconds = 0.0
    in_time = False
    for part in re.split("(T)", duration[1:]):
        if part == "T":
            in_time = True
            continue
        for number, designator in _PART.findall(part):
            unit = 60.0 if designator == "M" and in_time else (
                30 * 86400.0 if designator == "M" else _DESIGNATORS[designator]
            )
            seconds += float(number.replace(",", ".")) * unit
    return seconds


def _dimension_values(extensions: Any, iris: Iterable[str]) -> tuple[tuple[str, str], ...]:
    if not isinstance(extensions, dict):
        return ()
    values = []
    for iri in iris:
        value = extensions.get(iri)
        if isinstance(value, str):
            values.append((iri, value))
        elif isinstance(value, bool | int | float):
            values.append((iri, orjson.dumps(value).decode()))
    return tuple(values)

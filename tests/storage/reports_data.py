"""A small seeded store for the report tests, with every figure computed by hand below.

Three learners (a, b north; c south), course C with modules M1, M2, M3 and Q1, course D
with module N1. 2024-01-01 is a Monday: week 1 is Jan 1-7, week 2 Jan 8-14, week 6 Feb 5-11.

    #   learner verb        object  courses    timestamp          result
    1   a       attempted   M1      C          01-01 10:00        PT10M
    2   a       completed   M1      C          01-01 10:10        completion, 0.8, PT5M
    3   a       passed      M2      C          01-09 09:00        success, 0.9
    4   a       completed   C       (C)        01-09 09:30
    5   b       attempted   M1      C          01-02 08:00        PT20M
    6   b       failed      M1      C          01-02 08:30        success false, 0.4
    7   b       attempted   M3      C (group.) 02-05 12:00
    8   c       attempted   M2      C          01-03 12:00        PT30M
    9   c       attempted   N1      D          01-03 13:00
    10  c       completed   D       (D)        01-04 09:00
    11  a       experienced M3      C          01-05 09:00        voided by 13
    12  c       experienced Q1      D, C (gr.) 01-10 15:00        0.5
    13  a       voided      -> 11
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from statements import stored_timestamp
from storage import StatementRecord, build_record

REGION = "http://example.org/ext/region"
GENDER = "http://example.org/ext/gender"
DIMENSIONS = (REGION, GENDER)
HOME = "https://lrs.invalid/pseudonym/abcdefgh"
C = "http://example.org/course/c"
D = "http://example.org/course/d"
M1, M2, M3, Q1 = (f"{C}/{name}" for name in ("m1", "m2", "m3", "q1"))
N1 = f"{D}/n1"
ADL = "http://adlnet.gov/expapi/verbs/"
PEOPLE = {"a": ("north", "f"), "b": ("north", "m"), "c": ("south", "f")}


def learner_key(name: str) -> str:
    return f"account:{HOME}|{name}"


def micros(text: str) -> int:
    moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def report_statement(
    name: str,
    verb: str,
    activity: str,
    when: str,
    *,
    parent: str | None = None,
    grouping: tuple[str, ...] = (),
    result: dict[str, Any] | None = None,
    statement_id: str | None = None,
) -> dict[str, Any]:
    """A stored-form statement (pseudonymous actor, `timestamp`) of the seeded store."""
    region, gender = PEOPLE[name]
    context: dict[str, Any] = {"extensions": {REGION: region, GENDER: gender}}
    activities: dict[str, Any] = {}
    if parent:
        activities["parent"] = [{"id": parent}]
    if grouping:
        activities["grouping"] = [{"id": g} for g in grouping]
    if activities:
        context["contextActivities"] = activities
    statement: dict[str, Any] = {
        "id": statement_id or str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "account": {"homePage": HOME, "name": name}},
        "verb": {"id": ADL + verb},
        "object": {"objectType": "Activity", "id": activity},
        "context": context,
        "timestamp": f"2024-{when}:00Z",
    }
    if result:
        statement["result"] = result
    return statement


VOIDED_ID = "00000000-0000-4000-8000-000000000011"


def seeded_statements() -> list[dict[str, Any]]:
    s = report_statement
    return [
        s("a", "attempted", M1, "01-01T10:00", parent=C, result={"duration": "PT10M"}),
        s("a", "completed", M1, "01-01T10:10", parent=C,
          result={"completion": True, "score": {"scaled": 0.8}, "duration": "PT5M"}),
        s("a", "passed", M2, "01-09T09:00", parent=C,
          result={"success": True, "score": {"scaled": 0.9}}),
        s("a", "completed", C, "01-09T09:30"),
        s("b", "attempted", M1, "01-02T08:00", parent=C, result={"duration": "PT20M"}),
        s("b", "failed", M1, "01-02T08:30", parent=C,
          result={"success": False, "score": {"scaled": 0.4}}),
        s("b", "attempted", M3, "02-05T12:00", grouping=(C,)),
        s("c", "attempted", M2, "01-03T12:00", parent=C, result={"duration": "PT30M"}),
        s("c", "attempted", N1, "01-03T13:00", parent=D),
        s("c", "completed", D, "01-04T09:00"),
        s("a", "experienced", M3, "01-05T09:00", parent=C, statement_id=VOIDED_ID),
        s("c", "experienced", Q1, "01-10T15:00", parent=D, grouping=(C,),
          result={"score": {"scaled": 0.5}}),
    ]


def voiding(target: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "account": {"homePage": HOME, "name": "admin"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": target},
        "timestamp": "2024-03-01T00:00:00Z",
    }


class Stamper:
    """Stored-form records with increasing `stored` times, as the service writes them."""

    def __init__(self) -> None:
        self.clock = datetime(2024, 6, 1, tzinfo=UTC)

    def records(self, statements: list[dict[str, Any]]) -> list[StatementRecord]:
        out = []
        for statement in statements:
            self.clock += timedelta(milliseconds=1)
            stamped = {**statement, "stored": stored_timestamp(self.clock)}
            out.append(build_record(stamped, writer="key", dimensions=DIMENSIONS))
        return out

"""The statements the dashboard's browser test seeds, and the figures they give, counted by
hand (k = 3, dimension `region`).

Course C has modules M1 and M2. Week of Monday 2026-01-05: six learners attempt M1 (four
from the north, two from the south); the four northerners and one southerner complete it,
scaled scores 0.8, 0.6, 0.9, 0.7 (north) and 0.5 (south). Week of 2026-01-12: three
northerners attempt M2 and pass it (0.9 each) and complete the course.
"""

from __future__ import annotations

import base64
import json
import urllib.request
import uuid
from typing import Any

from tests.e2e.conftest import LiveLrs

ADL = "http://adlnet.gov/expapi/verbs/"
REGION = "https://lp.example/ext/region"
COURSE = "https://lp.example/course/c"
M1, M2 = "https://lp.example/module/m1", "https://lp.example/module/m2"
NAMES = {COURSE: "Reading for all", M1: "Letters", M2: "Words"}
NORTH = [f"north{i}" for i in range(1, 5)]
SOUTH = ["south1", "south2"]


def _statement(learner: str, verb: str, activity: str, day: str, **result: Any) -> dict[str, Any]:
    region = "north" if learner.startswith("north") else "south"
    statement: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "name": learner.title(),
                  "mbox": f"mailto:{learner}@school.example"},
        "verb": {"id": ADL + verb, "display": {"en-US": verb}},
        "object": {"objectType": "Activity", "id": activity,
                   "definition": {"name": {"en-US": NAMES[activity]}}},
        "context": {"extensions": {REGION: region}},
        "timestamp": f"2026-01-{day}T10:00:00Z",
    }
    if activity != COURSE:
        statement["context"]["contextActivities"] = {"parent": [{"id": COURSE}]}
    if result:
        statement["result"] = result
    return statement


def statements() -> list[dict[str, Any]]:
    scores = dict(zip([*NORTH, "south1"], [0.8, 0.6, 0.9, 0.7, 0.5], strict=True))
    out = [_statement(who, "attempted", M1, "06") for who in NORTH + SOUTH]
    out += [
        _statement(who, "completed", M1, "07", completion=True, score={"scaled": score})
        for who, score in scores.items()
    ]
    for who in NORTH[:3]:
        out.append(_statement(who, "attempted", M2, "13"))
        out.append(_statement(who, "passed", M2, "14", success=True, score={"scaled": 0.9}))
        out.append(_statement(who, "completed", COURSE, "15", completion=True))
    return out


def seed(lrs: LiveLrs) -> None:
    """POST the statements with the server's `all` credential."""
    token = base64.b64encode(f"{lrs.key}:{lrs.secret}".encode()).decode()
    request = urllib.request.Request(
        lrs.endpoint + "statements", data=json.dumps(statements()).encode(), method="POST",
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json",
                 "X-Experience-API-Version": "1.0.3"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200

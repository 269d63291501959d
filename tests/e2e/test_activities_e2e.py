"""The Activities resource on the real service (gunicorn, two workers): definitions written
with the `tincan` client become the canonical definition (Communication 2.5, 4.2 `define`),
read back over raw HTTP (tincan 1.0.0 has no Activities call) and through `format=canonical`."""

from __future__ import annotations

import base64
import http.client
import json
import uuid
from urllib.parse import urlencode

import pytest
from tincan import Activity, ActivityDefinition, Agent, LanguageMap, RemoteLRS, Statement, Verb

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXPERIENCED = Verb(id="http://adlnet.gov/expapi/verbs/experienced")


def get_activity(live_lrs, activity_id: str, auth: tuple[str, str] | None = None):
    key, secret = auth or (live_lrs.key, live_lrs.secret)
    token = base64.b64encode(f"{key}:{secret}".encode()).decode()
    connection = http.client.HTTPConnection("127.0.0.1", live_lrs.port, timeout=10)
    try:
        connection.request(
            "GET", "/xapi/activities?" + urlencode({"activityId": activity_id}),
            headers={"Authorization": f"Basic {token}", "X-Experience-API-Version": "1.0.3"},
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def save(live_lrs, activity_id: str, name: dict[str, str], auth: tuple[str, str]) -> str:
    lrs = RemoteLRS(endpoint=live_lrs.endpoint, username=auth[0], password=auth[1])
    sent = Statement(
        id=str(uuid.uuid4()),
        actor=Agent(mbox="mailto:learner@example.com"),
        verb=EXPERIENCED,
        object=Activity(id=activity_id, definition=ActivityDefinition(name=LanguageMap(name))),
    )
    response = lrs.save_statement(sent)
    assert response.success, response.data
    return str(sent.id)


def test_definitions_round_trip_through_the_activities_resource(live_lrs):
    course = f"http://example.com/courses/{uuid.uuid4()}"
    writer = (live_lrs.key, live_lrs.secret)  # `all`: may define
    first = save(live_lrs, course, {"en-US": "Course"}, writer)
    save(live_lrs, course, {"fr": "Cours"}, writer)
    save(live_lrs, course, {"en-US": "Rogue"}, live_lrs.credential("statements/write"))
    reader = live_lrs.credential("statements/read")
    for _ in range(4):  # both workers answer alike
        status, body = get_activity(live_lrs, course, reader)
        assert status == 200
        assert body == {"objectType": "Activity", "id": course,
                        "definition": {"name": {"en-US": "Course", "fr": "Cours"}}}

    lrs = RemoteLRS(endpoint=live_lrs.endpoint, username=reader[0], password=reader[1])
    response = lrs.query_statements({"activity": Activity(id=course), "format": "canonical"})
    assert response.success, response.data
    found = response.content.statements
    assert len(found) == 3 and first in {str(s.id) for s in found}
    # The canonical definition, one language per map, even on the statement sent as "Rogue".
    names = [dict(s.object.definition.name) for s in found]
    assert names[0] in ({"en-US": "Course"}, {"fr": "Cours"})
    assert names == [names[0]] * 3


def test_unknown_activity_is_an_activity_object(live_lrs):
    unknown = f"http://example.com/unknown/{uuid.uuid4()}"
    assert get_activity(live_lrs, unknown) == (200, {"objectType": "Activity", "id": unknown})

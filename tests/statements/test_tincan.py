"""Statements produced by the `tincan` xAPI client library validate: every object type and
context shape it can build (interoperability with a real Learning Record Provider)."""

from __future__ import annotations

import datetime
import json
import uuid

import pytest
from tincan import (
    Activity,
    ActivityDefinition,
    ActivityList,
    Agent,
    AgentAccount,
    Attachment,
    AttachmentList,
    Context,
    ContextActivities,
    Extensions,
    Group,
    InteractionComponent,
    InteractionComponentList,
    LanguageMap,
    Result,
    Score,
    Statement,
    StatementRef,
    SubStatement,
    Verb,
)

from statements import validate

LEARNER = Agent(name="Amina Njeri", mbox="mailto:amina@example.org")
TEACHER = Agent(account=AgentAccount(home_page="http://lms.example.org", name="t-17"))
VERB = Verb(
    id="http://adlnet.gov/expapi/verbs/completed", display=LanguageMap({"en-US": "completed"})
)
COURSE = Activity(
    id="http://example.org/course/algebra-1",
    definition=ActivityDefinition(
        name=LanguageMap({"en-US": "Algebra 1"}),
        description=LanguageMap({"en-US": "A first course"}),
        type="http://adlnet.gov/expapi/activities/course",
        more_info="http://example.org/course/algebra-1/info",
        extensions=Extensions({"http://example.org/ext/level": {"grade": 7}}),
    ),
)


def round_trip(statement: Statement) -> dict:
    """What a client sends: tincan's JSON, parsed."""
    data = json.loads(statement.to_json())
    assert validate(data) == data
    return data


def components(*ids: str) -> InteractionComponentList:
    return InteractionComponentList(
        [InteractionComponent(id=i, description=LanguageMap({"en-US": i})) for i in ids]
    )


def test_activity_object():
    data = round_trip(Statement(actor=LEARNER, verb=VERB, object=COURSE))
    assert data["object"]["objectType"] == "Activity"


@pytest.mark.parametrize(
    ("kind", "lists", "pattern"),
    [
        ("true-false", {}, ["true"]),
        ("choice", {"choices": components("a", "b")}, ["a[,]b"]),
        ("fill-in", {}, ["Bob's your uncle"]),
        ("long-fill-in", {}, ["{case_matters=false}To store learning experiences."]),
        ("matching", {"source": components("ben"), "target": components("1")}, ["ben[.]1"]),
        ("performance", {"steps": components("pong", "dg")}, ["pong[.]1:[,]dg[.]:10"]),
        ("sequencing", {"choices": components("tim", "mike")}, ["tim[,]mike"]),
        ("likert", {"scale": components("likert_0", "likert_1")}, ["likert_1"]),
        ("numeric", {}, ["4[:]"]),
        ("other", {}, ["(35.937432,-86.868896)"]),
    ],
)
def test_interaction_activities(kind, lists, pattern):
    definition = ActivityDefinition(
        description=LanguageMap({"en-US": "Question"}),
        type="http://adlnet.gov/expapi/activities/cmi.interaction",
        interaction_type=kind,
        correct_responses_pattern=pattern,
        **lists,
    )
    activity = Activity(id="http://example.org/quiz/q1", definition=definition)
    data = round_trip(Statement(actor=LEARNER, verb=VERB, object=activity))
    assert data["object"]["definition"]["interactionType"] == kind


@pytest.mark.parametrize(
    "target",
    [
        Agent(name="Ben", mbox_sha1sum="ebd31e95054c018b10727ccffd2ef2ec3a016ee9"),
        Agent(openid="http://ben.openid.example.org/"),
        Group(name="Team", member=[LEARNER, TEACHER]),
        Group(name="Identified team", mbox="mailto:team@example.org", member=[LEARNER]),
        Group(account=AgentAccount(home_page="http://lms.example.org", name="class-7b")),
    ],
    ids=["agent-sha1", "agent-openid", "anonymous-group", "identified-group", "account-group"],
)
def test_agent_and_group_objects(target):
    data = round_trip(Statement(actor=LEARNER, verb=VERB, object=target))
    assert data["object"]["objectType"] in ("Agent", "Group")


def test_group_actor():
    round_trip(Statement(actor=Group(member=[LEARNER, TEACHER]), verb=VERB, object=COURSE))


def test_statement_ref_object():
    target = StatementRef(id=uuid.uuid4())
    data = round_trip(Statement(actor=TEACHER, verb=VERB, object=target))
    assert data["object"]["objectType"] == "StatementRef"


def test_voiding_statement():
    voided = Verb(id="http://adlnet.gov/expapi/verbs/voided", display=LanguageMap({"en": "voided"}))
    round_trip(Statement(actor=TEACHER, verb=voided, object=StatementRef(id=uuid.uuid4())))


def test_substatement_object_with_its_own_context():
    sub = SubStatement(
        actor=LEARNER,
        verb=Verb(id="http://example.org/verbs/will-visit"),
        object=COURSE,
        context=Context(
            instructor=TEACHER,
            context_activities=ContextActivities(category=ActivityList([COURSE])),
        ),
        timestamp=datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC),
    )
    data = round_trip(Statement(actor=LEARNER, verb=VERB, object=sub))
    assert data["object"]["objectType"] == "SubStatement"


def test_full_context_result_and_attachments():
    statement = Statement(
        id=uuid.uuid4(),
        actor=LEARNER,
        verb=VERB,
        object=COURSE,
        result=Result(
            score=Score(scaled=0.85, raw=85, min=0, max=100),
            success=True,
            completion=True,
            response="done",
            duration=datetime.timedelta(hours=1, minutes=2, seconds=3.5),
            extensions=Extensions({"http://example.org/ext/attempts": 2}),
        ),
        context=Context(
            registration=uuid.uuid4(),
            instructor=Group(member=[TEACHER]),
            team=Group(name="7B", member=[LEARNER]),
            context_activities=ContextActivities(
                parent=ActivityList([Activity(id="http://example.org/course/algebra-1/m1")]),
                grouping=ActivityList([Activity(id="http://example.org/program")]),
                category=ActivityList([Activity(id="https://w3id.org/xapi/cmi5/context")]),
                other=ActivityList([Activity(id="http://example.org/textbook")]),
            ),
            revision="r2",
            platform="Example app",
            language="sw-KE",
            statement=StatementRef(id=uuid.uuid4()),
            extensions=Extensions({"http://example.org/ext/country": "KE"}),
        ),
        timestamp=datetime.datetime.now(datetime.UTC),
        attachments=AttachmentList(
            [
                Attachment(
                    usage_type="http://adlnet.gov/expapi/attachments/signature",
                    display=LanguageMap({"en-US": "Signature"}),
                    description=LanguageMap({"en-US": "A test signature"}),
                    content_type="application/octet-stream",
                    length=4235,
                    sha2="672fa5fa658017f1b72d65036f13379c6ab05d4ab3b6664908d8acf0b6a0c634",
                    fileurl="http://example.org/signature",
                )
            ]
        ),
    )
    data = round_trip(statement)
    assert set(data) >= {"id", "result", "context", "timestamp", "attachments", "version"}
    assert set(data["context"]["contextActivities"]) == {"parent", "grouping", "category", "other"}

"""`lrs.service.LearningRecordStore` driven directly, without HTTP, on every backend: what the
CLI, bench scripts, reports and other tools rely on."""

from __future__ import annotations

import secrets
import subprocess
import sys
import uuid

import orjson
import pytest

from anonymize.keys import encode_key
from lrs.config import load_config
from lrs.service import (
    ACTIVITY_PROFILE_RESOURCE,
    STATE_RESOURCE,
    ForbiddenError,
    LearningRecordStore,
    NotFoundError,
    Principal,
)
from statements import StatementError
from storage import PreconditionFailedError

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://lrs.test", "name": "k1"}}
WRITER = Principal("k1", "default", frozenset({"all", "reidentify"}), AUTHORITY)
READER = Principal("k2", "default", frozenset({"statements/read"}), AUTHORITY)
OTHER_TENANT = Principal("k3", "school-b", frozenset({"all"}), AUTHORITY)
COURSE = "http://example.com/course"
ALICE = {"objectType": "Agent", "mbox": "mailto:alice@example.com", "name": "Alice"}


def statement(**extra: object) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "actor": ALICE,
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": COURSE},
        **extra,
    }


@pytest.fixture
def lrs(storage_uri: str):
    settings = load_config(
        {"storage_uri": storage_uri, "master_key": encode_key(secrets.token_bytes(32))}
    )
    with LearningRecordStore.open(settings) as service:
        yield service


def ids_of(page) -> list[str]:
    return [orjson.loads(raw)["id"] for raw in page.statements]


def test_importing_the_service_core_does_not_import_flask():
    code = "import lrs.service, sys; assert 'flask' not in sys.modules, 'flask imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_store_query_and_read_back(lrs):
    first, second = statement(), statement()
    assert lrs.post_statements(WRITER, [first, second]) == [first["id"], second["id"]]
    page = lrs.read_statements(WRITER, {"verb": "http://adlnet.gov/expapi/verbs/completed"})
    assert ids_of(page) == [second["id"], first["id"]]
    assert page.more == "" and not page.single
    # A reidentify principal gets the agent as sent; another reader its pseudonym.
    assert orjson.loads(page.statements[0])["actor"] == ALICE
    [raw] = lrs.read_statements(READER, {"statementId": first["id"]}).statements
    assert orjson.loads(raw)["actor"]["account"]["homePage"].startswith("https://lrs.invalid/")
    assert "alice" not in raw.decode()


def test_paging_with_the_cursor_token(lrs):
    sent = [statement() for _ in range(5)]
    lrs.post_statements(WRITER, sent)
    seen: list[str] = []
    page = lrs.read_statements(WRITER, {"limit": "2", "ascending": "true"})
    seen += ids_of(page)
    while page.more:
        page = lrs.read_statements(WRITER, {}, more=page.more)
        seen += ids_of(page)
    assert seen == [s["id"] for s in sent]
    with pytest.raises(NotFoundError):
        lrs.read_statements(WRITER, {}, more="not-a-token")


def test_put_and_void(lrs):
    target = statement()
    lrs.put_statement(WRITER, target["id"], target)
    voiding_id = lrs.void_statement(WRITER, target["id"])
    with pytest.raises(NotFoundError):
        lrs.read_statements(WRITER, {"statementId": target["id"]})
    page = lrs.read_statements(WRITER, {"voidedStatementId": target["id"]})
    assert page.single and ids_of(page) == [target["id"]]
    [voiding] = lrs.read_statements(WRITER, {"statementId": voiding_id}).statements
    assert orjson.loads(voiding)["object"] == {"objectType": "StatementRef", "id": target["id"]}


def test_invalid_statements_and_scopes_raise_library_errors(lrs):
    with pytest.raises(StatementError) as info:
        lrs.post_statements(WRITER, [statement(verb={"id": "not an IRI"})])
    assert "[0].verb.id" in info.value.errors
    with pytest.raises(ForbiddenError):
        lrs.post_statements(READER, [statement()])
    assert lrs.read_statements(WRITER, {}).statements == []


def test_documents(lrs):
    params = {"activityId": COURSE, "agent": orjson.dumps(ALICE).decode(), "stateId": "s"}
    stored = lrs.put_document(WRITER, STATE_RESOURCE, params, b'{"a":1}', "application/json")
    lrs.put_document(
        WRITER, STATE_RESOURCE, params, b'{"b":2}', "application/json", merge=True
    )
    document = lrs.get_document(WRITER, STATE_RESOURCE, params)
    assert orjson.loads(document.content) == {"a": 1, "b": 2}
    with pytest.raises(PreconditionFailedError):
        lrs.put_document(
            WRITER, STATE_RESOURCE, params, b"{}", "application/json", if_match=[stored.etag]
        )
    listing = {k: v for k, v in params.items() if k != "stateId"}
    assert list(lrs.get_document(WRITER, STATE_RESOURCE, listing)) == ["s"]
    lrs.delete_document(WRITER, STATE_RESOURCE, params, if_match=[document.etag])
    with pytest.raises(NotFoundError):
        lrs.get_document(WRITER, STATE_RESOURCE, params)
    profile = {"activityId": COURSE, "profileId": "p"}
    lrs.put_document(
        WRITER, ACTIVITY_PROFILE_RESOURCE, profile, b"text", "text/plain", if_none_match=["*"]
    )
    assert lrs.get_document(WRITER, ACTIVITY_PROFILE_RESOURCE, profile).content == b"text"


def test_tenants_stay_apart(lrs):
    lrs.post_statements(WRITER, [statement()])
    assert lrs.read_statements(OTHER_TENANT, {}).statements == []
    assert lrs.get_person(WRITER, orjson.dumps(ALICE).decode())["mbox"] == [ALICE["mbox"]]


def test_activity_definitions(lrs):
    lrs.post_statements(
        WRITER, [statement(object={"id": COURSE, "definition": {"name": {"en": "Course"}}})]
    )
    assert lrs.get_activity(READER, COURSE) == {
        "objectType": "Activity", "id": COURSE, "definition": {"name": {"en": "Course"}},
    }

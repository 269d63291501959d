"""Stores written by earlier code open and read back unchanged (`tests/fixtures/`: made by
the layout-1 code of commit 2efd1d7 with `make_schema1_stores.py`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from flask import Flask
from lrs_testing import VERSION, basic

from lrs import create_app
from lrs.extension import EXTENSION

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
COURSE = "http://example.com/course/1"


@pytest.fixture
def old_sqlite_app(tmp_path: Path):
    shutil.copy(FIXTURES / "schema1.db", tmp_path / "lrs.db")
    meta = json.loads((FIXTURES / "schema1.json").read_text())
    app = create_app({
        "storage_uri": f"sqlite:///{tmp_path / 'lrs.db'}",
        "master_key": meta["master_key"],
        "authority_home_page": meta["home_page"],
    })
    yield app, meta["credentials"]
    app.extensions[EXTENSION].close()


def check_reads(app: Flask, credentials: dict[str, list[str]]) -> None:
    client = app.test_client()
    default = {**VERSION, **basic(*credentials["default"])}
    other = {**VERSION, **basic(*credentials["school-b"])}
    answer = client.get("/xapi/statements", headers=default)
    assert answer.status_code == 200
    statements = answer.json["statements"]
    # 6 statements + 1 voiding + 1 with an attachment, minus the voided one.
    assert len(statements) == 7
    # The reidentify credential reads the originals from the vault written by the old code.
    actors = {s["actor"].get("mbox") for s in statements}
    assert "mailto:learner2@default.example" in actors
    # The agent filter pseudonymizes with the same key: the old pseudonyms are found.
    agent = json.dumps({"mbox": "mailto:learner3@default.example"})
    found = client.get("/xapi/statements", query_string={"agent": agent}, headers=default)
    assert [s["actor"]["mbox"] for s in found.json["statements"]] == [
        "mailto:learner3@default.example"
    ]
    voided = client.get(
        "/xapi/statements",
        query_string={"voidedStatementId": "00000000-0000-0000-0000-000000000001"},
        headers=default,
    )
    assert voided.status_code == 200
    state = client.get(
        "/xapi/activities/state",
        query_string={"activityId": COURSE, "stateId": "bookmark",
                      "agent": json.dumps({"mbox": "mailto:learner1@default.example"})},
        headers=default,
    )
    assert state.status_code == 200 and state.json == {"page": 3}
    with_data = client.get(
        "/xapi/statements",
        query_string={"statementId": "00000000-0000-0000-0000-0000000000c8",
                      "attachments": "true"},
        headers=default,
    )
    assert with_data.status_code == 200 and b"an essay" in with_data.data
    activity = client.get("/xapi/activities", query_string={"activityId": COURSE},
                          headers=default)
    assert activity.json["definition"] == {"name": {"en": "Course default"}}
    # Tenants stay apart; the other tenant's writer has no reidentify scope.
    theirs = client.get("/xapi/statements", headers=other).json["statements"]
    assert len(theirs) == 6
    assert all("mbox" not in s["actor"] for s in theirs)
    # Writing still works on the old store.
    posted = client.post(
        "/xapi/statements", headers=default,
        json={"actor": {"mbox": "mailto:new@default.example"},
              "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
              "object": {"id": COURSE}},
    )
    assert posted.status_code == 200


def test_a_layout_1_sqlite_store_opens_and_reads_back(old_sqlite_app):
    app, credentials = old_sqlite_app
    check_reads(app, credentials)


def test_a_layout_1_sqlite_store_is_migrated_in_place_once(old_sqlite_app, tmp_path):
    """Layout 1 -> 2: a tenant row, following the configuration, for the default tenant and
    each tenant with data; opening again changes nothing."""
    import sqlite3

    from storage.sqlite.schema import SCHEMA_VERSION

    app, _ = old_sqlite_app
    store = app.extensions[EXTENSION].store
    tenants = {t.name: t for t in store.list_tenants()}
    assert set(tenants) == {"default", "school-b"}
    assert all(t.policy == {} for t in tenants.values())
    with sqlite3.connect(tmp_path / "lrs.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    from storage import open_storage

    with open_storage(f"sqlite:///{tmp_path / 'lrs.db'}") as again:
        assert again.list_tenants() == list(tenants.values())


def test_an_interrupted_migration_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    import sqlite3

    import storage.sqlite.tenants
    from storage import open_storage

    shutil.copy(FIXTURES / "schema1.db", tmp_path / "lrs.db")
    uri = f"sqlite:///{tmp_path / 'lrs.db'}"

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # the process stopped in the middle of the migration

    monkeypatch.setattr(storage.sqlite.tenants, "ensure", crash)
    with pytest.raises(KeyboardInterrupt):
        open_storage(uri)
    with sqlite3.connect(tmp_path / "lrs.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (1,)
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema")}
        assert "tenants" not in names and "audit" not in names
    monkeypatch.undo()
    with open_storage(uri) as store:
        assert {t.name for t in store.list_tenants()} == {"default", "school-b"}


@pytest.fixture
def old_mongo_app(mongo_database_uri: str):
    from bson import json_util
    from pymongo import MongoClient

    dump = json_util.loads((FIXTURES / "schema1-mongo.bson.json").read_text())
    client = MongoClient(mongo_database_uri)
    database = client.get_default_database()
    for name, documents in dump.items():
        if documents:
            database[name].insert_many(documents)
    client.close()
    meta = json.loads((FIXTURES / "schema1-mongo.json").read_text())
    app = create_app({
        "storage_uri": mongo_database_uri,
        "master_key": meta["master_key"],
        "authority_home_page": meta["home_page"],
    })
    yield app, meta["credentials"]
    app.extensions[EXTENSION].close()


def test_a_layout_1_mongodb_store_opens_and_reads_back(old_mongo_app):
    app, credentials = old_mongo_app
    check_reads(app, credentials)


@pytest.mark.parametrize("old", ["old_sqlite_app", "old_mongo_app"])
def test_attachments_stored_by_earlier_layouts_are_erased_with_their_statement(old, request):
    """Layout 3 indexes the attachments each stored statement refers to: erasing the
    learner of a statement written by the layout-1 code deletes its attachment data."""
    import hashlib

    from lrs.service import SCOPES, Principal

    app, _ = request.getfixturevalue(old)
    service = app.extensions[EXTENSION].service
    sha = hashlib.sha256(b"an essay").hexdigest()
    assert service.store.get_attachments("default", [sha])
    operator = Principal("cli", "default", frozenset(SCOPES), {}, "cli-test")
    receipt = service.erasure.erase(operator, {"mbox": "mailto:learner2@default.example"})
    assert receipt["counts"]["attachments"] == 1
    assert service.store.get_attachments("default", [sha]) == {}

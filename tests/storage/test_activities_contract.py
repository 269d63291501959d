"""The ActivityStore contract (Data 2.4.4.1, Communication 2.5, 4.2 `define`) on every backend
through the `store` fixture; the merge rule (`merge_definition`); and the ingest rule recording
every Activity of a stored statement and merging definitions only for a defining writer."""

from __future__ import annotations

import threading
import uuid

import pytest

from lrs.service.ingest import store_statements
from statements import activity_positions, validate_statements
from storage import Storage, build_record
from storage.commands import insert_statements, merge_definition, put_activities
from storage.errors import DuplicateIdError
from storage.mongo import MongoStorage
from tests.mongo_server import secantus_server, with_database

T = "tenant-a"
AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://lrs.test", "name": "k"}}
COURSE = "http://example.com/activities/course"
MODULE = "http://example.com/activities/module"
EXT_A = "http://example.com/ext/a"
EXT_B = "http://example.com/ext/b"


def statement(obj: dict, **extra: object) -> dict:
    raw = {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "mbox": "mailto:learner@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": obj,
        **extra,
    }
    return validate_statements(raw)[0]


def ingest(store, statements: list[dict], *, define: bool, tenant: str = T) -> list[str]:
    return store_statements(
        store, tenant, statements, authority=AUTHORITY, writer="client-1",
        define_activities=define,
    )


# -- merge rule (pure) -------------------------------------------------------------------------


def test_merge_language_maps_per_tag_newer_wins():
    """Data 2.4.4.1: a defining writer may update the stored definition; per language tag."""
    current = {"name": {"en-US": "Course", "fr": "Cours"}, "description": {"en-US": "Old"}}
    merged = merge_definition(current, {"name": {"en-US": "The course", "de": "Kurs"}})
    assert merged == {
        "name": {"en-US": "The course", "fr": "Cours", "de": "Kurs"},
        "description": {"en-US": "Old"},
    }


def test_merge_language_tags_compare_case_insensitively():
    """RFC 5646 2.1.1: en-us and en-US are one tag; the newer spelling is kept."""
    merged = merge_definition({"name": {"en-us": "old"}}, {"name": {"en-US": "new"}})
    assert merged == {"name": {"en-US": "new"}}


def test_merge_extensions_per_key_and_other_properties_replaced():
    current = {
        "type": "http://adlnet.gov/expapi/activities/course",
        "moreInfo": "http://example.com/old",
        "extensions": {EXT_A: {"x": 1}, EXT_B: 2},
    }
    merged = merge_definition(
        current,
        {"type": "http://adlnet.gov/expapi/activities/module", "extensions": {EXT_A: {"y": 2}}},
    )
    assert merged == {
        "type": "http://adlnet.gov/expapi/activities/module",
        "moreInfo": "http://example.com/old",
        "extensions": {EXT_A: {"y": 2}, EXT_B: 2},
    }


def test_merge_replaces_the_interaction_as_a_whole():
    """A new interactionType never keeps the components of the old one (Data 2.4.4.1
    Interaction Activities: components belong to their type)."""
    current = {
        "name": {"en": "Q"},
        "interactionType": "choice",
        "correctResponsesPattern": ["a"],
        "choices": [{"id": "a", "description": {"en": "A"}}],
    }
    merged = merge_definition(
        current,
        {"interactionType": "likert", "scale": [{"id": "1", "description": {"en": "low"}}]},
    )
    assert merged == {
        "name": {"en": "Q"},
        "interactionType": "likert",
        "scale": [{"id": "1", "description": {"en": "low"}}],
    }


def test_merge_is_idempotent_and_leaves_its_inputs_alone():
    current = {"name": {"en": "a"}, "extensions": {EXT_A: 1}}
    new = {"name": {"fr": "b"}, "extensions": {EXT_B: 2}}
    once = merge_definition(current, new)
    assert merge_definition(once, new) == once
    assert current == {"name": {"en": "a"}, "extensions": {EXT_A: 1}}
    assert new == {"name": {"fr": "b"}, "extensions": {EXT_B: 2}}


def test_statement_activities_finds_every_position():
    """Object, SubStatement object and the contextActivities of both."""
    sub = {
        "objectType": "SubStatement",
        "actor": {"mbox": "mailto:a@example.com"},
        "verb": {"id": "http://example.com/v"},
        "object": {"id": "http://example.com/sub-object"},
        "context": {"contextActivities": {"other": [{"id": "http://example.com/sub-other"}]}},
    }
    found = statement(
        sub,
        context={
            "contextActivities": {
                "parent": {"id": "http://example.com/parent"},
                "grouping": [{"id": "http://example.com/g1"}, {"id": "http://example.com/g2"}],
                "category": [{"id": "http://example.com/cat"}],
            }
        },
    )
    assert {position.node["id"] for position in activity_positions(found)} == {
        "http://example.com/sub-object", "http://example.com/sub-other",
        "http://example.com/parent", "http://example.com/g1", "http://example.com/g2",
        "http://example.com/cat",
    }


# -- the store ---------------------------------------------------------------------------------


def test_backends_implement_the_protocol(store):
    assert isinstance(store, Storage)


def test_unknown_activities_are_absent(store):
    assert store.get_activities(T, [COURSE]) == {}
    assert store.get_activities(T, []) == {}


def test_recorded_id_without_definition_reads_as_empty(store):
    put_activities(store, T, {COURSE: []})
    assert store.get_activities(T, [COURSE, MODULE]) == {COURSE: {}}


def test_definitions_merge_in_order(store):
    put_activities(store, T, {COURSE: [{"name": {"en-US": "Course"}, "extensions": {EXT_A: 1}}]})
    put_activities(store,
        T,
        {COURSE: [{"name": {"fr": "Cours"}}, {"name": {"en-US": "The course"},
                                               "extensions": {EXT_B: 2}}]},
    )
    assert store.get_activities(T, [COURSE]) == {
        COURSE: {"name": {"en-US": "The course", "fr": "Cours"},
                 "extensions": {EXT_A: 1, EXT_B: 2}}
    }


def test_recording_an_id_again_keeps_its_definition(store):
    """Communication 4.2: ids are saved, the canonical representation is not updated."""
    put_activities(store, T, {COURSE: [{"name": {"en": "Course"}}]})
    put_activities(store, T, {COURSE: [], MODULE: []})
    assert store.get_activities(T, [COURSE, MODULE]) == {
        COURSE: {"name": {"en": "Course"}}, MODULE: {}
    }


def test_extension_keys_with_dots_and_dollars_round_trip(store):
    definition = {"extensions": {"http://example.com/a.b": {"$x": 1, "y.z": [1, "2"]}}}
    put_activities(store, T, {COURSE: [definition]})
    assert store.get_activities(T, [COURSE]) == {COURSE: definition}


def test_activity_ids_compare_exactly(store):
    """IRIs are compared as strings: another case is another Activity."""
    put_activities(store, T, {COURSE: [{"name": {"en": "lower"}}]})
    upper = COURSE.replace("course", "Course")
    assert store.get_activities(T, [upper]) == {}
    put_activities(store, T, {upper: [{"name": {"en": "upper"}}]})
    assert store.get_activities(T, [COURSE, upper]) == {
        COURSE: {"name": {"en": "lower"}}, upper: {"name": {"en": "upper"}}
    }


def test_tenants_are_isolated(store):
    put_activities(store, T, {COURSE: [{"name": {"en": "A's"}}]})
    assert store.get_activities("tenant-b", [COURSE]) == {}
    put_activities(store, "tenant-b", {COURSE: [{"name": {"fr": "B"}}]})
    assert store.get_activities(T, [COURSE]) == {COURSE: {"name": {"en": "A's"}}}
    assert store.get_activities("tenant-b", [COURSE]) == {COURSE: {"name": {"fr": "B"}}}


def test_failed_statement_batch_changes_no_activity(store):
    """All or nothing (Communication 2.1.2): a batch refused for a stored id leaves the
    activities as they were."""
    check_failed_batch_changes_no_activity(store)


def check_failed_batch_changes_no_activity(store) -> None:
    put_activities(store, T, {COURSE: [{"name": {"en": "kept"}}]})
    taken = build_record(
        {**statement({"id": COURSE}), "stored": "2024-01-01T00:00:00.000000Z"}, writer="w"
    )
    insert_statements(store, T, [taken])
    fresh = build_record(
        {**statement({"id": MODULE}), "stored": "2024-01-01T00:00:00.000001Z"}, writer="w"
    )
    with pytest.raises(DuplicateIdError):
        insert_statements(store,
            T, [fresh, taken], {COURSE: [{"name": {"en": "changed"}}], MODULE: []}
        )
    assert store.get_activities(T, [COURSE, MODULE]) == {COURSE: {"name": {"en": "kept"}}}


def test_concurrent_merges_lose_nothing(store):
    """Each writer adds its own language; every one of them is kept."""
    check_concurrent_merges_lose_nothing(store)


def check_concurrent_merges_lose_nothing(store) -> None:
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for round_ in range(5):
                put_activities(store, T, {COURSE: [{"name": {f"x-w{n}r{round_}": str(n)}}]})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(store.get_activities(T, [COURSE])[COURSE]["name"]) == sorted(
        f"x-w{n}r{r}" for n in range(4) for r in range(5)
    )


@pytest.fixture(scope="module")
def standalone_uri(tmp_path_factory):
    with secantus_server(tmp_path_factory.mktemp("standalone"), standalone=True) as uri:
        yield uri


@pytest.mark.slow
def test_standalone_mongodb_merges_by_compare_and_set(standalone_uri):
    """Without transactions the merge is a compare-and-set on the stored definition:
    concurrent writers lose no language, and a refused batch merges nothing."""
    for check in (check_concurrent_merges_lose_nothing, check_failed_batch_changes_no_activity):
        database = f"activities_{uuid.uuid4().hex[:8]}"
        with MongoStorage(with_database(standalone_uri, database)) as mongo:
            assert not mongo.transactional
            check(mongo)


# -- ingest (lrs.service.ingest.store_statements) --------------------------------------------------


def test_without_define_ids_are_recorded_and_definitions_ignored(store):
    """Communication 4.2 `define`: "ids will be saved" but the canonical representation of
    Activities is not updated."""
    ingest(
        store,
        [statement(
            {"id": COURSE, "definition": {"name": {"en": "Course"}}},
            context={"contextActivities": {"parent": [{"id": MODULE,
                                                       "definition": {"name": {"en": "M"}}}]}},
        )],
        define=False,
    )
    assert store.get_activities(T, [COURSE, MODULE]) == {COURSE: {}, MODULE: {}}


def test_with_define_definitions_are_merged_in_batch_order(store):
    ingest(
        store,
        [
            statement({"id": COURSE, "definition": {"name": {"en": "First"},
                                                    "extensions": {EXT_A: 1}}}),
            statement({"id": COURSE, "definition": {"name": {"en": "Second", "fr": "Deux"}}}),
            statement({"id": MODULE}),
        ],
        define=True,
    )
    assert store.get_activities(T, [COURSE, MODULE]) == {
        COURSE: {"name": {"en": "Second", "fr": "Deux"}, "extensions": {EXT_A: 1}},
        MODULE: {},
    }


def test_undefining_writer_does_not_change_a_canonical_definition(store):
    ingest(store, [statement({"id": COURSE, "definition": {"name": {"en": "Canon"}}})],
           define=True)
    ingest(store, [statement({"id": COURSE, "definition": {"name": {"en": "Rogue"}}})],
           define=False)
    assert store.get_activities(T, [COURSE]) == {COURSE: {"name": {"en": "Canon"}}}


def test_resent_statement_does_not_undo_a_newer_definition(store):
    """A re-sent statement is a no-op (Communication 2.1.2), for its definitions too."""
    old = statement({"id": COURSE, "definition": {"name": {"en": "Old"}}})
    ingest(store, [old], define=True)
    ingest(store, [statement({"id": COURSE, "definition": {"name": {"en": "New"}}})],
           define=True)
    ingest(store, [old], define=True)
    assert store.get_activities(T, [COURSE]) == {COURSE: {"name": {"en": "New"}}}


def test_substatement_and_its_context_are_defined_too(store):
    sub = {
        "objectType": "SubStatement",
        "actor": {"mbox": "mailto:a@example.com"},
        "verb": {"id": "http://example.com/v"},
        "object": {"id": COURSE, "definition": {"name": {"en": "Sub"}}},
        "context": {"contextActivities": {"grouping": [
            {"id": MODULE, "definition": {"type": "http://example.com/type"}}
        ]}},
    }
    ingest(store, [statement(sub)], define=True)
    assert store.get_activities(T, [COURSE, MODULE]) == {
        COURSE: {"name": {"en": "Sub"}}, MODULE: {"type": "http://example.com/type"}
    }


def test_ingest_keeps_tenants_apart(store):
    ingest(store, [statement({"id": COURSE, "definition": {"name": {"en": "A"}}})],
           define=True)
    ingest(store, [statement({"id": COURSE, "definition": {"name": {"en": "B"}}})],
           define=True, tenant="tenant-b")
    assert store.get_activities(T, [COURSE]) == {COURSE: {"name": {"en": "A"}}}
    assert store.get_activities("tenant-b", [COURSE]) == {COURSE: {"name": {"en": "B"}}}

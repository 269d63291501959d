"""The document storage contract (Communication 2.2 to 2.7, 3.1), run on every backend
through the `store` fixture: the Protocol and `storage.commands.documents` above it."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest

from storage import (
    ACTIVITY_PROFILE,
    AGENT_PROFILE,
    STATE,
    DocumentScope,
)
from storage.commands import delete_document, delete_documents, put_document
from storage.errors import DocumentMergeError, PreconditionFailedError

T = "tenant-a"
ACT = "http://example.com/activities/1"
ALICE = "mbox:mailto:alice@example.com"
BOB = "mbox:mailto:bob@example.com"
REG = "6fbd600f-d17c-4c74-801a-2ec2e53231c9"
REG2 = "2ec2e532-d17c-4c74-801a-6fbd600f31c9"
T1 = "2024-05-01T10:00:00.000001Z"
T2 = "2024-05-01T10:00:00.000002Z"
T3 = "2024-05-01T10:00:01.000000Z"
JSON = "application/json"

STATE_SCOPE = DocumentScope(STATE, activity=ACT, agent=ALICE)


def json_of(document):
    return json.loads(document.content)


def put(store, doc_id, content, scope=STATE_SCOPE, *, tenant=T, updated=T1, **kwargs):
    return put_document(store,
        tenant, scope, doc_id, content, kwargs.pop("content_type", JSON), updated=updated, **kwargs
    )


def test_put_get_round_trip_with_sha1_etag(store):
    """Communication 3.1: the ETag is the SHA-1 hex digest of the content."""
    stored = put(store, "s1", b'{"a": 1}')
    got = store.get_document(T, STATE_SCOPE, "s1")
    assert got == stored
    assert got.id == "s1"
    assert got.content == b'{"a": 1}'
    assert got.content_type == JSON
    assert got.etag == hashlib.sha1(b'{"a": 1}').hexdigest()
    assert got.updated == T1


def test_binary_content_and_content_type_round_trip_byte_for_byte(store):
    """Communication 2.2: contents are arbitrary binary data, returned as stored."""
    content = bytes(range(256)) * 40 + b"\x00\xff"
    put(store, "bin", content, content_type="application/octet-stream")
    got = store.get_document(T, STATE_SCOPE, "bin")
    assert got.content == content
    assert got.content_type == "application/octet-stream"


def test_get_missing_is_none(store):
    assert store.get_document(T, STATE_SCOPE, "nope") is None


def test_put_replaces_and_updated_advances(store):
    first = put(store, "s1", b"one", content_type="text/plain", updated=T1)
    second = put(store, "s1", b"two", updated=T2)
    got = store.get_document(T, STATE_SCOPE, "s1")
    assert got.content == b"two"
    assert got.content_type == JSON
    assert got.updated == T2
    assert got.etag == second.etag != first.etag
    assert list(store.list_documents(T, STATE_SCOPE)) == ["s1"]


def test_scopes_keep_documents_apart(store):
    """Communication 2.3/2.6/2.7: a document id is unique only within its resource and context."""
    scopes = [
        STATE_SCOPE,
        DocumentScope(STATE, activity=ACT, agent=BOB),
        DocumentScope(STATE, activity=ACT + "/other", agent=ALICE),
        DocumentScope(STATE, activity=ACT, agent=ALICE, registration=REG),
        DocumentScope(ACTIVITY_PROFILE, activity=ACT),
        DocumentScope(AGENT_PROFILE, agent=ALICE),
    ]
    for index, scope in enumerate(scopes):
        put(store, "same-id", str(index).encode(), scope)
    for index, scope in enumerate(scopes):
        assert store.get_document(T, scope, "same-id").content == str(index).encode()
    assert store.list_documents(T, DocumentScope(AGENT_PROFILE, agent=BOB)) == {}


def test_registration_none_is_its_own_document_but_lists_all_registrations(store):
    """Communication 2.3: ids and multiple DELETE cover Activity + Agent [+ registration]."""
    put(store, "plain", b"0")
    put(store, "shared", b"0")
    put(store, "shared", b"1", DocumentScope(STATE, activity=ACT, agent=ALICE, registration=REG))
    put(store, "r2", b"2", DocumentScope(STATE, activity=ACT, agent=ALICE, registration=REG2))
    assert store.get_document(T, STATE_SCOPE, "r2") is None
    assert list(store.list_documents(T, STATE_SCOPE)) == ["plain", "r2", "shared"]
    with_reg = DocumentScope(STATE, activity=ACT, agent=ALICE, registration=REG)
    assert list(store.list_documents(T, with_reg)) == ["shared"]


def test_list_since_is_exclusive_and_maps_ids_to_latest_update(store):
    """Communication 2.3 Multiple Document GET: `since` is exclusive."""
    put(store, "b", b"1", updated=T1)
    put(store, "a", b"2", updated=T2)
    put(store, "c", b"3", updated=T3)
    assert store.list_documents(T, STATE_SCOPE) == {"a": T2, "b": T1, "c": T3}
    assert list(store.list_documents(T, STATE_SCOPE)) == ["a", "b", "c"]
    assert store.list_documents(T, STATE_SCOPE, since=T2) == {"c": T3}
    assert store.list_documents(T, STATE_SCOPE, since=T3) == {}
    assert store.list_documents(T, STATE_SCOPE, since="2000-01-01T00:00:00.000000Z") == {
        "a": T2, "b": T1, "c": T3,
    }


def test_delete_document(store):
    put(store, "s1", b"x")
    assert delete_document(store, T, STATE_SCOPE, "s1") is True
    assert store.get_document(T, STATE_SCOPE, "s1") is None
    assert delete_document(store, T, STATE_SCOPE, "s1") is False


def test_delete_documents_with_and_without_registration(store):
    """Communication 2.3 Multiple Document DELETE."""
    reg = DocumentScope(STATE, activity=ACT, agent=ALICE, registration=REG)
    reg2 = DocumentScope(STATE, activity=ACT, agent=ALICE, registration=REG2)
    bob = DocumentScope(STATE, activity=ACT, agent=BOB)
    profile = DocumentScope(ACTIVITY_PROFILE, activity=ACT)
    for scope in (STATE_SCOPE, reg, reg2, bob, profile):
        put(store, "a", b"1", scope)
        put(store, "b", b"1", scope)
    assert delete_documents(store, T, reg) == 2
    assert store.list_documents(T, reg) == {}
    assert list(store.list_documents(T, reg2)) == ["a", "b"]
    assert store.get_document(T, STATE_SCOPE, "a") is not None
    assert delete_documents(store, T, STATE_SCOPE) == 4
    assert store.list_documents(T, STATE_SCOPE) == {}
    assert list(store.list_documents(T, bob)) == ["a", "b"]
    assert list(store.list_documents(T, profile)) == ["a", "b"]


def test_tenants_are_isolated(store):
    put(store, "s1", b"a", tenant="t1")
    put(store, "s1", b"b", tenant="t2")
    assert store.get_document("t1", STATE_SCOPE, "s1").content == b"a"
    assert store.get_document("t2", STATE_SCOPE, "s1").content == b"b"
    assert store.get_document("t3", STATE_SCOPE, "s1") is None
    assert delete_documents(store, "t1", STATE_SCOPE) == 1
    assert store.list_documents("t1", STATE_SCOPE) == {}
    assert list(store.list_documents("t2", STATE_SCOPE)) == ["s1"]
    assert delete_document(store, "t1", STATE_SCOPE, "s1") is False
    assert store.get_document("t2", STATE_SCOPE, "s1").content == b"b"


# Concurrency (Communication 3.1): preconditions are checked atomically with the write.

def test_if_match_current_etag_replaces(store):
    first = put(store, "s1", b"one")
    put(store, "s1", b"two", if_match=[first.etag], updated=T2)
    assert store.get_document(T, STATE_SCOPE, "s1").content == b"two"


def test_if_match_stale_etag_fails_and_changes_nothing(store):
    first = put(store, "s1", b"one")
    put(store, "s1", b"two", if_match=[first.etag], updated=T2)
    with pytest.raises(PreconditionFailedError):
        put(store, "s1", b"three", if_match=[first.etag], updated=T3)
    got = store.get_document(T, STATE_SCOPE, "s1")
    assert (got.content, got.updated) == (b"two", T2)


def test_if_match_on_missing_document_fails_and_creates_nothing(store):
    for tags in (["*"], ["0" * 40]):
        with pytest.raises(PreconditionFailedError):
            put(store, "s1", b"x", if_match=tags)
    assert store.get_document(T, STATE_SCOPE, "s1") is None


def test_if_match_star_and_lists(store):
    first = put(store, "s1", b"one")
    put(store, "s1", b"two", if_match=["*"])
    second = store.get_document(T, STATE_SCOPE, "s1")
    put(store, "s1", b"three", if_match=["0" * 40, second.etag])
    assert store.get_document(T, STATE_SCOPE, "s1").content == b"three"
    with pytest.raises(PreconditionFailedError):
        put(store, "s1", b"four", if_match=[first.etag, second.etag])


def test_if_none_match_star(store):
    put(store, "s1", b"one", if_none_match=["*"])
    with pytest.raises(PreconditionFailedError):
        put(store, "s1", b"two", if_none_match=["*"])
    assert store.get_document(T, STATE_SCOPE, "s1").content == b"one"


def test_if_none_match_etag(store):
    first = put(store, "s1", b"one")
    with pytest.raises(PreconditionFailedError):
        put(store, "s1", b"two", if_none_match=[first.etag])
    put(store, "s1", b"two", if_none_match=["0" * 40])
    assert store.get_document(T, STATE_SCOPE, "s1").content == b"two"


def test_delete_with_preconditions(store):
    first = put(store, "s1", b"one")
    with pytest.raises(PreconditionFailedError):
        delete_document(store, T, STATE_SCOPE, "s1", if_match=["0" * 40])
    with pytest.raises(PreconditionFailedError):
        delete_document(store, T, STATE_SCOPE, "s1", if_none_match=["*"])
    assert store.get_document(T, STATE_SCOPE, "s1") is not None
    assert delete_document(store, T, STATE_SCOPE, "s1", if_match=[first.etag]) is True
    with pytest.raises(PreconditionFailedError):
        delete_document(store, T, STATE_SCOPE, "s1", if_match=["*"])


def test_concurrent_conditional_writes_exactly_one_wins(store):
    """Two clients holding the same ETag: one write succeeds, the other gets 412."""
    first = put(store, "s1", b"start")
    workers = 8
    barrier = threading.Barrier(workers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def write(n: int) -> None:
        barrier.wait()
        try:
            put(store, "s1", f"w{n}".encode(), if_match=[first.etag], updated=T2)
            result = "ok"
        except PreconditionFailedError:
            result = "412"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["412"] * (workers - 1) + ["ok"]


# JSON merge (Communication 2.2, JSON Procedure with Requirements).

def test_merge_onto_missing_document_creates_it(store):
    put(store, "s1", b"not even json", merge=True, content_type="text/plain")
    got = store.get_document(T, STATE_SCOPE, "s1")
    assert (got.content, got.content_type) == (b"not even json", "text/plain")


def test_merge_sets_top_level_properties(store):
    """The spec's own example: {"x":"foo","y":"bar"} + {"x":"bash","z":"faz"}."""
    put(store, "s1", b'{"x": "foo", "y": "bar"}')
    merged = put(store, "s1", b'{"x": "bash", "z": "faz"}', merge=True, updated=T2)
    got = store.get_document(T, STATE_SCOPE, "s1")
    assert json_of(got) == {"x": "bash", "y": "bar", "z": "faz"}
    assert got == merged
    assert got.etag == hashlib.sha1(got.content).hexdigest()
    assert got.updated == T2


def test_merge_replaces_nested_objects_whole(store):
    put(store, "s1", b'{"car": {"make": "Ford", "model": "Escape"}, "driver": "Dale"}')
    put(store, "s1", b'{"car": {"make": "Dodge"}}', merge=True)
    assert json_of(store.get_document(T, STATE_SCOPE, "s1")) == {
        "car": {"make": "Dodge"}, "driver": "Dale",
    }


def test_merge_accepts_json_content_type_parameters(store):
    put(store, "s1", b'{"a": 1}', content_type="application/json; charset=utf-8")
    put(store, "s1", '{"b": "é"}'.encode(), merge=True, content_type="Application/JSON")
    assert json_of(store.get_document(T, STATE_SCOPE, "s1")) == {"a": 1, "b": "é"}


@pytest.mark.parametrize(
    ("stored", "stored_type", "posted", "posted_type"),
    [
        (b'{"a": 1}', JSON, b'{"b": 2}', "application/octet-stream"),
        (b'{"a": 1}', "text/plain", b'{"b": 2}', JSON),
        (b'{"a": 1}', JSON, b'{"b": 2', JSON),
        (b'{"a": 1}', JSON, b"[1, 2]", JSON),
        (b'{"a": 1}', JSON, b"true", JSON),
        (b"[1]", JSON, b'{"b": 2}', JSON),
        (b"\xff\xfe", JSON, b'{"b": 2}', JSON),
    ],
)
def test_merge_needs_two_json_objects_and_changes_nothing_otherwise(
    store, stored, stored_type, posted, posted_type
):
    """Communication 2.2: either document not application/json or not an object -> 400."""
    before = put(store, "s1", stored, content_type=stored_type)
    with pytest.raises(DocumentMergeError):
        put(store, "s1", posted, merge=True, content_type=posted_type, updated=T2)
    assert store.get_document(T, STATE_SCOPE, "s1") == before


def test_merge_checks_preconditions_first(store):
    put(store, "s1", b'{"a": 1}')
    with pytest.raises(PreconditionFailedError):
        put(store, "s1", b'{"b": 2}', merge=True, if_match=["0" * 40])
    with pytest.raises(PreconditionFailedError):
        put(store, "s1", b'{"b": 2}', merge=True, if_none_match=["*"])
    assert json_of(store.get_document(T, STATE_SCOPE, "s1")) == {"a": 1}


def test_concurrent_merges_lose_no_property(store):
    """Each merge reads and writes in one atomic step, so no update is lost."""
    put(store, "s1", b"{}")
    workers = 12
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def merge(n: int) -> None:
        barrier.wait()
        try:
            put(store, "s1", json.dumps({f"k{n}": n}).encode(), merge=True)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=merge, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert json_of(store.get_document(T, STATE_SCOPE, "s1")) == {
        f"k{n}": n for n in range(workers)
    }


def test_refuse_existing_is_checked_with_the_write(store):
    """A PUT without preconditions must not replace a document, even one created between a
    check and the write: the check is inside the write's atomic step."""
    from storage import ConflictError

    put_document(store, T, STATE_SCOPE, "s1", b"first", "text/plain", updated=T1,
                 refuse_existing="exists")
    with pytest.raises(ConflictError, match="exists"):
        put_document(store, T, STATE_SCOPE, "s1", b"second", "text/plain", updated=T2,
                     refuse_existing="exists")
    assert store.get_document(T, STATE_SCOPE, "s1").content == b"first"

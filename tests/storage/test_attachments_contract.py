"""The attachment storage contract (Data 2.4.11, Communication 1.5.2), on every backend through
the `store` fixture; and the ingest rule writing attachment data with its statements."""

from __future__ import annotations

import hashlib
import threading

import pytest

from lrs.service.ingest import store_statements
from statements import StatementError, validate_statements
from storage import Storage
from storage.commands import put_attachments
from storage.errors import ConflictError

T = "tenant-a"
AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://lrs.test", "name": "k"}}
ESSAY = b"An essay.\r\n\x00\xff binary too"
PHOTO = bytes(range(256)) * 4096  # 1 MiB


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_backends_implement_the_protocol(store):
    assert isinstance(store, Storage)


def test_put_get_round_trip_byte_for_byte(store):
    put_attachments(store, T, {sha(ESSAY): ("text/plain", ESSAY),
                              sha(PHOTO): ("image/png", PHOTO)}, "w1")
    assert store.get_attachments(T, [sha(ESSAY), sha(PHOTO)]) == {
        sha(ESSAY): ("text/plain", ESSAY),
        sha(PHOTO): ("image/png", PHOTO),
    }


def test_get_returns_only_what_is_stored(store):
    put_attachments(store, T, {sha(ESSAY): ("text/plain", ESSAY)}, "w1")
    assert store.get_attachments(T, [sha(PHOTO)]) == {}
    assert store.get_attachments(T, []) == {}
    assert store.get_attachments(T, [sha(ESSAY), sha(PHOTO)]) == {
        sha(ESSAY): ("text/plain", ESSAY)
    }


def test_put_nothing_is_a_no_op(store):
    put_attachments(store, T, {}, "w1")
    assert store.get_attachments(T, [sha(ESSAY)]) == {}


def test_same_hash_is_stored_once_and_first_write_wins(store):
    """Deduplicated by sha2: writing it again (any content type) changes nothing."""
    put_attachments(store, T, {sha(ESSAY): ("text/plain", ESSAY)}, "w1")
    put_attachments(store, T, {sha(ESSAY): ("text/markdown", ESSAY)}, "w1")
    assert store.get_attachments(T, [sha(ESSAY)]) == {sha(ESSAY): ("text/plain", ESSAY)}


def test_hashes_are_matched_case_insensitively(store):
    put_attachments(store, T, {sha(ESSAY).upper(): ("text/plain", ESSAY)}, "w1")
    assert store.get_attachments(T, [sha(ESSAY)]) == {sha(ESSAY): ("text/plain", ESSAY)}
    assert store.get_attachments(T, [sha(ESSAY).upper()]) == {sha(ESSAY): ("text/plain", ESSAY)}


def test_tenants_are_isolated(store):
    put_attachments(store, T, {sha(ESSAY): ("text/plain", ESSAY)}, "w1")
    assert store.get_attachments("tenant-b", [sha(ESSAY)]) == {}
    put_attachments(store, "tenant-b", {sha(ESSAY): ("application/x-other", ESSAY)}, "w1")
    assert store.get_attachments(T, [sha(ESSAY)]) == {sha(ESSAY): ("text/plain", ESSAY)}
    assert store.get_attachments("tenant-b", [sha(ESSAY)]) == {
        sha(ESSAY): ("application/x-other", ESSAY)
    }


def test_who_sent_the_data_is_kept_per_writer(store):
    """Issue 10: a reader limited to its own statements is served only data it sent."""
    put_attachments(store, T, {sha(ESSAY): ("text/plain", ESSAY)}, "w1")
    assert store.get_attachments(T, [sha(ESSAY)], writer="w1") == {
        sha(ESSAY): ("text/plain", ESSAY)
    }
    assert store.get_attachments(T, [sha(ESSAY)], writer="w2") == {}
    put_attachments(store, T, {sha(ESSAY): ("text/plain", ESSAY)}, "w2")  # w2 sent it too
    assert store.get_attachments(T, [sha(ESSAY)], writer="w2") == {
        sha(ESSAY): ("text/plain", ESSAY)
    }
    assert store.get_attachments("tenant-b", [sha(ESSAY)], writer="w1") == {}


def test_concurrent_writers_of_the_same_data_both_succeed(store):
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(20):
                put_attachments(store, T, {sha(ESSAY): ("text/plain", ESSAY)}, "w1")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.get_attachments(T, [sha(ESSAY)]) == {sha(ESSAY): ("text/plain", ESSAY)}


# --- ingest: data goes in with its statements ---------------------------------------------


def _statement(data: bytes, **extra: object) -> dict:
    return {
        "actor": {"mbox": "mailto:learner@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
        "object": {"id": "http://example.com/course"},
        "attachments": [{
            "usageType": "http://example.com/usage/essay",
            "display": {"en-US": "Essay"},
            "contentType": "text/plain",
            "length": len(data),
            "sha2": sha(data),
        }],
        **extra,
    }


def _ingest(store, statements, data):
    return store_statements(store, T, validate_statements(statements), authority=AUTHORITY,
                            writer="k", attachments=data)


def test_ingest_stores_the_data_of_new_statements(store):
    [sid] = _ingest(store, [_statement(ESSAY)], {sha(ESSAY): ("text/plain", ESSAY)})
    assert sid in store.get_statements(T, [sid])
    assert store.get_attachments(T, [sha(ESSAY)]) == {sha(ESSAY): ("text/plain", ESSAY)}


def test_rejected_batch_stores_no_data(store):
    """A batch is all or none: a 400 found by the ingest rules writes no attachment."""
    same = "7bd3e0a5-c5c2-4f05-a7d0-9e8a20f1c3b1"
    with pytest.raises(StatementError):
        _ingest(store, [_statement(ESSAY, id=same), _statement(ESSAY, id=same)],
                {sha(ESSAY): ("text/plain", ESSAY)})
    assert store.get_attachments(T, [sha(ESSAY)]) == {}


def test_conflicting_batch_stores_no_data(store):
    sid = "1f0e8a34-70c1-4a1e-9a62-0b1f6b1b3d55"
    _ingest(store, [_statement(b"first", id=sid)], {sha(b"first"): ("text/plain", b"first")})
    with pytest.raises(ConflictError):
        _ingest(store, [_statement(PHOTO, id=sid)], {sha(PHOTO): ("text/plain", PHOTO)})
    assert store.get_attachments(T, [sha(PHOTO)]) == {}

"""The identity vault in storage, on every backend: a statement's sealed originals are kept
in its own row and returned with it; identities are stored once per (agent, digest), per
tenant, in the statement's atomic write (a failed batch leaves none)."""

from __future__ import annotations

import pytest

from storage import Identity, StatementFilter, StatementRecord
from storage.commands import insert_statements
from storage.errors import DuplicateIdError

VERB = "http://adlnet.gov/expapi/verbs/completed"


def record(number: int, *, sealed: bytes | None = None, identities=()) -> StatementRecord:
    statement_id = f"00000000-0000-4000-8000-{number:012d}"
    stored = f"2026-01-01T00:00:00.{number:06d}Z"
    return StatementRecord(
        id=statement_id, statement=b'{"id":"%s"}' % statement_id.encode(), stored=stored,
        verb=VERB, writer="w", agents=frozenset({"account:https://p/k|a"}),
        sealed=sealed, identities=tuple(identities),
    )


def test_sealed_is_returned_by_every_read(store):
    insert_statements(store, "t", [record(1, sealed=b"\x01blob\x00"), record(2)])
    got = store.get_statements("t", [record(1).id, record(2).id])
    assert got[record(1).id].sealed == b"\x01blob\x00"
    assert got[record(2).id].sealed is None
    listed = store.query_statements("t", StatementFilter(), 10)
    assert {s.id: s.sealed for s in listed} == {record(1).id: b"\x01blob\x00", record(2).id: None}
    by_agent = store.query_statements("t", StatementFilter(agent="account:https://p/k|a"), 10)
    assert {s.id: s.sealed for s in by_agent}[record(1).id] == b"\x01blob\x00"


def test_identities_are_stored_once_per_digest_and_tenant(store):
    first = Identity("account:https://p/k|a", "d1", b"one")
    second = Identity("account:https://p/k|a", "d2", b"two")
    other = Identity("account:https://p/k|b", "d1", b"three")
    insert_statements(store, "t", [record(1, identities=[first, other]), record(2)])
    insert_statements(store, "t", [record(3, identities=[
        Identity(first.agent, "d1", b"ignored: stored once"), second])])
    assert store.get_identities("t", first.agent) == [first, second]
    assert store.get_identities("t", other.agent) == [other]
    assert store.get_identities("u", first.agent) == []
    insert_statements(store, "u", [record(1, identities=[first])])
    assert store.get_identities("u", first.agent) == [first]


def test_a_failed_batch_stores_no_identity(store):
    insert_statements(store, "t", [record(1)])
    with pytest.raises(DuplicateIdError):
        insert_statements(store, "t", [record(1, identities=[Identity("x", "d", b"s")])])
    assert store.get_identities("t", "x") == []

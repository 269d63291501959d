"""The forwarding storage contract, on every backend: the statement feed an edge LRS
forwards from (every statement, voided ones too, paged by position without skipping or
repeating), the forwarding state (compare-and-set), and the erasure list (append-only,
each agent once)."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from storage import ConcurrentUpdateError, SyncState
from storage.commands import insert_statements, record_erasure, update_sync_state
from tests.storage.test_contract import OTHER, VOIDED, T, rec

TARGET = "https://central.example.org/sync/v1"
NOW = "2026-12-01T10:00:00.000000Z"


def read_all(store, tenant=T, page=3, after=""):
    seen, positions = [], []
    while True:
        got = store.read_feed(tenant, after, page)
        if not got.statements:
            assert got.position == after  # nothing more: the position stays
            return seen, positions
        assert got.position > after
        seen += [s.id for s in got.statements]
        positions.append(got.position)
        after = got.position


def test_the_feed_pages_every_statement_once_voided_ones_included(store):
    first = [rec(n) for n in range(5)]
    insert_statements(store, T, first)
    voiding = rec(10, verb=VOIDED, ref=first[1].id, voids=first[1].id)
    later = [rec(n) for n in range(11, 15)]
    insert_statements(store, T, [voiding, *later])
    insert_statements(store, OTHER, [rec(20)])

    seen, positions = read_all(store)
    assert seen == [r.id for r in [*first, voiding, *later]]
    assert positions == sorted(positions)
    assert store.count_feed(T, "") == 10
    assert store.count_feed(T, positions[0]) == 7
    assert store.count_feed(T, positions[-1]) == 0
    [only] = store.read_feed(OTHER, "", 10).statements
    assert only.stored == rec(20).stored
    got = store.read_feed(T, "", 2).statements
    assert got[0].statement == first[0].statement  # the bytes as written


def test_the_feed_goes_on_from_a_position_as_statements_arrive(store):
    insert_statements(store, T, [rec(n) for n in range(3)])
    seen, positions = read_all(store)
    insert_statements(store, T, [rec(n) for n in range(3, 6)])
    more, _ = read_all(store, after=positions[-1])
    assert len(seen) == 3 and len(more) == 3 and not set(seen) & set(more)
    assert store.read_feed(T, "", 0).statements == ()


def test_a_forwarding_state_is_created_then_changed_by_compare_and_set(store):
    assert store.get_sync_state(T, TARGET) is None
    state = update_sync_state(
        store, T, TARGET, lambda s: dataclasses.replace(s, position="p1", last_success=NOW)
    )
    assert (state.revision, state.position, state.erasures_pulled) == (1, "p1", 0)
    assert store.get_sync_state(T, TARGET) == state
    stale = state

    def take(tx):
        tx.write_sync_state(dataclasses.replace(stale, revision=9), replaces=stale.revision)

    store.atomically(take)
    with pytest.raises(ConcurrentUpdateError):
        store.atomically(take)  # the revision moved on
    with pytest.raises(ConcurrentUpdateError):
        store.atomically(lambda tx: tx.write_sync_state(SyncState(T, TARGET), replaces=None))
    update_sync_state(store, OTHER, TARGET, lambda s: s)
    assert [(s.tenant, s.target) for s in store.list_sync_states()] == [
        (T, TARGET), (OTHER, TARGET)
    ]
    assert [s.tenant for s in store.list_sync_states(OTHER)] == [OTHER]


def test_concurrent_state_changes_lose_nothing(store):
    def bump(s: SyncState) -> SyncState:
        return dataclasses.replace(s, erasures_applied=s.erasures_applied + 1)

    threads = [
        threading.Thread(target=lambda: [update_sync_state(store, T, TARGET, bump)
                                         for _ in range(5)])
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state = store.get_sync_state(T, TARGET)
    assert (state.erasures_applied, state.revision) == (20, 20)


def test_the_erasure_list_holds_each_agent_once_in_order(store):
    assert record_erasure(store, T, "account:https://lrs.invalid/pseudonym/k|aaa", NOW)
    assert record_erasure(store, T, "account:https://lrs.invalid/pseudonym/k|bbb", NOW)
    assert not record_erasure(store, T, "account:https://lrs.invalid/pseudonym/k|aaa", NOW)
    assert record_erasure(store, OTHER, "account:https://lrs.invalid/pseudonym/k|aaa", NOW)
    entries = store.read_erasures(T)
    assert [(e.seq, e.agent[-3:], e.time) for e in entries] == [(1, "aaa", NOW), (2, "bbb", NOW)]
    assert [e.seq for e in store.read_erasures(T, after=1)] == [2]
    assert store.read_erasures(T, after=0, limit=1)[0].seq == 1
    assert store.erased_agents(T, ["account:https://lrs.invalid/pseudonym/k|bbb", "x"]) == {
        "account:https://lrs.invalid/pseudonym/k|bbb"
    }
    assert store.erased_agents(T, []) == set()
    assert [e.seq for e in store.read_erasures(OTHER)] == [1]


def test_concurrent_erasures_get_distinct_numbers(store):
    agents = [f"account:https://lrs.invalid/pseudonym/k|{n:03d}" for n in range(12)]
    threads = [
        threading.Thread(target=lambda part=part: [record_erasure(store, T, a, NOW)
                                                   for a in part])
        for part in (agents[:6], agents[6:], agents[3:9])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entries = store.read_erasures(T, limit=100)
    assert [e.seq for e in entries] == list(range(1, 13))
    assert sorted(e.agent for e in entries) == agents

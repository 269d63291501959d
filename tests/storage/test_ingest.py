"""The ingest rules shared by every backend (`lrs.service.ingest.store_statements`), run on every
backend through the `store` fixture: Data 2.3 and Communication 2.1.1-2.1.2."""

from __future__ import annotations

import copy
import re
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from lrs.service.ingest import StoredClock, store_statements
from statements import StatementError, validate_statements
from storage import ConflictError, StatementFilter

T = "tenant-a"
AUTHORITY = {"objectType": "Agent", "mbox": "mailto:client@example.com", "name": "Client"}
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
STORED = re.compile(r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z")


def statement(n: int = 0, **extra: object) -> dict:
    raw = {
        "actor": {"objectType": "Agent", "mbox": f"mailto:learner{n}@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "done"}},
        "object": {"id": f"http://example.com/activities/{n}"},
        **extra,
    }
    return validate_statements(raw)[0]


def voiding(target: str) -> dict:
    return statement(
        99, verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": target}
    )


def ingest(store_, statements: list[dict], **kwargs: object) -> list[str]:
    kwargs.setdefault("authority", AUTHORITY)
    kwargs.setdefault("writer", "client-1")
    return store_statements(store_, T, statements, **kwargs)  # type: ignore[arg-type]


def loaded(store_, statement_id: str) -> dict:
    found = store_.get_statements(T, [statement_id])
    assert statement_id in found, "statement was not stored"
    return orjson.loads(found[statement_id].statement)


def all_ids(store_) -> set[str]:
    return {s.id for s in store_.query_statements(T, StatementFilter(), 1000)}


# -- stamping (Data 2.4.1, 2.4.7-2.4.10) -------------------------------------------------------


def test_assigns_uuid4_ids_and_returns_ids_in_request_order(store):
    given = str(uuid.uuid4())
    ids = ingest(store, [statement(1), statement(2, id=given), statement(3)])
    assert ids[1] == given
    assert len(set(ids)) == 3
    for statement_id in (ids[0], ids[2]):
        assert uuid.UUID(statement_id).version == 4
        assert loaded(store, statement_id)["id"] == statement_id
    assert all_ids(store) == set(ids)


def test_stamps_stored_authority_version_and_timestamp(store):
    """Data 2.4.8 stored, 2.4.9 authority (the LRS overwrites it), 2.4.10 version,
    2.4.7 timestamp (set to stored when missing)."""
    before = datetime.now(UTC)
    forged = {"objectType": "Agent", "mbox": "mailto:someone-else@example.com"}
    [statement_id] = ingest(store, [statement(authority=forged)])
    got = loaded(store, statement_id)
    assert STORED.match(got["stored"])
    assert got["stored"] >= before.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert got["authority"] == AUTHORITY
    assert got["version"] == "1.0.0"
    assert got["timestamp"] == got["stored"]
    assert store.get_statements(T, [statement_id])[statement_id].stored == got["stored"]


def test_keeps_timestamp_and_version_when_given(store):
    [statement_id] = ingest(
        store, [statement(timestamp="2024-01-02T03:04:05.678+02:00", version="1.0.3")]
    )
    got = loaded(store, statement_id)
    assert got["timestamp"] == "2024-01-02T03:04:05.678+02:00"
    assert got["version"] == "1.0.3"


def test_stored_strictly_increases_within_and_across_batches(store):
    now = datetime.now(UTC)
    first = ingest(store, [statement(n) for n in range(5)], now=now)
    second = ingest(store, [statement(n) for n in range(5)], now=now)
    stored = [loaded(store, i)["stored"] for i in first + second]
    assert stored == sorted(stored)
    assert len(set(stored)) == len(stored)
    assert stored[0] >= now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    page = store.query_statements(T, StatementFilter(ascending=True), 100)
    assert [s.id for s in page] == first + second


def test_stored_clock_starts_at_now_and_never_goes_back():
    clock = StoredClock()
    now = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert clock.take(3, now) == now
    assert clock.take(1, now) == now + timedelta(microseconds=3)
    assert clock.take(1, now - timedelta(hours=1)) == now + timedelta(microseconds=4)
    later = now + timedelta(seconds=1)
    assert clock.take(2, later) == later


def test_input_is_not_modified(store):
    batch = [statement(1), statement(2, id=str(uuid.uuid4()))]
    before = copy.deepcopy(batch)
    ingest(store, batch)
    assert batch == before


# -- repeated ids and re-sends (Communication 2.1.1-2.1.2, Data 2.3.1) -------------------------


def test_repeated_id_in_batch_is_400_and_stores_nothing(store):
    shared = str(uuid.uuid4())
    batch = [statement(1), statement(2, id=shared), statement(3), statement(4, id=shared)]
    with pytest.raises(StatementError) as info:
        ingest(store, batch)
    assert list(info.value.errors) == ["[3].id"]
    assert all_ids(store) == set()


def test_repeated_id_differing_only_in_case_is_repeated(store):
    shared = str(uuid.uuid4())
    with pytest.raises(StatementError) as info:
        ingest(store, [statement(1, id=shared), statement(2, id=shared.upper())])
    assert list(info.value.errors) == ["[1].id"]


def test_resending_an_equal_statement_is_a_noop(store):
    sent = statement(1, id=str(uuid.uuid4()))
    [statement_id] = ingest(store, [sent])
    first = store.get_statements(T, [statement_id])[statement_id]
    other = statement(2)
    ids = ingest(store, [sent, other], writer="client-2")
    assert ids[0] == statement_id
    again = store.get_statements(T, [statement_id])[statement_id]
    assert again == first  # same bytes, same stored, same writer: nothing modified
    assert all_ids(store) == {statement_id, ids[1]}


def test_resend_without_lrs_assigned_properties_and_other_case_is_equal(store):
    """Data 2.3.1: differences the LRS could have caused (timestamp it assigned, id case,
    a different authority) do not make a re-send different."""
    statement_id = str(uuid.uuid4())
    [stored_id] = ingest(store, [statement(1, id=statement_id)])
    resent = statement(1, id=statement_id.upper())
    assert ingest(store, [resent], authority={"mbox": "mailto:other@example.com"}) == [stored_id]
    assert len(all_ids(store)) == 1


def test_resending_a_different_statement_is_a_conflict_and_stores_nothing(store):
    statement_id = str(uuid.uuid4())
    ingest(store, [statement(1, id=statement_id)])
    fresh = statement(3)
    changed = statement(1, id=statement_id, result={"success": False})
    with pytest.raises(ConflictError):
        ingest(store, [fresh, changed])
    assert all_ids(store) == {statement_id}
    assert "result" not in loaded(store, statement_id)


# -- voiding (Data 2.3.2) ---------------------------------------------------------------------


def test_voiding_statement_voids_its_target(store):
    [target] = ingest(store, [statement(1)])
    [voider] = ingest(store, [voiding(target)])
    assert store.get_statements(T, [target])[target].voided is True
    assert all_ids(store) == {voider}


def test_voiding_a_voiding_statement_is_400(store):
    [target] = ingest(store, [statement(1)])
    [voider] = ingest(store, [voiding(target)])
    with pytest.raises(StatementError) as info:
        ingest(store, [statement(2), voiding(voider)])
    assert list(info.value.errors) == ["[1].object.id"]
    assert store.get_statements(T, [voider])[voider].voided is False
    assert all_ids(store) == {voider}


def test_voiding_a_voiding_statement_of_the_same_batch_is_400(store):
    [target] = ingest(store, [statement(1)])
    first_id = str(uuid.uuid4())
    first = {**voiding(target), "id": first_id}
    with pytest.raises(StatementError) as info:
        ingest(store, [first, voiding(first_id.upper())])
    assert list(info.value.errors) == ["[1].object.id"]
    assert all_ids(store) == {target}
    assert store.get_statements(T, [target])[target].voided is False


def test_voiding_an_unknown_statement_is_accepted(store):
    """Data 2.3.2: the LRS SHOULD NOT reject a voiding statement whose target is absent."""
    target = str(uuid.uuid4())
    [voider] = ingest(store, [voiding(target)])
    assert all_ids(store) == {voider}
    [late] = ingest(store, [statement(1, id=target)])
    assert store.get_statements(T, [late])[late].voided is True


# -- insert races -------------------------------------------------------------------------------


class LaggingView:
    """A real store whose first lookup misses `hidden`: another writer stores them between
    our conflict check and our insert."""

    def __init__(self, inner: object, hidden: set[str]) -> None:
        self.inner = inner
        self.hidden = hidden
        self.lookups = 0

    def get_statements(self, tenant, ids):
        self.lookups += 1
        found = self.inner.get_statements(tenant, ids)
        if self.lookups == 1:
            return {k: v for k, v in found.items() if k not in self.hidden}
        return found

    @property
    def defers_shared_writes(self):
        return self.inner.defers_shared_writes

    @property
    def needs_settling(self):
        return self.inner.needs_settling

    def atomically(self, work):
        return self.inner.atomically(work)

    def query_statements(self, tenant, query, limit):
        return self.inner.query_statements(tenant, query, limit)


def test_race_with_an_equal_statement_ends_in_success(store):
    sent = statement(1, id=str(uuid.uuid4()))
    [raced] = ingest(store, [sent])
    fresh = statement(2)
    view = LaggingView(store, {raced})
    ids = ingest(view, [sent, fresh])
    assert ids[0] == raced
    assert view.lookups == 2
    assert all_ids(store) == set(ids)


def test_race_with_a_different_statement_ends_in_conflict(store):
    statement_id = str(uuid.uuid4())
    ingest(store, [statement(1, id=statement_id)])
    fresh = statement(2)
    view = LaggingView(store, {statement_id})
    with pytest.raises(ConflictError):
        ingest(view, [fresh, statement(1, id=statement_id, result={"completion": True})])
    assert all_ids(store) == {statement_id}

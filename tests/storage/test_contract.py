"""The statement and credential storage contract, run on every backend through the `store`
fixture: the Protocol and the rules written once above it (`storage.commands`). Records are
built by hand, so these tests pin what storage must do, independently of the service's
ingest rules above it."""

from __future__ import annotations

import uuid

import orjson
import pytest

from storage import Credential, StatementFilter, StatementRecord, Storage
from storage.commands import insert_statements
from storage.errors import DuplicateIdError

T = "tenant-a"
OTHER = "tenant-b"
ALICE = "mbox:mailto:alice@example.com"
BOB = "mbox:mailto:bob@example.com"
CAROL = "account:https://lms.example.com|carol"
TEAM = "openid:https://example.com/team"
AUTH = "mbox:mailto:lrs-client@example.com"
COURSE = "http://example.com/course/1"
MODULE = "http://example.com/course/1/module/2"
OTHER_ACT = "http://example.com/other"
ATTEMPTED = "http://adlnet.gov/expapi/verbs/attempted"
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
CONFIRMED = "http://example.com/verbs/confirmed"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
REG = "ab2fea8e-cb2c-4a1b-a0c7-2c7fc5b0e16d"
REG2 = "e3c9e5b1-2b2f-47f5-bd3d-0c4e3a5b6d7f"


def ts(n: int) -> str:
    """The n-th instant of a test, in the fixed-width stored format."""
    return f"2024-05-01T10:{n // 60:02d}:{n % 60:02d}.000000Z"


def rec(
    n: int,
    *,
    id: str | None = None,
    verb: str = ATTEMPTED,
    agents: tuple[str, ...] = (ALICE,),
    related_agents: tuple[str, ...] = (),
    activities: tuple[str, ...] = (COURSE,),
    related_activities: tuple[str, ...] = (),
    registration: str | None = None,
    ref: str | None = None,
    voids: str | None = None,
    writer: str = "client-1",
) -> StatementRecord:
    """A record stored at ts(n); its JSON holds non-ASCII text to check bytes round-trip."""
    statement_id = id or str(uuid.uuid4())
    body = {"id": statement_id, "verb": {"id": verb}, "stored": ts(n), "note": f"n={n} é 😀"}
    return StatementRecord(
        id=statement_id,
        statement=orjson.dumps(body),
        stored=ts(n),
        verb=verb,
        writer=writer,
        registration=registration,
        ref=ref,
        voids=voids,
        agents=frozenset(agents),
        related_agents=frozenset(agents + related_agents + (AUTH,)),
        activities=frozenset(activities),
        related_activities=frozenset(activities + related_activities),
    )


def ids(results: list) -> list[str]:
    return [r.id for r in results]


def query(store: Storage, limit: int = 100, tenant: str = T, **filters: object) -> list[str]:
    return ids(store.query_statements(tenant, StatementFilter(**filters), limit))


def test_backend_implements_protocol(store):
    assert isinstance(store, Storage)


# -- insert / get ---------------------------------------------------------------------------


def test_round_trip_is_byte_for_byte(store):
    record = rec(1, voids=None)
    insert_statements(store, T, [record])
    got = store.get_statements(T, [record.id])
    assert list(got) == [record.id]
    stored = got[record.id]
    assert stored.statement == record.statement
    assert isinstance(stored.statement, bytes)
    assert (stored.stored, stored.voided, stored.voids, stored.writer) == (
        ts(1), False, None, "client-1",
    )


def test_get_statements_returns_only_stored_ids(store):
    a, b = rec(1), rec(2)
    insert_statements(store, T, [a, b])
    assert set(store.get_statements(T, [a.id, str(uuid.uuid4()), b.id])) == {a.id, b.id}
    assert store.get_statements(T, []) == {}


def test_insert_empty_batch_is_noop(store):
    insert_statements(store, T, [])
    assert query(store) == []


def test_duplicate_id_raises_and_batch_is_all_or_nothing(store):
    first = rec(1)
    insert_statements(store, T, [first])
    before, again, after = rec(2), rec(3, id=first.id), rec(4)
    with pytest.raises(DuplicateIdError) as info:
        insert_statements(store, T, [before, again, after])
    assert info.value.ids == [first.id]
    assert set(store.get_statements(T, [before.id, after.id])) == set()
    # The stored statement is untouched (Communication 2.1.1: no modification on re-send).
    assert store.get_statements(T, [first.id])[first.id].statement == first.statement
    assert query(store) == [first.id]


def test_tenants_are_isolated(store):
    shared = str(uuid.uuid4())
    mine, theirs = rec(1, id=shared), rec(2, id=shared, verb=COMPLETED)
    insert_statements(store, T, [mine])
    insert_statements(store, OTHER, [theirs])
    assert store.get_statements(T, [shared])[shared].statement == mine.statement
    assert store.get_statements(OTHER, [shared])[shared].statement == theirs.statement
    assert query(store, verb=COMPLETED) == []
    assert query(store, tenant=OTHER, verb=ATTEMPTED) == []
    assert query(store, tenant="nobody") == []
    assert query(store, tenant=OTHER, agent=ALICE) == [shared]


# -- filters (Communication 2.1.3) -----------------------------------------------------------


@pytest.fixture
def corpus(store):
    """Statements covering every filter; names say what distinguishes them."""
    records = {
        "alice_course": rec(1),
        "bob_module": rec(2, agents=(BOB,), activities=(MODULE,), verb=COMPLETED),
        "alice_reg": rec(3, registration=REG, related_activities=(MODULE,)),
        "bob_reg2": rec(4, agents=(BOB,), registration=REG2, verb=COMPLETED),
        "carol_taught_by_alice": rec(
            5, agents=(CAROL,), related_agents=(ALICE, TEAM), activities=(OTHER_ACT,),
            related_activities=(COURSE,),
        ),
        "object_agent_bob": rec(6, agents=(ALICE, BOB), activities=()),
        "other_writer": rec(7, agents=(CAROL,), writer="client-2"),
    }
    insert_statements(store, T, list(records.values()))
    return {name: r.id for name, r in records.items()}


def names(corpus: dict[str, str], found: list[str]) -> list[str]:
    by_id = {v: k for k, v in corpus.items()}
    return [by_id[i] for i in found]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["other_writer", "object_agent_bob", "carol_taught_by_alice", "bob_reg2",
              "alice_reg", "bob_module", "alice_course"]),
        ({"agent": ALICE}, ["object_agent_bob", "alice_reg", "alice_course"]),
        ({"agent": BOB}, ["object_agent_bob", "bob_reg2", "bob_module"]),
        ({"agent": TEAM}, []),
        ({"agent": ALICE, "related_agents": True},
         ["object_agent_bob", "carol_taught_by_alice", "alice_reg", "alice_course"]),
        ({"agent": TEAM, "related_agents": True}, ["carol_taught_by_alice"]),
        ({"agent": AUTH, "related_agents": True},
         ["other_writer", "object_agent_bob", "carol_taught_by_alice", "bob_reg2",
          "alice_reg", "bob_module", "alice_course"]),
        ({"verb": COMPLETED}, ["bob_reg2", "bob_module"]),
        ({"activity": COURSE}, ["other_writer", "bob_reg2", "alice_reg", "alice_course"]),
        ({"activity": MODULE}, ["bob_module"]),
        ({"activity": MODULE, "related_activities": True}, ["alice_reg", "bob_module"]),
        ({"activity": COURSE, "related_activities": True},
         ["other_writer", "carol_taught_by_alice", "bob_reg2", "alice_reg", "alice_course"]),
        ({"registration": REG}, ["alice_reg"]),
        ({"registration": REG2}, ["bob_reg2"]),
        ({"agent": BOB, "verb": COMPLETED}, ["bob_reg2", "bob_module"]),
        ({"agent": BOB, "verb": COMPLETED, "activity": COURSE}, ["bob_reg2"]),
        ({"agent": ALICE, "verb": COMPLETED}, []),
        ({"agent": ALICE, "registration": REG}, ["alice_reg"]),
        ({"agent": ALICE, "registration": REG2}, []),
        ({"writer": "client-2"}, ["other_writer"]),
        ({"writer": "client-2", "agent": CAROL}, ["other_writer"]),
        ({"writer": "client-1", "agent": CAROL}, ["carol_taught_by_alice"]),
        ({"writer": "client-2", "agent": BOB}, []),
        ({"verb": "http://example.com/unknown"}, []),
    ],
)
def test_filters(store, corpus, filters, expected):
    assert names(corpus, query(store, **filters)) == expected


def test_ascending_reverses_order(store, corpus):
    descending = query(store, agent=ALICE, related_agents=True)
    assert query(store, agent=ALICE, related_agents=True, ascending=True) == descending[::-1]
    assert query(store, ascending=True) == query(store)[::-1]


def test_limit(store, corpus):
    assert names(corpus, query(store, limit=2)) == ["other_writer", "object_agent_bob"]
    assert names(corpus, query(store, limit=1, agent=BOB, ascending=True)) == ["bob_module"]
    assert query(store, limit=0) == []


@pytest.mark.parametrize("filters", [{}, {"agent": ALICE}, {"writer": "client-1"}])
def test_since_is_exclusive_and_until_inclusive(store, filters):
    """Communication 2.1.3: `since` exclusive, `until` "at or before"."""
    records = [rec(n) for n in range(1, 6)]
    insert_statements(store, T, records)
    found = query(store, since=ts(2), until=ts(4), ascending=True, **filters)
    assert found == [records[2].id, records[3].id]
    assert query(store, since=ts(5), **filters) == []
    assert query(store, until=ts(1), **filters) == [records[0].id]


@pytest.mark.parametrize("ascending", [False, True])
@pytest.mark.parametrize("filters", [{}, {"agent": ALICE}, {"verb": ATTEMPTED, "agent": ALICE}])
def test_keyset_paging_with_inserts_between_pages(store, ascending, filters):
    """Paging by the (stored, id) cursor: statements stored while a client pages never make
    it see a statement twice or miss one that was there when it started."""
    initial = [rec(n) for n in range(10, 20)]
    insert_statements(store, T, initial)
    seen: list[str] = []
    after = None
    page_number = 0
    while True:
        page = store.query_statements(
            T, StatementFilter(ascending=ascending, after=after, **filters), 3
        )
        if not page:
            break
        seen += ids(page)
        after = (page[-1].stored, page[-1].id)
        page_number += 1
        if page_number <= 3:
            # New statements arrive between pages: newer than all, and one on a tie.
            insert_statements(store, T, [rec(100 + page_number), rec(19)])
    assert len(seen) == len(set(seen))
    expected = [r.id for r in initial]
    if not ascending:
        expected.reverse()
    assert [i for i in seen if i in set(expected)] == expected


def test_paging_orders_ties_on_stored_by_id(store):
    same = [rec(5) for _ in range(4)]
    insert_statements(store, T, same)
    by_id = sorted(r.id for r in same)
    assert query(store, ascending=True) == by_id
    first = store.query_statements(T, StatementFilter(ascending=True), 2)
    rest = store.query_statements(
        T, StatementFilter(ascending=True, after=(first[-1].stored, first[-1].id)), 10
    )
    assert ids(first) + ids(rest) == by_id


# -- voiding (Data 2.3.2, Communication 2.1.4) -----------------------------------------------


def test_voided_statement_is_never_returned_but_still_readable(store):
    target = rec(1)
    voiding = rec(2, verb=VOIDED, ref=target.id, voids=target.id, agents=(BOB,), activities=())
    insert_statements(store, T, [target])
    insert_statements(store, T, [voiding])
    got = store.get_statements(T, [target.id, voiding.id])
    assert got[target.id].voided is True
    assert got[voiding.id].voided is False
    assert got[voiding.id].voids == target.id
    assert query(store) == [voiding.id]
    assert query(store, agent=BOB) == [voiding.id]
    # The voiding statement targets the voided one, so it matches the target's filters
    # (Communication 2.1.4, second requirement).
    assert query(store, agent=ALICE) == [voiding.id]
    assert query(store, activity=COURSE) == [voiding.id]


def test_voiding_in_same_batch(store):
    target = rec(1)
    voiding = rec(2, verb=VOIDED, ref=target.id, voids=target.id, activities=())
    insert_statements(store, T, [voiding, target])
    assert store.get_statements(T, [target.id])[target.id].voided is True
    assert query(store) == [voiding.id]


def test_target_arriving_after_its_voiding_statement_is_stored_voided(store):
    target_id = str(uuid.uuid4())
    voiding = rec(1, verb=VOIDED, ref=target_id, voids=target_id, activities=())
    insert_statements(store, T, [voiding])
    insert_statements(store, T, [rec(2, id=target_id)])
    assert store.get_statements(T, [target_id])[target_id].voided is True
    assert query(store) == [voiding.id]


def test_voiding_statement_is_never_voided(store):
    """Data 2.3.2: voided iff not itself a voiding statement."""
    first = rec(1)
    voiding = rec(2, verb=VOIDED, ref=first.id, voids=first.id, activities=())
    second = rec(3, verb=VOIDED, ref=voiding.id, voids=voiding.id, activities=())
    insert_statements(store, T, [first, voiding])
    insert_statements(store, T, [second])
    assert store.get_statements(T, [voiding.id])[voiding.id].voided is False


def test_voiding_is_scoped_to_the_tenant(store):
    target = rec(1)
    insert_statements(store, T, [target])
    insert_statements(store, OTHER, [rec(1, id=target.id)])
    insert_statements(store,
        OTHER, [rec(2, verb=VOIDED, ref=target.id, voids=target.id, activities=())]
    )
    assert store.get_statements(T, [target.id])[target.id].voided is False
    assert store.get_statements(OTHER, [target.id])[target.id].voided is True


# -- StatementRef filter rule (Communication 2.1.3, Filter Conditions for StatementRefs) -----


def confirm(n: int, target: str, **kwargs: object) -> StatementRecord:
    """'Andrew confirmed <StatementRef>': a statement naming nobody of the target."""
    kwargs.setdefault("agents", (CAROL,))
    kwargs.setdefault("activities", ())
    return rec(n, verb=CONFIRMED, ref=target, **kwargs)


def test_statement_ref_matches_through_its_target(store):
    passed = rec(1, agents=(BOB,), activities=(COURSE,), verb=COMPLETED)
    confirmed = confirm(2, passed.id)
    insert_statements(store, T, [passed, confirmed])
    both = [confirmed.id, passed.id]
    assert query(store, agent=BOB) == both
    assert query(store, activity=COURSE) == both
    assert query(store, verb=COMPLETED) == both
    assert query(store, agent=BOB, verb=COMPLETED, activity=COURSE) == both
    assert query(store, verb=CONFIRMED) == [confirmed.id]
    assert query(store, agent=CAROL) == [confirmed.id]


def test_statement_ref_needs_all_filters_on_one_statement(store):
    """A match is the statement itself or one chain member meeting every filter, not
    filters spread over the chain."""
    passed = rec(1, agents=(BOB,), verb=COMPLETED)
    confirmed = confirm(2, passed.id)
    insert_statements(store, T, [passed, confirmed])
    assert query(store, agent=BOB, verb=CONFIRMED) == []
    assert query(store, agent=CAROL, verb=COMPLETED) == []
    assert query(store, agent=CAROL, verb=CONFIRMED) == [confirmed.id]


def test_statement_ref_time_filters_apply_to_the_referring_statement(store):
    passed = rec(1, agents=(BOB,))
    confirmed = confirm(5, passed.id)
    insert_statements(store, T, [passed, confirmed])
    assert query(store, agent=BOB, since=ts(2)) == [confirmed.id]
    assert query(store, agent=BOB, until=ts(4)) == [passed.id]
    assert query(store, agent=BOB, since=ts(5)) == []


def test_statement_ref_writer_applies_to_the_referring_statement(store):
    passed = rec(1, agents=(BOB,), writer="client-1")
    confirmed = confirm(2, passed.id, writer="client-2")
    insert_statements(store, T, [passed, confirmed])
    assert query(store, agent=BOB, writer="client-2") == [confirmed.id]


def test_statement_ref_rule_is_recursive(store):
    c = rec(1, agents=(BOB,), activities=(MODULE,))
    b = confirm(2, c.id)
    a = confirm(3, b.id, agents=(TEAM,))
    insert_statements(store, T, [c, b, a])
    assert query(store, agent=BOB) == [a.id, b.id, c.id]
    assert query(store, activity=MODULE) == [a.id, b.id, c.id]
    assert query(store, agent=CAROL) == [a.id, b.id]
    assert query(store, agent=TEAM) == [a.id]
    assert query(store, agent=BOB, ascending=True, limit=2) == [c.id, b.id]


@pytest.mark.parametrize(
    "order", [("c", "b", "a"), ("a", "b", "c"), ("b", "a", "c"), ("a", "c", "b"), ("c", "a", "b")]
)
@pytest.mark.parametrize("batched", [False, True])
def test_statement_ref_targets_arriving_late(store, order, batched):
    """Chains a -> b -> c stored in any order, one batch or one statement at a time, end in
    the same matches: a target arriving later hands its match to everything referring to it."""
    c_id, b_id = str(uuid.uuid4()), str(uuid.uuid4())
    made = {
        "c": rec(1, id=c_id, agents=(BOB,), activities=(MODULE,)),
        "b": confirm(2, c_id, id=b_id),
        "a": confirm(3, b_id, agents=(TEAM,)),
    }
    if batched:
        insert_statements(store, T, [made[name] for name in order])
    else:
        for name in order:
            insert_statements(store, T, [made[name]])
    a_id = made["a"].id
    assert query(store, agent=BOB) == [a_id, b_id, c_id]
    assert query(store, activity=MODULE, ascending=True) == [c_id, b_id, a_id]
    assert query(store, agent=CAROL) == [a_id, b_id]
    assert query(store, agent=TEAM) == [a_id]


def test_statement_ref_to_unknown_target_matches_only_itself(store):
    dangling = confirm(1, str(uuid.uuid4()))
    insert_statements(store, T, [dangling])
    assert query(store, agent=CAROL) == [dangling.id]
    assert query(store, agent=BOB) == []


def test_statement_ref_cycle_terminates(store):
    a_id, b_id = str(uuid.uuid4()), str(uuid.uuid4())
    a = confirm(1, b_id, id=a_id, agents=(ALICE,))
    b = confirm(2, a_id, id=b_id, agents=(BOB,))
    insert_statements(store, T, [a])
    insert_statements(store, T, [b])
    assert query(store, agent=ALICE) == [b_id, a_id]
    assert query(store, agent=BOB) == [b_id, a_id]


def test_statement_ref_to_voided_target_still_matches(store):
    """Communication 2.1.4: statements targeting a voided statement are still returned."""
    passed = rec(1, agents=(BOB,))
    confirmed = confirm(2, passed.id)
    voiding = rec(3, verb=VOIDED, ref=passed.id, voids=passed.id, agents=(ALICE,), activities=())
    insert_statements(store, T, [passed, confirmed, voiding])
    assert query(store, agent=BOB) == [voiding.id, confirmed.id]


def test_statement_ref_paging_returns_each_statement_once(store):
    passed = rec(1, agents=(BOB,))
    confirmed = confirm(2, passed.id, agents=(BOB,))
    again = confirm(3, confirmed.id, agents=(BOB,))
    insert_statements(store, T, [passed, confirmed, again])
    seen: list[str] = []
    after = None
    while page := store.query_statements(T, StatementFilter(agent=BOB, after=after), 1):
        seen += ids(page)
        after = (page[-1].stored, page[-1].id)
    assert seen == [again.id, confirmed.id, passed.id]


def test_related_filter_returns_a_statement_once_when_it_matches_twice(store):
    """ALICE is the actor of the referring statement and the instructor of its target."""
    taught = rec(1, agents=(BOB,), related_agents=(ALICE,))
    confirmed = confirm(2, taught.id, agents=(ALICE,))
    insert_statements(store, T, [taught, confirmed])
    assert query(store, agent=ALICE, related_agents=True) == [confirmed.id, taught.id]
    assert query(store, agent=ALICE) == [confirmed.id]
    page = store.query_statements(T, StatementFilter(agent=ALICE, related_agents=True), 1)
    assert ids(page) == [confirmed.id]


def test_statement_ref_is_scoped_to_the_tenant(store):
    passed = rec(1, agents=(BOB,))
    insert_statements(store, OTHER, [passed])
    confirmed = confirm(2, passed.id)
    insert_statements(store, T, [confirmed])
    assert query(store, agent=BOB) == []
    assert query(store, tenant=OTHER, agent=BOB) == [passed.id]


# -- credentials ------------------------------------------------------------------------------


def cred(key: str, tenant: str = T, created: str = "2024-05-01T10:00:00.000000Z",
         **kwargs: object) -> Credential:
    values = {
        "key": key, "secret_hash": f"scrypt$hash-of-{key}", "name": f"client {key}",
        "scopes": ("statements/write", "statements/read/mine"),
        "authority": '{"objectType":"Agent","mbox":"mailto:lrs-client@example.com"}',
        "tenant": tenant, "created": created,
    }
    values.update(kwargs)
    return Credential(**values)  # type: ignore[arg-type]


def test_credentials_create_read_replace_list(store):
    assert store.get_credential("k1") is None
    first = cred("k1", created="2024-05-01T10:00:02.000000Z")
    second = cred("k2", created="2024-05-01T10:00:01.000000Z")
    elsewhere = cred("k3", tenant=OTHER, created="2024-05-01T10:00:03.000000Z")
    for c in (first, second, elsewhere):
        store.put_credential(c)
    assert store.get_credential("k1") == first
    assert store.list_credentials(T) == [second, first]
    assert store.list_credentials() == [second, first, elsewhere]
    assert store.list_credentials("nobody") == []
    revoked = cred("k1", created=first.created, revoked=True, scopes=("all",), name="renamed")
    store.put_credential(revoked)
    assert store.get_credential("k1") == revoked
    assert store.list_credentials(T) == [second, revoked]


def test_credential_scopes_keep_their_order(store):
    c = cred("k1", scopes=("statements/read", "all/read", "define"))
    store.put_credential(c)
    got = store.get_credential("k1")
    assert got is not None
    assert got.scopes == ("statements/read", "all/read", "define")

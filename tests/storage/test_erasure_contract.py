"""Deleting statements, on every backend through the `store` fixture: the primitives erasure
and retention are made of (`Transaction.delete_statements` and its neighbours), and the
commands above them (`storage.commands.erase_agent`, `delete_before`), including an
erasure interrupted part way: undone whole where the backend has transactions, finished by
a re-run where it has not."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import orjson
import pytest

from storage import (
    AGENT_PROFILE,
    STATE,
    DocumentScope,
    Identity,
    StatementFilter,
    StatementRecord,
    Storage,
    build_record,
)
from storage.commands import (
    delete_before,
    erase_agent,
    insert_statements,
    put_attachments,
    put_document,
)

T = "tenant-a"
OTHER = "tenant-b"
ALICE = {"mbox": "mailto:alice@example.com"}
BOB = {"mbox": "mailto:bob@example.com"}
CAROL = {"openid": "https://id.example.com/carol"}
ALICE_KEY, BOB_KEY, CAROL_KEY = (
    "mbox:mailto:alice@example.com", "mbox:mailto:bob@example.com",
    "openid:https://id.example.com/carol",
)
AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://lrs.test", "name": "k"}}
COURSE = "http://example.com/course"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
NOW = "2030-01-01T00:00:00.000000Z"
ESSAY, PHOTO, SHARED = b"alice's essay", b"bob's photo", b"the class poster"


def ts(n: int) -> str:
    return f"2024-05-01T10:{n // 60:02d}:{n % 60:02d}.000000Z"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record(n: int, actor: dict[str, Any] = ALICE, **fields: Any) -> StatementRecord:
    """A statement stored at ts(n), as the ingest would build it."""
    statement = {
        "id": str(uuid.uuid4()), "actor": actor, "verb": {"id": "http://example.com/did"},
        "object": {"objectType": "Activity", "id": COURSE}, "stored": ts(n),
        "authority": AUTHORITY, **fields,
    }
    return build_record(statement, writer="w")


def ref(n: int, target: StatementRecord, actor: dict[str, Any] = BOB, verb: str = "") -> (
    StatementRecord
):
    return record(n, actor, verb={"id": verb or "http://example.com/liked"},
                  object={"objectType": "StatementRef", "id": target.id})


def attached(data: bytes) -> dict[str, Any]:
    return {"usageType": "http://example.com/essay", "display": {"en-US": "file"},
            "contentType": "text/plain", "length": len(data), "sha2": sha(data)}


def everything(store: Storage) -> dict[str, bytes]:
    """Every statement of T, voided or not, id -> JSON."""
    rows = store.atomically(lambda tx: tx.statements_before(T, NOW, 10_000))
    return {row.id: row.statement for row in rows}


def related(store: Storage, agent: str) -> list[str]:
    found = store.query_statements(T, StatementFilter(agent=agent, related_agents=True), 100)
    return sorted(row.id for row in found)


# -- the primitives -------------------------------------------------------------------------


def test_agent_statement_ids_find_every_position_own_or_through_a_chain(store):
    actor = record(1)
    member = record(2, BOB, context={"team": {"objectType": "Group", "member": [CAROL, ALICE]}})
    nested = record(3, BOB, object={"objectType": "SubStatement", "actor": ALICE,
                                    "verb": {"id": "http://example.com/did"},
                                    "object": {"id": COURSE}})
    context_agent = record(4, BOB, context={"contextAgents": [
        {"objectType": "contextAgent", "agent": {"objectType": "Agent", **ALICE}}]})
    unrelated = record(5, BOB)
    referring = ref(6, actor)
    voiding = ref(7, unrelated, actor=CAROL, verb=VOIDED)
    insert_statements(store, T, [actor, member, nested, context_agent, unrelated, referring,
                                 voiding])
    voids_actor = ref(8, actor, verb=VOIDED, actor=CAROL)
    insert_statements(store, T, [voids_actor])

    def found(**options: Any) -> list[str]:
        return store.atomically(lambda tx: tx.agent_statement_ids(T, [ALICE_KEY], **options))

    own = {actor.id, member.id, nested.id, context_agent.id}  # the actor's is voided now
    assert len(found()) == 6
    assert set(found()) == own | {referring.id, voids_actor.id}
    assert set(found(chains=False)) == own
    assert len(found(limit=2)) == 2
    assert set(found(since=ts(4))) == {context_agent.id, referring.id, voids_actor.id}
    assert set(found(since=ts(4), chains=False)) == {context_agent.id}
    assert store.atomically(lambda tx: tx.agent_statement_ids(OTHER, [ALICE_KEY])) == []


def test_delete_statements_takes_every_derived_row_with_them(store):
    target = record(1, context={"instructor": CAROL})
    referring = ref(2, target)
    other = record(3, BOB)
    insert_statements(store, T, [target, referring, other])
    assert related(store, ALICE_KEY) == sorted([target.id, referring.id])
    assert store.atomically(lambda tx: tx.delete_statements(T, [target.id, str(uuid.uuid4())])) == 1
    assert store.get_statements(T, [target.id]) == {}
    # The statement referring to it stays, without the copy of its query fields.
    assert set(store.get_statements(T, [referring.id, other.id])) == {referring.id, other.id}
    assert related(store, ALICE_KEY) == [] and related(store, CAROL_KEY) == []
    assert related(store, BOB_KEY) == sorted([referring.id, other.id])
    assert store.atomically(lambda tx: tx.agent_statement_ids(T, [ALICE_KEY, CAROL_KEY])) == []
    # Its chain is the referring statement's own: the target stored again is linked again.
    insert_statements(store, T, [target])
    assert related(store, ALICE_KEY) == sorted([target.id, referring.id])
    assert store.atomically(lambda tx: tx.delete_statements(T, [])) == 0


def test_delete_statements_of_a_chain_and_its_middle(store):
    first = record(1)
    middle = ref(2, first, actor=CAROL)
    last = ref(3, middle)
    insert_statements(store, T, [first, middle, last])
    store.atomically(lambda tx: tx.delete_statements(T, [middle.id]))
    assert related(store, ALICE_KEY) == [first.id]
    assert related(store, CAROL_KEY) == []
    assert related(store, BOB_KEY) == [last.id]
    store.atomically(lambda tx: tx.delete_statements(T, [first.id, last.id]))
    assert everything(store) == {}


def test_replace_statements_moves_the_query_fields_and_their_copies(store):
    group = record(1, BOB, context={"team": {"objectType": "Group", "member": [ALICE, CAROL]}},
                   attachments=[attached(ESSAY)])
    referring = ref(2, group, actor=CAROL)
    insert_statements(store, T, [group, referring])
    changed = orjson.loads(group.statement)
    changed["context"]["team"]["member"] = [CAROL]
    changed.pop("attachments")
    new = build_record(changed, writer="w", sealed=b"resealed")
    store.atomically(lambda tx: tx.replace_statements(T, [new, record(9)]))
    stored = store.get_statements(T, [group.id])[group.id]
    assert (stored.statement, stored.sealed, stored.stored) == (new.statement, b"resealed", ts(1))
    assert related(store, ALICE_KEY) == []
    assert related(store, CAROL_KEY) == sorted([group.id, referring.id])
    assert related(store, BOB_KEY) == sorted([group.id, referring.id])
    put_attachments(store, T, {sha(ESSAY): ("text/plain", ESSAY)}, "w")
    assert store.atomically(
        lambda tx: tx.unreferenced_attachments(T, [sha(ESSAY)], excluding=[])
    ) == [sha(ESSAY)]


def test_statements_before_are_oldest_first_and_paged(store):
    records = [record(n) for n in (5, 1, 3, 2, 4)]
    insert_statements(store, T, records)
    insert_statements(store, OTHER, [record(0)])
    insert_statements(store, T, [ref(6, records[1], verb=VOIDED)])  # voids ts(1)
    rows = store.atomically(lambda tx: tx.statements_before(T, ts(4), 2))
    assert [row.stored for row in rows] == [ts(1), ts(2)]
    assert rows[0].voided
    more = store.atomically(
        lambda tx: tx.statements_before(T, ts(4), 10, after=(rows[-1].stored, rows[-1].id))
    )
    assert [row.stored for row in more] == [ts(3)]
    assert store.atomically(lambda tx: tx.statements_before(T, ts(1), 10)) == []


def test_marks_of_erased_learners_per_tenant(store):
    assert store.erased_among(T, ["m1", "m2"]) == set()
    store.atomically(lambda tx: tx.mark_erased(T, ["m1", "m3"]))
    store.atomically(lambda tx: tx.mark_erased(T, ["m1"]))  # again: nothing new
    store.atomically(lambda tx: tx.mark_erased(T, []))
    assert store.erased_among(T, ["m1", "m2", "m3"]) == {"m1", "m3"}
    assert store.erased_among(OTHER, ["m1", "m3"]) == set()
    assert store.erased_among(T, []) == set()


def test_unreferenced_attachments_and_their_removal(store):
    alice = record(1, attachments=[attached(ESSAY), attached(SHARED)])
    bob = record(2, BOB, attachments=[attached(PHOTO), attached(SHARED)])
    insert_statements(store, T, [alice, bob])
    items = {sha(d): ("text/plain", d) for d in (ESSAY, PHOTO, SHARED)}
    put_attachments(store, T, items, "w")
    put_attachments(store, OTHER, items, "w")
    hashes = [sha(ESSAY), sha(SHARED), sha(b"never stored")]
    assert store.atomically(lambda tx: tx.unreferenced_attachments(T, hashes, excluding=[])) == []
    assert store.atomically(
        lambda tx: tx.unreferenced_attachments(T, hashes, excluding=[alice.id])
    ) == [sha(ESSAY)]
    assert store.atomically(
        lambda tx: tx.unreferenced_attachments(T, hashes, excluding=[alice.id, bob.id])
    ) == sorted([sha(ESSAY), sha(SHARED)])
    assert store.atomically(lambda tx: tx.remove_attachments(T, [sha(ESSAY), sha(ESSAY)])) == 1
    assert set(store.get_attachments(T, list(items))) == {sha(PHOTO), sha(SHARED)}
    assert set(store.get_attachments(OTHER, list(items))) == set(items)
    # Who sent removed data goes with it: stored again by another, it is only theirs.
    put_attachments(store, T, {sha(ESSAY): items[sha(ESSAY)]}, "x")
    assert store.get_attachments(T, [sha(ESSAY)], writer="w") == {}
    assert set(store.get_attachments(T, [sha(ESSAY)], writer="x")) == {sha(ESSAY)}


def test_agent_documents_by_agent_and_by_age(store):
    for resource, agent, activity, updated in (
        (STATE, ALICE_KEY, COURSE, ts(1)),
        (STATE, ALICE_KEY, COURSE + "/2", ts(5)),
        (AGENT_PROFILE, ALICE_KEY, "", ts(2)),
        (STATE, BOB_KEY, COURSE, ts(3)),
    ):
        put_document(store, T, DocumentScope(resource, activity, agent, "reg" if updated == ts(5)
                                              else None), "doc", b"{}", "application/json",
                     updated=updated)
    put_document(store, T, DocumentScope("activity_profile", COURSE), "p", b"x", "text/plain",
                 updated=ts(0))
    mine = store.atomically(lambda tx: tx.agent_documents(T, agents=[ALICE_KEY]))
    assert [(d.scope.resource, d.scope.activity, d.scope.registration) for d in mine] == [
        (AGENT_PROFILE, "", None), (STATE, COURSE, None), (STATE, COURSE + "/2", "reg"),
    ]
    old = store.atomically(lambda tx: tx.agent_documents(T, updated_before=ts(3)))
    assert sorted(d.updated for d in old) == [ts(1), ts(2)]
    assert store.atomically(lambda tx: tx.agent_documents(OTHER, agents=[ALICE_KEY])) == []
    for document in mine:
        store.atomically(
            lambda tx, d=document: tx.remove_document(T, d.scope, d.id, etag=d.etag)
        )
    assert store.atomically(lambda tx: tx.agent_documents(T, agents=[ALICE_KEY])) == []


def test_remove_identities(store):
    store.atomically(lambda tx: tx.put_identities(T, [
        Identity(ALICE_KEY, "d1", b"s1"), Identity(ALICE_KEY, "d2", b"s2"),
        Identity(BOB_KEY, "d1", b"s3"),
    ]))
    store.atomically(lambda tx: tx.put_identities(OTHER, [Identity(ALICE_KEY, "d1", b"s1")]))
    assert store.atomically(lambda tx: len(tx.get_identities(T, ALICE_KEY))) == 2
    assert store.atomically(lambda tx: tx.remove_identities(T, [ALICE_KEY, CAROL_KEY])) == 2
    assert store.get_identities(T, ALICE_KEY) == []
    assert len(store.get_identities(T, BOB_KEY)) == 1
    assert len(store.get_identities(OTHER, ALICE_KEY)) == 1


# -- erase_agent ----------------------------------------------------------------------------


def _alice_and_bob(store: Storage) -> dict[str, StatementRecord]:
    made = {
        "own": record(1, attachments=[attached(ESSAY), attached(SHARED)]),
        "object": record(2, BOB, object={"objectType": "Agent", **ALICE}),
        "team": record(3, BOB, context={"team": {"objectType": "Group", "member": [ALICE, BOB]}}),
        "bob": record(4, BOB, attachments=[attached(PHOTO), attached(SHARED)]),
        "bob_voided": record(5, BOB),
    }
    made["likes"] = ref(6, made["own"])
    made["likes_likes"] = ref(7, made["likes"], actor=CAROL)
    made["voids_own"] = ref(8, made["object"], actor=CAROL, verb=VOIDED)
    made["alice_voids_bob"] = ref(9, made["bob_voided"], actor=ALICE, verb=VOIDED)
    made["likes_team"] = ref(10, made["team"], actor=CAROL)
    insert_statements(store, T, list(made.values()))
    put_attachments(store, T, {sha(d): ("text/plain", d) for d in (ESSAY, PHOTO, SHARED)}, "w")
    for agent in (ALICE_KEY, BOB_KEY):
        put_document(store, T, DocumentScope(STATE, COURSE, agent), "bookmark", b"{}",
                     "application/json", updated=ts(1))
    put_document(store, T, DocumentScope(AGENT_PROFILE, "", ALICE_KEY), "prefs", b"x",
                 "text/plain", updated=ts(1))
    store.atomically(lambda tx: tx.put_identities(T, [Identity(ALICE_KEY, "d", b"vault")]))
    return made


def _without_alice(row: Any, statement: dict[str, Any]) -> StatementRecord | None:
    """What the service's edit does, for raw agents: Alice out of Groups, else delete."""
    from anonymize import withdraw_member

    done = withdraw_member(statement, {}, lambda node: node.get("mbox") == ALICE["mbox"])
    return None if done is None else build_record(done.statement, writer=row.writer)


def test_erase_agent_deletes_what_holds_the_learner_and_counts_it(store):
    made = _alice_and_bob(store)
    before = everything(store)
    dry = erase_agent(store, T, [ALICE_KEY], now=NOW, edit=_without_alice, dry_run=True)
    assert everything(store) == before
    assert len(store.get_identities(T, ALICE_KEY)) == 1
    done = erase_agent(store, T, [ALICE_KEY], now=NOW, edit=_without_alice)
    assert done.counts == dry.counts
    assert done.deleted == dry.deleted
    assert done.atomic == store.transactional
    own = {made[k].id for k in ("own", "object", "alice_voids_bob")}
    referring = {made[k].id for k in ("likes", "likes_likes", "voids_own")}
    assert set(done.deleted) == own | referring
    assert done.counts.to_json() == {
        "statements": 3, "referring_statements": 3, "edited_statements": 1,
        "state_documents": 1, "agent_profile_documents": 1, "attachments": 1, "identities": 1,
    }
    after = everything(store)
    assert set(after) == set(before) - own - referring
    kept = {made[k].id for k in ("bob", "bob_voided", "likes_team")}
    assert {i: after[i] for i in kept} == {i: before[i] for i in kept}
    team = orjson.loads(after[made["team"].id])
    assert team["context"]["team"]["member"] == [BOB]
    assert related(store, ALICE_KEY) == []
    assert store.atomically(lambda tx: tx.agent_statement_ids(T, [ALICE_KEY])) == []
    # The voiding is not undone with its voiding statement (README "Erasure").
    assert store.get_statements(T, [made["bob_voided"].id])[made["bob_voided"].id].voided
    assert set(store.get_attachments(T, [sha(ESSAY), sha(PHOTO), sha(SHARED)])) == {
        sha(PHOTO), sha(SHARED)
    }
    assert store.atomically(lambda tx: tx.agent_documents(T, agents=[ALICE_KEY])) == []
    assert len(store.atomically(lambda tx: tx.agent_documents(T, agents=[BOB_KEY]))) == 1
    assert store.get_identities(T, ALICE_KEY) == []
    assert store.get_tenant(T).revision == 1  # a row made to carry the revision
    again = erase_agent(store, T, [ALICE_KEY], now=NOW, edit=_without_alice)
    assert again.deleted == () and again.counts.edited_statements == 0
    assert store.get_tenant(T).revision == 2


def test_erase_agent_without_an_edit_deletes_group_statements_too(store):
    made = _alice_and_bob(store)
    done = erase_agent(store, T, [ALICE_KEY], now=NOW)
    assert made["team"].id in done.deleted
    assert made["likes_team"].id in done.deleted  # it referred to a deleted one
    assert done.counts.edited_statements == 0


class Interrupted(Exception):
    pass


class Interrupting:
    """The store, with the `n`-th call of one primitive failing (a crash part way)."""

    def __init__(self, store: Storage, primitive: str, n: int = 1) -> None:
        self._store, self._primitive, self._left = store, primitive, n

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def atomically(self, work: Any) -> Any:
        return self._store.atomically(lambda tx: work(_Failing(tx, self)))


class _Failing:
    def __init__(self, tx: Any, owner: Interrupting) -> None:
        self._tx, self._owner = tx, owner

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._tx, name)
        if name != self._owner._primitive:
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            self._owner._left -= 1
            if self._owner._left == 0:
                raise Interrupted
            return found(*args, **kwargs)

        return call


@pytest.mark.parametrize("primitive,n", [("delete_statements", 1), ("delete_statements", 2),
                                         ("remove_identities", 1), ("write_tenant", 1)])
def test_an_interrupted_erasure_is_undone_or_finished_by_a_re_run(store, primitive, n):
    """With transactions nothing of an interrupted erasure remains; without (MongoDB on a
    standalone server) what it did remains, and running it again finishes it."""
    _alice_and_bob(store)
    before = everything(store)
    with pytest.raises(Interrupted):
        erase_agent(Interrupting(store, primitive, n), T, [ALICE_KEY], now=NOW,
                    edit=_without_alice)
    if store.transactional:
        assert everything(store) == before
        assert len(store.get_identities(T, ALICE_KEY)) == 1
    done = erase_agent(store, T, [ALICE_KEY], now=NOW, edit=_without_alice)
    assert related(store, ALICE_KEY) == []
    assert store.atomically(lambda tx: tx.agent_statement_ids(T, [ALICE_KEY])) == []
    assert store.get_identities(T, ALICE_KEY) == []
    assert store.atomically(lambda tx: tx.agent_documents(T, agents=[ALICE_KEY])) == []
    assert store.get_attachments(T, [sha(ESSAY)]) == {}
    assert len(everything(store)) == len(before) - 6
    if store.transactional:
        assert len(done.deleted) == 6


def test_without_transactions_a_re_run_finishes_an_interrupted_erasure(mongo_database_uri):
    from storage.mongo import MongoStorage

    with MongoStorage(mongo_database_uri, transactions=False) as store:
        assert not store.transactional
        made = _alice_and_bob(store)
        with pytest.raises(Interrupted):
            erase_agent(Interrupting(store, "delete_statements", 2), T, [ALICE_KEY], now=NOW,
                        edit=_without_alice)
        # The referring statements went first; the learner's own are still there to find.
        assert store.get_statements(T, [made["likes"].id]) == {}
        assert made["own"].id in store.get_statements(T, [made["own"].id])
        done = erase_agent(store, T, [ALICE_KEY], now=NOW, edit=_without_alice)
        assert not done.atomic and not done.purged
        assert set(done.deleted) == {made[k].id for k in ("own", "object", "alice_voids_bob")}
        assert store.atomically(lambda tx: tx.agent_statement_ids(T, [ALICE_KEY])) == []


# -- retention ------------------------------------------------------------------------------


def test_delete_before_deletes_exactly_the_older_statements(store):
    old = [record(n, attachments=[attached(ESSAY if n == 1 else SHARED)]) for n in (1, 2, 3)]
    new = [record(4, BOB, attachments=[attached(SHARED)]), ref(5, old[0]), record(6, CAROL)]
    insert_statements(store, T, old + new)
    insert_statements(store, OTHER, [record(1)])
    put_attachments(store, T, {sha(d): ("text/plain", d) for d in (ESSAY, SHARED)}, "w")
    for agent, updated in ((ALICE_KEY, ts(1)), (BOB_KEY, ts(1)), (CAROL_KEY, ts(2)),
                           (ALICE_KEY + "x", ts(9))):
        put_document(store, T, DocumentScope(STATE, COURSE, agent), "d", b"{}",
                     "application/json", updated=updated)
    before = everything(store)
    dry = delete_before(store, T, ts(4), dry_run=True, batch=2)
    assert everything(store) == before
    assert (dry.statements, dry.attachments, dry.documents, dry.purged) == (3, 1, 1, False)
    done = delete_before(store, T, ts(4), batch=2)
    assert (done.statements, done.attachments, done.documents) == (3, 1, 1)
    assert set(everything(store)) == {r.id for r in new}
    assert {i: before[i] for i in everything(store)} == everything(store)
    assert set(store.get_attachments(T, [sha(ESSAY), sha(SHARED)])) == {sha(SHARED)}
    # Alice's bookmark: old, and no statement of hers since; Bob and Carol are active.
    left = store.atomically(lambda tx: tx.agent_documents(T))
    assert sorted(d.scope.agent for d in left) == sorted([BOB_KEY, CAROL_KEY, ALICE_KEY + "x"])
    assert len(store.atomically(lambda tx: tx.statements_before(OTHER, NOW, 10))) == 1
    assert delete_before(store, T, ts(4)).statements == 0

"""Partner exports under data-sharing agreements (`lrs.service.exports`), on every backend:
two agreements for two partners over the same data. Every exported record is walked: only
allow-listed fields, no raw identifier, no stored pseudonym, ids that differ between
partners and hold within one, the quasi-identifier rule on a seeded rare combination, and
an audit entry per export that holds no identifier."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from anonymize.keys import encode_key
from lrs.config import load_config
from lrs.service import (
    ForbiddenError,
    InvalidRequestError,
    LearningRecordStore,
    NotFoundError,
    Principal,
)
from lrs.service import exports as exports_module
from lrs.service.exports import CSV
from storage import StatementFilter
from tests.privacy.scan import find_identifiers

TENANT = "school-a"
REGION = "http://example.org/ext/region"
AGE = "http://example.org/ext/age-band"
HOME = "http://example.org/ext/home-address"
COURSE = "http://example.org/courses/reading"
UNIT = "http://example.org/courses/reading/unit-1"
AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://lrs.test", "name": "w"}}
PLATFORM = Principal("op", "default", frozenset({"platform"}), AUTHORITY)
ADMIN = Principal("adm", TENANT, frozenset({"admin"}), AUTHORITY)
WRITER = Principal("w", TENANT, frozenset({"all"}), AUTHORITY)
K = 3
# (region, age band) per child: 4 share north/8-10; 3 in north have rarer bands (2 + 1),
# which together are k; one child is alone in the south: the seeded rare combination.
CHILDREN = [
    *[("north", "8-10")] * 4, *[("north", "11-13")] * 2, ("north", "14-16"), ("south", "8-10"),
]
TEACHER = {"objectType": "Agent", "name": "Ingrid Teachwell",
           "mbox": "mailto:ingrid.t9@school.example"}
REGISTRATION = str(uuid.uuid4())
ID_TEXT = re.compile(r"[0-9a-f]{32}")


def child(n: int) -> dict:
    return {"objectType": "Agent", "name": f"Kidname{n} Q",
            "mbox": f"mailto:kid{n}.x7@school.example"}


IDENTIFIERS = [
    *(f"kid{n}.x7@school.example" for n in range(len(CHILDREN))),
    *(f"Kidname{n}" for n in range(len(CHILDREN))),
    "ingrid.t9@school.example", "Ingrid Teachwell", "12 Elm Street", "my name is",
    REGISTRATION, HOME,
]


def statements() -> list[dict]:
    made = []
    for n, (region, age) in enumerate(CHILDREN):
        for attempt in range(2):
            made.append({
                "id": str(uuid.uuid4()),
                "actor": child(n),
                "verb": {"id": "http://adlnet.gov/expapi/verbs/completed",
                         "display": {"en-US": "completed"}},
                "object": {"id": UNIT, "definition": {"name": {"en": "Unit 1"},
                                                      "type": "http://adlnet.gov/expapi/activities/module"}},
                "result": {"score": {"scaled": 0.5 + attempt / 4}, "completion": True,
                           "success": attempt == 1, "response": f"my name is Kidname{n}"},
                "context": {
                    "registration": REGISTRATION,
                    "instructor": TEACHER,
                    "team": {"objectType": "Group", "name": "Herons",
                             "member": [child(n), child((n + 1) % len(CHILDREN))]},
                    "contextActivities": {"parent": [{"id": COURSE}]},
                    "extensions": {REGION: region, AGE: age, HOME: "12 Elm Street"},
                },
            })
    return made


MINISTRY = {
    "partner": "Ministry of Education", "purpose": "Monitoring reading programmes",
    "fields": ["id", "actor", "verb.id", "object.id", "result.score.scaled",
               "result.completion", "context.registration", "context.team",
               "context.instructor", "timestamp", "context.contextActivities.parent"],
    "dimensions": ["region", "age_band"], "learner_ids": True,
}
NGO = {
    "partner": "Literacy NGO", "purpose": "Evaluating the tutoring pilot",
    "fields": ["actor", "verb.id", "object.id", "result.success"],
    "dimensions": ["region"], "learner_ids": True,
}


def iso(when: datetime) -> str:
    return when.isoformat()


def terms(base: dict, **changes: object) -> dict:
    now = datetime.now(UTC)
    return {"starts": iso(now - timedelta(days=1)), "expires": iso(now + timedelta(days=30)),
            **base, **changes}


@pytest.fixture
def lrs(storage_uri: str):
    settings = load_config(
        {"storage_uri": storage_uri, "master_key": encode_key(secrets.token_bytes(32))}
    )
    with LearningRecordStore.open(settings) as service:
        service.admin.create_tenant(PLATFORM, TENANT, policy={
            "dimensions": {"region": REGION, "age_band": AGE}, "k": K,
        })
        service.post_statements(WRITER, statements())
        yield service


def exporter(lrs: LearningRecordStore, agreement_id: str) -> Principal:
    credential, _ = lrs.credentials.create(ADMIN, ["export"], agreement=agreement_id)
    return Principal(credential.key, TENANT, frozenset(credential.scopes), {},
                     request_id=uuid.uuid4().hex, agreement=credential.agreement)


def download(lrs, principal, **options) -> bytes:
    return b"".join(lrs.export(principal, principal.agreement, **options).chunks)


def records(body: bytes) -> list[dict]:
    return [orjson.loads(line) for line in body.splitlines()]


def stored_pseudonyms(lrs) -> set[str]:
    """Every account name the store holds for the tenant's agents: the tenant-wide
    pseudonyms, which must never leave under an agreement."""
    found = set()
    for row in lrs.store.query_statements(TENANT, StatementFilter(), 1000):
        found.update(re.findall(rb'"name":"([a-z2-7]{52})"', row.statement))
    return {name.decode() for name in found}


def check_learner_value(value) -> list[str]:
    """The ids in a learner field's value, after checking it holds nothing else."""
    if isinstance(value, str):
        assert ID_TEXT.fullmatch(value), value
        return [value]
    assert set(value) <= {"objectType", "id", "member"} and value["objectType"] == "Group"
    ids = [value["id"]] if "id" in value else []
    ids += value["member"]
    assert all(ID_TEXT.fullmatch(i) for i in ids)
    return ids


def test_two_partners_receive_only_their_fields_under_ids_they_cannot_join(lrs):
    ministry = lrs.create_agreement(ADMIN, terms(MINISTRY))
    ngo = lrs.create_agreement(ADMIN, terms(NGO))
    assert ministry.fields[-2:] == (f"context.extensions.{REGION}", f"context.extensions.{AGE}")
    to_ministry, to_ngo = exporter(lrs, ministry.id), exporter(lrs, ngo.id)
    bodies = {ministry.id: download(lrs, to_ministry), ngo.id: download(lrs, to_ngo)}
    pseudonyms = stored_pseudonyms(lrs)
    stored_ids = {s.id for s in lrs.store.query_statements(TENANT, StatementFilter(), 1000)}
    assert pseudonyms and len(stored_ids) == 2 * len(CHILDREN)
    learner_ids = {}
    for agreement in (ministry, ngo):
        body = bodies[agreement.id]
        assert find_identifiers(body, [*IDENTIFIERS, *pseudonyms, *stored_ids]) == []
        exported = records(body)
        assert len(exported) == 2 * len(CHILDREN)
        actors = []
        for record in exported:  # every record, every key
            assert set(record) <= {*agreement.fields, "withheld", "cursor"}, record
            for field, value in record.items():
                if field in ("actor", "context.team", "context.instructor"):
                    ids = check_learner_value(value)
                    if field == "actor":
                        actors += ids
                elif field == "context.contextActivities.parent":
                    assert value == [COURSE]
                elif field == "withheld":
                    assert set(value) <= set(agreement.fields)
                else:
                    assert isinstance(value, str | int | float | bool), (field, value)
            assert "result.success" in agreement.fields or "result.success" not in record
        learner_ids[agreement.id] = actors
    # Statement by statement (both exports are in stored order), the same child has two
    # unrelated ids; within one partner each child keeps one id.
    ministry_ids, ngo_ids = learner_ids[ministry.id], learner_ids[ngo.id]
    assert set(ministry_ids).isdisjoint(ngo_ids)
    for ids in (ministry_ids, ngo_ids):
        assert len(set(ids)) == len(CHILDREN)
        assert ids[0::2] == ids[1::2]  # each child's two statements
    again = records(download(lrs, to_ministry))
    assert [r["actor"] for r in again] == ministry_ids
    assert [r["id"] for r in again] == [r["id"] for r in records(bodies[ministry.id])]
    # Re-keyed statement ids and registrations differ between partners too.
    ngo_with_ids = lrs.create_agreement(ADMIN, terms(NGO, fields=["id", "context.registration"]))
    theirs = records(download(lrs, exporter(lrs, ngo_with_ids.id)))
    ours = records(bodies[ministry.id])
    assert {r["id"] for r in theirs}.isdisjoint(r["id"] for r in ours)
    assert {r["context.registration"] for r in ours} != {r["context.registration"] for r in theirs}


def test_no_learner_ids_unless_the_agreement_includes_them(lrs):
    plain = lrs.create_agreement(
        ADMIN, terms(NGO, fields=["verb.id", "result.success"], learner_ids=False)
    )
    body = download(lrs, exporter(lrs, plain.id))
    for record in records(body):
        assert set(record) <= {*plain.fields, "withheld", "cursor"}
    assert find_identifiers(body, [*IDENTIFIERS, *stored_pseudonyms(lrs)]) == []
    with pytest.raises(InvalidRequestError) as info:
        lrs.create_agreement(ADMIN, terms(NGO, learner_ids=False))
    assert "fields" in info.value.fields and "learner_ids" in info.value.message


def test_the_quasi_identifier_rule_withholds_rare_combinations(lrs):
    ministry = lrs.create_agreement(ADMIN, terms(MINISTRY))
    exported = records(download(lrs, exporter(lrs, ministry.id)))
    region, age = f"context.extensions.{REGION}", f"context.extensions.{AGE}"
    by_child = [exported[2 * n] for n in range(len(CHILDREN))]
    for n in range(4):  # 4 children share north/8-10: published whole
        assert (by_child[n][region], by_child[n][age]) == ("north", "8-10")
        assert "withheld" not in by_child[n]
    for n in (4, 5, 6):  # 11-13 (2) and 14-16 (1) are rare; together they are k in north
        assert by_child[n][region] == "north" and age not in by_child[n]
        assert by_child[n]["withheld"] == [age]
    alone = by_child[7]  # the only child in the south: nothing of the combination is sent
    assert region not in alone and age not in alone and alone["withheld"] == [region, age]
    # The rule's promise: every published combination is shared by at least k learners.
    learners = defaultdict(set)
    for record in exported:
        shown = (record.get(region), record.get(age))
        if shown != (None, None):
            learners[shown].add(record["actor"])
    assert learners and all(len(ids) >= K for ids in learners.values())
    # The partner with one dimension gets north for all 7 and nothing for the south.
    ngo = lrs.create_agreement(ADMIN, terms(NGO))
    regions = [r.get(region) for r in records(download(lrs, exporter(lrs, ngo.id)))]
    assert regions == ["north"] * 14 + [None] * 2


def test_a_cursor_resumes_exactly_after_its_record(lrs, monkeypatch):
    monkeypatch.setattr(exports_module, "PAGE", 3)  # several pages and chunks
    ministry = lrs.create_agreement(ADMIN, terms(MINISTRY))
    principal = exporter(lrs, ministry.id)
    full = download(lrs, principal).splitlines(keepends=True)
    cursor = orjson.loads(full[4])["cursor"]
    assert b"".join(full[5:]) == download(lrs, principal, cursor=cursor)
    csv_lines = download(lrs, principal, media_type=CSV).splitlines(keepends=True)
    assert csv_lines[0].startswith(b"id,actor,verb.id,") and csv_lines[0].endswith(
        b",withheld,cursor\r\n"
    )
    csv_cursor = csv_lines[5].rstrip().rsplit(b",", 1)[1].decode()  # after the 5th record
    resumed = download(lrs, principal, media_type=CSV, cursor=csv_cursor)
    assert resumed == b"".join(csv_lines[6:])  # no header: the parts join into one file
    other = lrs.create_agreement(ADMIN, terms(NGO))
    for bad, owner in ((cursor, exporter(lrs, other.id)), ("bm90IGEgY3Vyc29y", principal),
                       (cursor[:-2], principal), ("%%%", principal)):
        with pytest.raises(InvalidRequestError) as info:
            lrs.export(owner, owner.agreement, cursor=bad)
        assert info.value.code == "invalid_cursor" and "cursor" in info.value.fields


def test_an_export_is_refused_outside_its_dates_and_once_revoked(lrs):
    ministry = lrs.create_agreement(ADMIN, terms(MINISTRY))
    principal = exporter(lrs, ministry.id)
    later = datetime.now(UTC) + timedelta(days=31)
    lrs.agreements.clock = lambda: later
    with pytest.raises(ForbiddenError) as info:
        lrs.export(principal, ministry.id)
    assert info.value.code == "agreement_expired"
    lrs.agreements.clock = lambda: datetime.now(UTC)
    future = lrs.create_agreement(ADMIN, terms(
        NGO, starts=iso(datetime.now(UTC) + timedelta(days=2))))
    with pytest.raises(ForbiddenError) as info:
        lrs.export(exporter(lrs, future.id), future.id)
    assert info.value.code == "agreement_not_started"
    download(lrs, principal)
    lrs.revoke_agreement(ADMIN, ministry.id)
    with pytest.raises(ForbiddenError) as info:
        lrs.export(principal, ministry.id)
    assert info.value.code == "agreement_revoked"
    # A revoked agreement binds no new credential; another tenant's or agreement's id is
    # nobody's business.
    with pytest.raises(InvalidRequestError) as refused:
        exporter(lrs, ministry.id)
    assert "agreement" in refused.value.fields
    with pytest.raises(NotFoundError):
        lrs.export(principal, future.id)
    stranger = Principal("x", "default", frozenset({"export"}), {}, agreement=future.id)
    with pytest.raises(NotFoundError):
        lrs.export(stranger, future.id)


def test_every_export_is_audited_with_its_count_and_digest(lrs, monkeypatch):
    monkeypatch.setattr(exports_module, "PAGE", 4)
    ministry = lrs.create_agreement(ADMIN, terms(MINISTRY))
    ngo = lrs.create_agreement(ADMIN, terms(NGO))
    to_ministry, to_ngo = exporter(lrs, ministry.id), exporter(lrs, ngo.id)
    sent = [download(lrs, to_ministry), download(lrs, to_ngo, media_type=CSV)]
    interrupted = lrs.export(to_ministry, ministry.id).chunks
    first = next(interrupted)
    interrupted.close()  # the partner's connection dropped after the first chunk
    log = lrs.audit.read(TENANT, action="export", limit=100)
    assert [(e.filters["agreement"], e.filters["format"], e.filters["complete"], e.count)
            for e in log] == [(ministry.id, "ndjson", True, 16), (ngo.id, "csv", True, 16),
                              (ministry.id, "ndjson", False, 4)]
    for entry, body in zip(log, [*sent, first], strict=True):
        assert entry.filters["digest"] == "sha256:" + hashlib.sha256(body).hexdigest()
        assert entry.credential == (to_ngo if entry.filters["format"] == "csv" else
                                    to_ministry).key
    audit_text = orjson.dumps([e.filters for e in lrs.audit.read(TENANT, limit=1000)])
    assert find_identifiers(audit_text, [*IDENTIFIERS, *stored_pseudonyms(lrs)]) == []
    receipts = lrs.export_receipts(to_ministry, ministry.id)
    assert [r["count"] for r in receipts] == [16, 4]
    assert receipts[0]["digest"] == log[0].filters["digest"]
    assert receipts[0]["request_id"] == to_ministry.request_id
    assert lrs.audit.verify(TENANT)[1] is None


def test_an_export_pauses_between_pages(lrs, monkeypatch):
    """`lrs serve` sets `pause` to gevent's sleep: a long export lets the worker's other
    connections, and its heartbeat, run between pages."""
    monkeypatch.setattr(exports_module, "PAGE", 5)
    ministry = lrs.create_agreement(ADMIN, terms(MINISTRY))
    pauses = []
    lrs.exports.pause = lambda: pauses.append(len(pauses))
    download(lrs, exporter(lrs, ministry.id))
    # 16 statements: 3 full pages in the counting pass and 3 in the export.
    assert len(pauses) == 6


def test_xapi_2_0_context_agents_and_groups_leave_as_the_agreements_ids_only(lrs):
    """A 2.0 statement's contextAgents and contextGroups are learner positions: the same
    re-keyed ids as the actor, nothing else of the agents (names, relevantTypes)."""
    coach, pupil = child(0), child(1)
    sent = {
        "actor": pupil, "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
        "object": {"id": UNIT},
        "context": {
            "contextAgents": [{"objectType": "contextAgent", "agent": coach,
                               "relevantTypes": ["http://example.org/types/coach"]}],
            "contextGroups": [{"objectType": "contextGroup",
                               "group": {"objectType": "Group", "name": "Herons",
                                         "member": [pupil, coach]},
                               "relevantTypes": ["http://example.org/types/team"]}],
        },
    }
    lrs.post_statements(WRITER, sent, version="2.0.0")
    agreement = lrs.create_agreement(ADMIN, terms(
        NGO, fields=["actor", "context.contextAgents", "context.contextGroups"], dimensions=[]))
    body = download(lrs, exporter(lrs, agreement.id))
    assert find_identifiers(body, [*IDENTIFIERS, *stored_pseudonyms(lrs), "Herons",
                                   "http://example.org/types"]) == []
    exported = records(body)
    (last,) = [r for r in exported if "context.contextAgents" in r]
    assert set(last) == {"actor", "context.contextAgents", "context.contextGroups", "cursor"}
    actor_of = {n: exported[2 * n]["actor"] for n in (0, 1)}
    assert last["actor"] == actor_of[1] and last["context.contextAgents"] == [actor_of[0]]
    assert last["context.contextGroups"] == [
        {"objectType": "Group", "member": [actor_of[1], actor_of[0]]}
    ]

"""Pseudonyms of agents and of every agent position in a statement (DESIGN.md decision 4)."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import threading

import pytest

from anonymize import (
    DEFAULT_HOME_PAGE,
    Keyring,
    PseudonymError,
    Pseudonymizer,
    canonical_ifi,
    restore_statement,
)

MASTER = bytes(range(32))
# Pinned: changing the scheme breaks every join other tools made on stored pseudonyms.
PINNED_KEY_ID = "k3yj75ps"
PINNED_ALICE = "2wlksxauj24br77nw66nzl3jy2xg6mzc3t3b65mdbsljsrex5ahq"
ALICE_MBOX = "mailto:alice@example.com"


@pytest.fixture(scope="module")
def keyring():
    return Keyring(MASTER)


@pytest.fixture
def pz(keyring):
    return Pseudonymizer(keyring)


def _reference_pseudonym(master: bytes, tenant: str, canonical: bytes) -> tuple[str, str]:
    """The documented scheme, re-implemented with the standard library only."""
    prk = hmac.new(b"\0" * 32, master, hashlib.sha256).digest()  # HKDF-Extract, no salt
    key = hmac.new(prk, b"lrs/v1/pseudonym/" + tenant.encode() + b"\x01", hashlib.sha256).digest()
    key_id = base64.b32encode(hmac.new(key, b"lrs/v1/key-id", hashlib.sha256).digest())
    name = base64.b32encode(hmac.new(key, canonical, hashlib.sha256).digest())
    return key_id.decode()[:8].lower(), name.decode().rstrip("=").lower()


def _fields(*fields: str) -> bytes:
    return b"".join(len(f.encode()).to_bytes(4, "big") + f.encode() for f in fields)


def test_pinned_pseudonym_for_fixed_key(pz):
    assert pz.key_id == PINNED_KEY_ID
    assert pz.pseudonym({"mbox": ALICE_MBOX, "name": "Alice"}) == {
        "account": {"homePage": f"{DEFAULT_HOME_PAGE}/{PINNED_KEY_ID}", "name": PINNED_ALICE}
    }


def test_scheme_matches_documented_construction(pz):
    sha1 = hashlib.sha1(ALICE_MBOX.encode()).hexdigest()
    canonical = _fields("mbox_sha1sum", sha1)
    assert canonical_ifi({"mbox": ALICE_MBOX}) == canonical
    assert _reference_pseudonym(MASTER, "default", canonical) == (PINNED_KEY_ID, PINNED_ALICE)
    account = {"homePage": "https://lms.example", "name": "42"}
    expected = _reference_pseudonym(MASTER, "default", _fields("account", *account.values()))
    assert pz.pseudonym({"account": account})["account"]["name"] == expected[1]


def test_same_key_same_pseudonym_in_another_instance(pz):
    other = Pseudonymizer(Keyring(MASTER))
    agent = {"openid": "https://openid.example/alice"}
    assert other.pseudonym(agent) == pz.pseudonym(agent)


def test_mbox_and_mbox_sha1sum_of_one_address_agree_data_2_4_2_3(pz):
    sha1 = hashlib.sha1(ALICE_MBOX.encode()).hexdigest()
    by_mbox = pz.pseudonym({"mbox": ALICE_MBOX})
    assert pz.pseudonym({"mbox_sha1sum": sha1}) == by_mbox
    assert pz.pseudonym({"mbox_sha1sum": sha1.upper()}) == by_mbox
    # The scheme and the (case-insensitive) domain are normalized; the local part is not.
    assert pz.pseudonym({"mbox": "MAILTO:alice@EXAMPLE.com"}) == by_mbox
    assert pz.pseudonym({"mbox": "mailto:Alice@example.com"}) != by_mbox


def test_different_tenants_get_different_pseudonyms(keyring):
    agent = {"mbox": ALICE_MBOX}
    a = Pseudonymizer(keyring, tenant="school-a").pseudonym(agent)
    b = Pseudonymizer(keyring, tenant="school-b").pseudonym(agent)
    assert a["account"]["name"] != b["account"]["name"]
    assert a["account"]["homePage"] != b["account"]["homePage"]


def test_different_keys_get_different_pseudonyms(pz):
    other = Pseudonymizer(Keyring(bytes(32)))
    agent = {"mbox": ALICE_MBOX}
    assert other.pseudonym(agent)["account"]["name"] != pz.pseudonym(agent)["account"]["name"]


def test_ifi_kinds_and_field_splits_do_not_collide(pz):
    agents = [
        {"openid": "x"},
        {"mbox_sha1sum": "x"},
        {"account": {"homePage": "x", "name": ""}},
        {"account": {"homePage": "a|b", "name": "c"}},
        {"account": {"homePage": "a", "name": "b|c"}},
        {"account": {"homePage": "ab", "name": "c"}},
        {"account": {"homePage": "a", "name": "bc"}},
    ]
    names = {pz.pseudonym(agent)["account"]["name"] for agent in agents}
    assert len(names) == len(agents)


def test_names_dropped_and_object_type_kept(pz):
    agent = pz.pseudonym({"objectType": "Agent", "name": "Alice", "mbox": ALICE_MBOX})
    assert set(agent) == {"objectType", "account"}
    assert agent["objectType"] == "Agent"
    group = pz.pseudonym({"objectType": "Group", "name": "Class 4B", "openid": "https://g"})
    assert group["objectType"] == "Group" and "name" not in group


def test_anonymous_group_keeps_group_and_pseudonymizes_members(pz):
    group = {"objectType": "Group", "name": "Team", "member": [{"mbox": ALICE_MBOX}]}
    out = pz.pseudonym(group)
    assert out == {"objectType": "Group", "member": [pz.pseudonym({"mbox": ALICE_MBOX})]}


@pytest.mark.parametrize(
    "agent",
    [
        {"name": "no identifier"},
        {"mbox": ALICE_MBOX, "openid": "https://x"},
        {"mbox": "alice@example.com"},
        {"mbox": 42},
        {"account": {"homePage": "https://x"}},
        {"account": "x"},
        {"objectType": "Activity", "mbox": ALICE_MBOX},
        {"objectType": "Group", "member": {"mbox": ALICE_MBOX}},
        "mailto:alice@example.com",
    ],
)
def test_unusable_agents_are_errors_without_identifiers_data_2_4_2_1(pz, agent):
    with pytest.raises(PseudonymError) as info:
        pz.pseudonym(agent)
    assert "alice" not in str(info.value)


def _full_statement() -> dict:
    """A statement with every agent position filled (and an authority)."""
    return {
        "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
        "actor": {
            "objectType": "Agent",
            "name": "Alice Pupil",
            "mbox": "mailto:alice@school.example",
        },
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
        "object": {
            "objectType": "Group",
            "name": "Reading Club",
            "account": {"homePage": "https://club.example", "name": "reading-club-7"},
            "member": [
                {"name": "Bob Pupil", "openid": "https://openid.example/bob"},
                {
                    "name": "Carol Pupil",
                    "account": {"homePage": "https://lms.example", "name": "carol.c"},
                },
                {"name": "Dan Pupil", "mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"},
            ],
        },
        "context": {
            "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
            "instructor": {"name": "Mrs Eve Teacher", "mbox": "mailto:eve.teacher@school.example"},
            "team": {
                "objectType": "Group",
                "name": "Blue Team",
                "member": [{"name": "Frank Pupil", "mbox": "mailto:frank@school.example"}],
            },
        },
        "authority": {
            "objectType": "Agent",
            "account": {"homePage": "https://lrs.example", "name": "client-1"},
        },
    }


def _with_substatement() -> dict:
    statement = _full_statement()
    inner = _full_statement()
    for key in ("id", "authority"):
        del inner[key]
    inner["actor"] = {"name": "Gina Pupil", "mbox": "mailto:gina@school.example"}
    inner["object"] = {
        "objectType": "Agent",
        "name": "Hal Pupil",
        "openid": "https://openid.example/hal",
    }
    inner["context"]["instructor"] = {
        "name": "Mr Ivan Teacher",
        "mbox": "mailto:ivan@school.example",
    }
    inner["objectType"] = "SubStatement"
    statement["object"] = inner
    return statement


RAW = [
    "alice",
    "Alice",
    "school.example",
    "Reading Club",
    "club.example",
    "reading-club-7",
    "Bob",
    "openid.example",
    "Carol",
    "carol.c",
    "lms.example",
    "Dan",
    "ebd31e95054c018b10727ccffd2ef2ec3a016ee9",
    "Eve",
    "eve.teacher",
    "Blue Team",
    "Frank",
    "frank",
    "Gina",
    "gina",
    "Hal",
    "Ivan",
    "ivan",
]


@pytest.mark.parametrize("build", [_full_statement, _with_substatement])
def test_every_agent_position_replaced_and_authority_kept(pz, build):
    statement = build()
    sent = copy.deepcopy(statement)
    result = pz.pseudonymize_statement(statement)
    assert statement == sent, "the input must not be modified"
    stored = dict(result.statement)
    assert stored.pop("authority") == sent["authority"]
    text = json.dumps(stored)
    leaked = [raw for raw in RAW if raw in text]
    assert not leaked
    assert result.statement["verb"] == sent["verb"]
    assert result.statement["context"]["registration"] == sent["context"]["registration"]


def test_originals_paths_and_round_trip(pz):
    statement = _with_substatement()
    sent = copy.deepcopy(statement)
    stored, originals = pz.pseudonymize_statement(statement)
    assert set(originals) == {
        "actor",
        "object.actor",
        "object.object",
        "object.context.instructor",
        "object.context.team",
        "object.context.team.member[0]",
        "context.instructor",
        "context.team",
        "context.team.member[0]",
    }
    assert originals["actor"] == sent["actor"]
    # A Group's entry leaves its members to their own paths.
    assert originals["context.team"] == {"objectType": "Group", "name": "Blue Team"}
    assert restore_statement(stored, originals) == sent
    assert json.loads(json.dumps(restore_statement(stored, originals))) == sent


def test_identified_group_object_members_have_own_paths(pz):
    statement = _full_statement()
    stored, originals = pz.pseudonymize_statement(statement)
    assert originals["object.member[1]"] == statement["object"]["member"][1]
    assert "member" not in originals["object"]
    assert stored["object"]["objectType"] == "Group"
    assert [m["account"]["name"] for m in stored["object"]["member"]] == [
        pz.pseudonym(m)["account"]["name"] for m in statement["object"]["member"]
    ]
    assert restore_statement(stored, originals) == statement


def test_already_pseudonymized_agents_are_not_hashed_again(pz):
    stored, _ = pz.pseudonymize_statement(_with_substatement())
    again, originals = pz.pseudonymize_statement(stored)
    assert again == stored
    assert originals == {}
    assert pz.is_pseudonym(stored["actor"])
    assert not pz.is_pseudonym({"mbox": ALICE_MBOX})


def test_pseudonym_under_a_retired_key_id_is_kept(pz):
    old = {"account": {"homePage": f"{DEFAULT_HOME_PAGE}/aaaaaaaa", "name": "b" * 52}}
    assert pz.pseudonym(old) == old


def test_lookalike_pseudonym_with_raw_name_is_hashed(pz):
    fake = {
        "account": {"homePage": f"{DEFAULT_HOME_PAGE}/{PINNED_KEY_ID}", "name": "alice@example.com"}
    }
    assert not pz.is_pseudonym(fake)
    assert "alice" not in json.dumps(pz.pseudonym(fake))


def test_name_on_a_pseudonym_is_dropped_and_kept_as_original(pz):
    agent = dict(pz.pseudonym({"mbox": ALICE_MBOX}), name="Alice")
    stored, originals = pz.pseudonymize_statement({"actor": agent})
    assert stored["actor"] == pz.pseudonym({"mbox": ALICE_MBOX})
    assert restore_statement(stored, originals) == {"actor": agent}


def test_query_agent_maps_to_stored_pseudonym(pz):
    stored, _ = pz.pseudonymize_statement(_full_statement())
    assert (
        pz.pseudonym({"mbox": "mailto:alice@school.example"})["account"]
        == stored["actor"]["account"]
    )


def test_home_page_is_configurable(keyring):
    pz = Pseudonymizer(keyring, home_page="https://lrs.school.example/p/")
    assert pz.pseudonym({"mbox": ALICE_MBOX})["account"]["homePage"] == (
        f"https://lrs.school.example/p/{pz.key_id}"
    )


def test_cache_is_bounded_and_does_not_change_results(keyring):
    pz = Pseudonymizer(keyring, cache_size=4)
    agents = [{"mbox": f"mailto:user{i}@example.com"} for i in range(20)]
    first = [pz.pseudonym(a) for a in agents]
    assert len(pz._cache) == 4
    assert [pz.pseudonym(a) for a in agents] == first
    assert [Pseudonymizer(keyring).pseudonym(a) for a in agents] == first


def test_thread_safe_under_concurrent_use(keyring):
    pz = Pseudonymizer(keyring, cache_size=8)
    agents = [{"mbox": f"mailto:user{i}@example.com"} for i in range(50)]
    expected = [Pseudonymizer(keyring).pseudonym(a) for a in agents]
    failures = []

    def work():
        for _ in range(20):
            if [pz.pseudonym(a) for a in agents] != expected:
                failures.append(1)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


def test_repr_hides_key(pz, keyring):
    key = keyring.derive("default", "pseudonym").key
    for text in (repr(pz), str(pz)):
        assert key.hex() not in text and "key_id" in text
    with pytest.raises(TypeError):
        copy.copy(pz)

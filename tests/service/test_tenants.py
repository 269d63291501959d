"""Tenants with their own data policy (`lrs.service.tenants`), on every backend: policies are
checked, every layer obeys them, and a change reaches every worker without a restart."""

from __future__ import annotations

import secrets
import uuid

import orjson
import pytest

from anonymize.keys import encode_key
from lrs.config import load_config
from lrs.service import (
    InvalidRequestError,
    LearningRecordStore,
    Principal,
)
from lrs.service.tenants import TenantPolicy, parse_policy

REGION = "http://example.org/ext/region"
AGE = "http://example.org/ext/age-band"
SECRET_EXT = "http://example.org/ext/home-address"
AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://lrs.test", "name": "k"}}


def writer(tenant: str) -> Principal:
    return Principal("k-" + tenant, tenant, frozenset({"all", "reidentify"}), AUTHORITY)


PLATFORM = Principal("op", "default", frozenset({"platform"}), AUTHORITY)


def statement(**extra: object) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"mbox": "mailto:kid@example.org", "name": "Kid"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": "http://example.org/course"},
        "context": {"extensions": {REGION: "north", AGE: "10-12", SECRET_EXT: "12 Elm St"}},
        **extra,
    }


@pytest.fixture
def settings(storage_uri: str):
    return load_config({
        "storage_uri": storage_uri, "master_key": encode_key(secrets.token_bytes(32)),
        "dimensions": f"region={REGION}",
    })


@pytest.fixture
def lrs(settings):
    with LearningRecordStore.open(settings) as service:
        yield service


def stored(lrs: LearningRecordStore, tenant: str) -> dict:
    [raw] = lrs.store.query_statements(tenant, _all(), 1)
    return orjson.loads(raw.statement)


def _all():
    from storage import StatementFilter

    return StatementFilter()


# -- policy rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"k": 1}, "policy.k"),
        ({"k": True}, "policy.k"),
        ({"rounding": 0}, "policy.rounding"),
        ({"rounding": 1001}, "policy.rounding"),
        ({"rounding": 2.5}, "policy.rounding"),
        ({"colour": "red"}, "policy.colour"),
        ({"dimensions": {"region": "not an iri"}}, "policy.dimensions"),
        ({"dimensions": {"Region": REGION}}, "policy.dimensions"),
        ({"allowed_extensions": [AGE], "dimensions": {"region": REGION}}, "policy.dimensions"),
        ({"allowed_extensions": ["nope"]}, "policy.allowed_extensions"),
        ({"drop_fields": ["result.score"]}, "policy.drop_fields"),
        ({"retention_days": 0}, "policy.retention_days"),
        ({"notice_languages": ["not a tag!"]}, "policy.notice_languages"),
        ({"notice_languages": []}, "policy.notice_languages"),
        ({"pseudonymize": "yes"}, "policy.pseudonymize"),
    ],
)
def test_bad_policies_are_refused_naming_the_field(overrides, field):
    with pytest.raises(InvalidRequestError) as info:
        parse_policy(overrides, TenantPolicy())
    assert list(info.value.fields) == [field]
    assert info.value.code == "invalid_policy"


def test_a_dimension_must_survive_masking_and_a_valid_policy_parses():
    policy = parse_policy(
        {"allowed_extensions": [REGION, AGE], "dimensions": {"region": REGION, "age_band": AGE},
         "k": 5, "rounding": 5, "retention_days": 365, "notice_languages": ["en", "fr"]},
        TenantPolicy(),
    )
    assert policy.dimension_iris == {"region": REGION, "age_band": AGE}
    assert (policy.k, policy.rounding, policy.retention_days) == (5, 5, 365)


def test_tenant_names_are_slugs(lrs):
    for bad in ("School A", "-a", "a-", "a/b", "x" * 64, ""):
        with pytest.raises(InvalidRequestError):
            lrs.admin.create_tenant(PLATFORM, bad)


def test_pseudonymization_needs_a_key(storage_uri):
    settings = load_config({"storage_uri": storage_uri, "pseudonymize": False,
                            "key_file": "/nonexistent/master.key"})
    with LearningRecordStore.open(settings) as lrs:
        with pytest.raises(InvalidRequestError) as info:
            lrs.admin.create_tenant(PLATFORM, "school-a", policy={"pseudonymize": True})
        assert "policy.pseudonymize" in info.value.fields
        lrs.admin.create_tenant(PLATFORM, "school-b")  # follows the configuration: off


# -- defaults ---------------------------------------------------------------------------------


def test_new_tenants_get_the_configuration_written_in_and_default_follows_it(lrs, settings):
    created = lrs.admin.create_tenant(PLATFORM, "school-a", display_name="School A")
    assert created.policy == TenantPolicy.from_config(settings)
    assert created.policy.dimensions == (("region", REGION),)
    assert lrs.store.get_tenant("school-a").policy["k"] == 10  # written in, not inherited
    default = lrs.tenants.get("default")
    assert default.policy == TenantPolicy.from_config(settings)
    assert lrs.store.get_tenant("default").policy == {}  # follows the configuration


# -- every layer obeys the tenant's policy ---------------------------------------------------


def test_masking_and_pseudonymization_are_per_tenant(lrs):
    lrs.admin.create_tenant(PLATFORM, "masked", policy={"allowed_extensions": [REGION]})
    lrs.admin.create_tenant(PLATFORM, "raw", policy={"pseudonymize": False})
    for tenant in ("masked", "raw", "default"):
        lrs.post_statements(writer(tenant), [statement()])
    masked, raw, default = (stored(lrs, t) for t in ("masked", "raw", "default"))
    assert masked["context"]["extensions"] == {REGION: "north"}
    assert "mbox" not in masked["actor"] and "Kid" not in orjson.dumps(masked).decode()
    assert raw["actor"]["mbox"] == "mailto:kid@example.org"
    assert SECRET_EXT in default["context"]["extensions"]
    assert "mbox" not in default["actor"]
    # The agent filter follows each tenant's choice.
    agent = orjson.dumps({"mbox": "mailto:kid@example.org"}).decode()
    for tenant in ("masked", "raw", "default"):
        assert len(lrs.read_statements(writer(tenant), {"agent": agent}).statements) == 1


def test_a_change_reaches_every_worker_without_a_restart(settings):
    with LearningRecordStore.open(settings) as first, LearningRecordStore.open(settings) as second:
        first.admin.create_tenant(PLATFORM, "school-a")
        second.post_statements(writer("school-a"), [statement()])  # policy read and cached
        first.admin.update_tenant(PLATFORM, "school-a", policy={"allowed_extensions": [REGION]})
        second.post_statements(writer("school-a"), [statement()])
        newest = second.read_statements(writer("school-a"), {"limit": "1"}).statements[0]
        assert orjson.loads(newest)["context"]["extensions"] == {REGION: "north"}
        assert second.tenants.get("school-a").revision == 2


def test_updates_change_only_what_they_name(lrs):
    lrs.admin.create_tenant(PLATFORM, "school-a", policy={"k": 7, "retention_days": 30})
    view = lrs.admin.update_tenant(PLATFORM, "school-a", policy={"retention_days": None})
    assert (view.policy.k, view.policy.retention_days) == (7, None)
    view = lrs.admin.update_tenant(PLATFORM, "school-a", display_name="Renamed")
    assert view.display_name == "Renamed" and view.policy.k == 7
    with pytest.raises(InvalidRequestError):
        lrs.admin.update_tenant(PLATFORM, "school-a", policy={"k": 1})
    assert lrs.tenants.get("school-a").policy.k == 7

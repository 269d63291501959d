"""Tenant keys: one tenant's derived keys exported from the keyring that derives them and
installed in another, which then pseudonymizes and seals for that tenant exactly as the
first does, and derives everything else from its own master key."""

from __future__ import annotations

import json
import os
import stat

import pytest

from anonymize import (
    SHARED_PURPOSES,
    KeyFileError,
    Keyring,
    KeyringError,
    Pseudonymizer,
    Purpose,
    load_tenant_keys,
    parse_tenant_keys,
    seal,
    unseal,
    write_tenant_keys,
)

ZOE = {"mbox": "mailto:zoe@example.org"}


def test_installed_keys_pseudonymize_and_seal_as_the_exporting_keyring():
    central = Keyring.generate()
    edge = Keyring.generate().with_tenant_keys(central.tenant_keys("school"))
    assert Pseudonymizer(edge, "school").pseudonym(ZOE) == Pseudonymizer(
        central, "school").pseudonym(ZOE)
    blob = seal(ZOE, edge.derive("school", Purpose.VAULT), aad=b"school|x")
    assert unseal(blob, central.derive_all("school", Purpose.VAULT), aad=b"school|x") == ZOE
    for purpose in SHARED_PURPOSES:
        assert edge.derive("school", purpose).key == central.derive("school", purpose).key
    # The audit key and other tenants' keys stay the edge's own.
    assert edge.derive("school", Purpose.AUDIT).key != central.derive("school", Purpose.AUDIT).key
    assert edge.derive("other", Purpose.PSEUDONYM).key != central.derive(
        "other", Purpose.PSEUDONYM).key


def test_retired_keys_travel_too_current_first():
    old, new = Keyring.generate(), Keyring.generate()
    rotated = Keyring(new._masters[0], retired=[old._masters[0]])
    edge = Keyring.generate().with_tenant_keys(rotated.tenant_keys("school"))
    assert [k.key_id for k in edge.derive_all("school", Purpose.VAULT)] == [
        k.key_id for k in rotated.derive_all("school", Purpose.VAULT)
    ]
    assert len(edge.derive_all("school", Purpose.AUDIT)) == 1


@pytest.mark.parametrize("text, problem", [
    ("not json", "not JSON"),
    ("[]", "lrs-tenant-keys/1"),
    ('{"format": "other", "tenants": {}}', "lrs-tenant-keys/1"),
    ('{"format": "lrs-tenant-keys/1", "tenants": [], "x": 1}', '"tenants" object only'),
    ('{"format": "lrs-tenant-keys/1", "tenants": {"t": {}}}', "tenants.t"),
    ('{"format": "lrs-tenant-keys/1", "tenants": {"t": {"magic": ["a"]}}}', "tenants.t.magic"),
    ('{"format": "lrs-tenant-keys/1", "tenants": {"t": {"vault": "k"}}}', "tenants.t.vault"),
    ('{"format": "lrs-tenant-keys/1", "tenants": {"t": {"vault": ["c2hvcnQ"]}}}',
     "tenants.t.vault: each key"),
])
def test_malformed_tenant_key_text_is_refused_naming_the_entry(text, problem):
    with pytest.raises(KeyringError, match=problem) as info:
        parse_tenant_keys(text)
    assert "c2hvcnQ" not in str(info.value)


def test_repr_and_errors_never_show_key_material(tmp_path):
    central = Keyring.generate()
    text = write_tenant_keys(tmp_path / "keys.json", central.tenant_keys("school")).read_text()
    edge = Keyring.generate().with_tenant_keys(parse_tenant_keys(text))
    material = json.loads(text)["tenants"]["school"]["vault"][0]
    assert material not in repr(edge) and "school" in repr(edge)
    broken = text.replace(material, material[:-2] + "!!")
    with pytest.raises(KeyringError) as info:
        parse_tenant_keys(broken)
    assert material[:20] not in str(info.value)


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_tenant_key_files_are_owner_only_and_replaced_whole(tmp_path):
    ring = Keyring.generate()
    keys = ring.tenant_keys("school")
    path = write_tenant_keys(tmp_path / "tenant-keys.json", keys)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_tenant_keys(path) == keys
    other = Keyring.generate().tenant_keys("village")
    write_tenant_keys(path, {**keys, **other})
    assert set(load_tenant_keys(path)) == set(keys) | set(other)
    assert [p.name for p in tmp_path.iterdir()] == ["tenant-keys.json"]  # no temporary left
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="too open"):
        load_tenant_keys(path)


def test_installed_keys_must_be_256_bits():
    with pytest.raises(KeyringError):
        Keyring.generate().with_tenant_keys({("t", Purpose.VAULT): [b"short"]})


@pytest.mark.parametrize("purpose", [Purpose.AGREEMENT, Purpose.EXPORT_CURSOR])
def test_an_agreements_keys_are_never_installed(purpose):
    """One installed key would serve every agreement of the tenant: partners could join
    their exports on learner ids."""
    with pytest.raises(KeyringError, match="never installed"):
        Keyring.generate().with_tenant_keys({("t", purpose): [bytes(32)]})

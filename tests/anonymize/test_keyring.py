"""Master keys, key files and derived keys."""

from __future__ import annotations

import base64
import os
import pickle
import stat

import pytest

from anonymize import DerivedKey, KeyFileError, Keyring, KeyringError, Purpose, init_key_file
from anonymize.keys import SCOPED_PURPOSES

MASTER = bytes(range(32))
TEXT = base64.urlsafe_b64encode(MASTER).decode().rstrip("=")

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def test_init_key_file_creates_owner_only_file_that_loads(tmp_path):
    path = init_key_file(tmp_path / "lrs.key")
    assert path == tmp_path / "lrs.key"
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert len(lines) == 1 and len(base64.urlsafe_b64decode(lines[0] + "=")) == 32
    keyring = Keyring.from_file(path)
    assert (
        keyring.derive("t", "general").key_id
        == Keyring.from_text(lines[0]).derive("t", "general").key_id
    )


def test_init_key_file_never_overwrites(tmp_path):
    path = init_key_file(tmp_path / "lrs.key")
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="already exists"):
        init_key_file(path)
    assert path.read_bytes() == before


def test_init_key_file_makes_a_new_key_each_time(tmp_path):
    a = init_key_file(tmp_path / "a.key").read_text()
    b = init_key_file(tmp_path / "b.key").read_text()
    assert a != b


def test_init_key_file_in_missing_directory_is_a_key_file_error(tmp_path):
    with pytest.raises(KeyFileError, match="cannot create"):
        init_key_file(tmp_path / "missing" / "lrs.key")


@posix_only
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o610])
def test_key_file_readable_by_others_is_refused(tmp_path, mode):
    path = tmp_path / "lrs.key"
    path.write_text(TEXT + "\n")
    path.chmod(mode)
    with pytest.raises(KeyFileError, match="too open") as info:
        Keyring.from_file(path)
    assert TEXT not in str(info.value)


@posix_only
def test_owner_only_key_file_loads(tmp_path):
    path = tmp_path / "lrs.key"
    path.write_text(TEXT + "\n")
    path.chmod(0o400)
    expected = Keyring(MASTER).derive("t", Purpose.VAULT).key
    assert Keyring.from_file(path).derive("t", Purpose.VAULT).key == expected


def test_missing_key_file_is_a_key_file_error(tmp_path):
    with pytest.raises(KeyFileError, match="cannot open"):
        Keyring.from_file(tmp_path / "nope.key")


@pytest.mark.parametrize(
    "text",
    ["", "\n", "not base64!", TEXT[:-2], TEXT + "AAAA", TEXT[:-1] + "*", "+" + TEXT[1:]],
)
def test_bad_key_text_is_refused_without_echoing_it(text, tmp_path):
    with pytest.raises(KeyringError) as info:
        Keyring.from_text(text)
    assert not text.strip() or text.strip() not in str(info.value)
    path = tmp_path / "bad.key"
    path.write_text(text)
    path.chmod(0o600)
    with pytest.raises(KeyFileError):
        Keyring.from_file(path)


def test_key_text_accepts_padding_and_surrounding_whitespace():
    padded = base64.urlsafe_b64encode(MASTER).decode()
    a = Keyring.from_text(f"  {padded}\n").derive("t", "pseudonym").key
    assert a == Keyring(MASTER).derive("t", "pseudonym").key


@pytest.mark.parametrize("master", [b"", bytes(31), bytes(33), "x" * 32])
def test_master_key_must_be_32_bytes(master):
    with pytest.raises(KeyringError):
        Keyring(master)


def test_derived_keys_differ_per_tenant_and_purpose():
    keyring = Keyring(MASTER)
    keys = {
        keyring.derive(tenant, purpose, "agreement-1" if purpose in SCOPED_PURPOSES else None).key
        for tenant in ("a", "b", "a/pseudonym")
        for purpose in Purpose
    }
    assert len(keys) == 3 * len(Purpose)
    assert all(len(key) == 32 for key in keys)
    assert MASTER not in keys


def test_derivation_is_stable_and_cached():
    keyring = Keyring(MASTER)
    first = keyring.derive("t", "vault")
    assert keyring.derive("t", Purpose.VAULT) is first
    assert Keyring(MASTER).derive("t", "vault").key == first.key


def test_key_id_is_short_and_not_the_key():
    derived = Keyring(MASTER).derive("t", "vault")
    assert len(derived.key_id) == 8 and derived.key_id.isalnum() and derived.key_id.islower()
    assert derived.key_id not in base64.b32encode(derived.key).decode().lower()
    assert derived.key_id not in derived.key.hex()


@pytest.mark.parametrize("bad", ["", None])
def test_tenant_must_be_a_non_empty_string(bad):
    with pytest.raises(KeyringError):
        Keyring(MASTER).derive(bad, "vault")


def test_unknown_purpose_is_refused():
    with pytest.raises(ValueError):
        Keyring(MASTER).derive("t", "signing")


def test_retired_keys_follow_the_current_one():
    old = bytes(32)
    keyring = Keyring.from_text(TEXT + "\n" + base64.urlsafe_b64encode(old).decode() + "\n")
    current, retired = keyring.derive_all("t", "vault")
    assert current.key == keyring.derive("t", "vault").key
    assert retired.key == Keyring(old).derive("t", "vault").key


def test_keys_never_in_repr_str_or_pickle():
    keyring = Keyring(MASTER)
    derived = keyring.derive("t", "vault")
    secrets = [MASTER.hex(), TEXT, derived.key.hex(), repr(derived.key), repr(MASTER)]
    for text in (repr(keyring), str(keyring), repr(derived), str(derived), f"{derived}"):
        assert not any(secret in text for secret in secrets)
    assert derived.key_id in repr(derived)
    for obj in (keyring, derived):
        with pytest.raises(TypeError):
            pickle.dumps(obj)
    assert isinstance(derived, DerivedKey)


def test_agreement_keys_are_derived_per_tenant_and_agreement_unambiguously():
    keyring = Keyring(MASTER)
    pairs = [("a", "b"), ("a", "c"), ("b", "b"), ("a/b", "c"), ("a", "b-c")]
    keys = {keyring.derive(tenant, Purpose.AGREEMENT, scope).key for tenant, scope in pairs}
    assert len(keys) == len(pairs)
    cursor = keyring.derive("a", Purpose.EXPORT_CURSOR, "b")
    assert cursor.key not in keys and cursor.scope == "b" and "b" in repr(cursor)
    assert keyring.derive("a", Purpose.AGREEMENT, "b") is keyring.derive("a", "agreement", "b")
    for purpose, scope in ((Purpose.AGREEMENT, None), (Purpose.AGREEMENT, ""),
                           (Purpose.AGREEMENT, "b/c"), (Purpose.VAULT, "b")):
        with pytest.raises(KeyringError):
            keyring.derive("a", purpose, scope)
    rotated = Keyring(bytes(32), retired=[MASTER])
    assert rotated.derive_all("a", Purpose.AGREEMENT, "b")[1].key == keyring.derive(
        "a", Purpose.AGREEMENT, "b").key

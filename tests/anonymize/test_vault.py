"""Sealing original agents and statements for the identity vault."""

from __future__ import annotations

import pytest

from anonymize import Keyring, Purpose, VaultError, seal, sealed_key_id, unseal

KEYRING = Keyring(bytes(range(32)))
KEY = KEYRING.derive("school-a", Purpose.VAULT)
ORIGINAL = {"actor": {"name": "Alice Pupil", "mbox": "mailto:alice@school.example"}, "n": ["ü", 1]}
AAD = b"school-a\x00stmt-1"


def test_round_trip():
    blob = seal(ORIGINAL, KEY, aad=AAD)
    assert unseal(blob, KEY, aad=AAD) == ORIGINAL
    assert unseal(seal([1, "x"], KEY, aad=b""), KEY, aad=b"") == [1, "x"]


def test_blob_hides_content_and_names_its_key():
    blob = seal(ORIGINAL, KEY, aad=AAD)
    assert b"alice" not in blob and b"Alice" not in blob
    assert sealed_key_id(blob) == KEY.key_id


def test_random_nonce_makes_each_blob_different():
    assert seal(ORIGINAL, KEY, aad=AAD) != seal(ORIGINAL, KEY, aad=AAD)


def test_any_altered_byte_fails():
    blob = seal(ORIGINAL, KEY, aad=AAD)
    for index in range(len(blob)):
        tampered = bytearray(blob)
        tampered[index] ^= 0x01
        with pytest.raises(VaultError):
            unseal(bytes(tampered), KEY, aad=AAD)


def test_wrong_aad_fails():
    blob = seal(ORIGINAL, KEY, aad=AAD)
    with pytest.raises(VaultError, match="authentication"):
        unseal(blob, KEY, aad=b"school-a\x00stmt-2")


def test_other_tenant_key_fails():
    blob = seal(ORIGINAL, KEY, aad=AAD)
    with pytest.raises(VaultError):
        unseal(blob, KEYRING.derive("school-b", Purpose.VAULT), aad=AAD)


def test_truncated_or_foreign_blob_fails():
    blob = seal(ORIGINAL, KEY, aad=AAD)
    for bad in (b"", blob[:20], b"\x02" + blob[1:]):
        with pytest.raises(VaultError):
            unseal(bad, KEY, aad=AAD)


def test_rotated_keyring_opens_old_blobs():
    old_master, new_master = bytes(range(32)), bytes(32)
    old_blob = seal(ORIGINAL, Keyring(old_master).derive("t", "vault"), aad=AAD)
    rotated = Keyring(new_master, retired=[old_master])
    keys = rotated.derive_all("t", "vault")
    assert unseal(old_blob, keys, aad=AAD) == ORIGINAL
    new_blob = seal(ORIGINAL, rotated.derive("t", "vault"), aad=AAD)
    assert unseal(new_blob, keys, aad=AAD) == ORIGINAL
    with pytest.raises(VaultError, match="key id"):
        unseal(old_blob, rotated.derive("t", "vault"), aad=AAD)


def test_error_messages_reveal_no_key_or_content():
    blob = seal(ORIGINAL, KEY, aad=AAD)
    with pytest.raises(VaultError) as info:
        unseal(blob, KEY, aad=b"x")
    message = str(info.value)
    assert KEY.key.hex() not in message and "alice" not in message


def test_only_json_containers_and_non_pseudonym_keys_seal():
    with pytest.raises(TypeError):
        seal("text", KEY, aad=AAD)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        seal(ORIGINAL, KEYRING.derive("school-a", Purpose.PSEUDONYM), aad=AAD)

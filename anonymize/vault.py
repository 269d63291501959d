"""Sealing the identity vault's entries: original agents and statements, encrypted at rest.

A sealed blob is ``version (1 byte, 1) | key id (8 ASCII bytes) | nonce (12 bytes) |
AES-256-GCM ciphertext and tag`` over the compact JSON of the object. The header is
authenticated with the caller's AAD, so a blob moved to another record (another tenant or
statement id in the AAD) or altered in any byte does not open. The key id lets a rotated
keyring pick the key that sealed an old blob (`Keyring.derive_all`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from anonymize.errors import VaultError
from anonymize.keys import DerivedKey, Purpose

__all__ = ["seal", "sealed_key_id", "unseal"]

_VERSION = b"\x01"
_KEY_ID_LEN = 8
_HEADER_LEN = 1 + _KEY_ID_LEN
_NONCE_LEN = 12
_TAG_LEN = 16


def seal(obj: dict[str, Any] | list[Any], key: DerivedKey, *, aad: bytes) -> bytes:
    """Encrypt a JSON object or array with `key`, bound to `aad` (e.g. tenant + statement id)."""
    if not isinstance(obj, dict | list):
        raise TypeError("only a JSON object or array can be sealed")
    if key.purpose is Purpose.PSEUDONYM:
        raise ValueError("a pseudonym key must not encrypt; derive a vault key")
    header = _VERSION + key.key_id.encode("ascii")
    nonce = os.urandom(_NONCE_LEN)
    return header + nonce + _aead(key.key).encrypt(nonce, _payload(obj), header + bytes(aad))


def _payload(obj: dict[str, Any] | list[Any]) -> bytes:
    """The compact UTF-8 JSON of `obj`: orjson's (a fifth of the json module's CPU, and
    sealing runs once per stored statement); the json module's for what orjson refuses
    (lone surrogates, integers past 64 bits), which `unseal` reads alike."""
    try:
        return orjson.dumps(obj)
    except TypeError:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "surrogatepass"
        )


@lru_cache(maxsize=64)
def _aead(key: bytes) -> AESGCM:
    """The cipher of a key, built once (a tenant's vault key seals every statement)."""
    return AESGCM(key)


def sealed_key_id(blob: bytes) -> str:
    """The id of the key that sealed `blob` (not secret), to choose among rotated keys."""
    if len(blob) < _HEADER_LEN + _NONCE_LEN + _TAG_LEN or blob[:1] != _VERSION:
        raise VaultError("not a sealed blob of a known format")
    return blob[1:_HEADER_LEN].decode("ascii", "replace")


def unseal(
    blob: bytes, key: DerivedKey | Iterable[DerivedKey], *, aad: bytes
) -> dict[str, Any] | list[Any]:
    """Decrypt a blob sealed by `seal` with the same AAD; `key` may be several keys (current
    and retired), the one whose id is in the blob's header is used."""
    blob = bytes(blob)
    key_id = sealed_key_id(blob)
    keys = (key,) if isinstance(key, DerivedKey) else key
    match = next((candidate for candidate in keys if candidate.key_id == key_id), None)
    if match is None:
        raise VaultError(f"blob was sealed with key id {key_id!r}, which no given key has")
    nonce = blob[_HEADER_LEN : _HEADER_LEN + _NONCE_LEN]
    try:
        payload = _aead(match.key).decrypt(
            nonce, blob[_HEADER_LEN + _NONCE_LEN :], blob[:_HEADER_LEN] + bytes(aad)
        )
    except InvalidTag:
        raise VaultError(
            "sealed blob failed authentication: altered, or wrong key or aad"
        ) from None
    opened: dict[str, Any] | list[Any] = json.loads(payload.decode("utf-8", "surrogatepass"))
    return opened

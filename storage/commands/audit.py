"""The audit log's rules: append-only, and tamper-evident by a hash chain per tenant.

Each entry's hash covers all its fields and the previous entry's hash, so editing, removing
or reordering an entry breaks the chain at that entry (`verify_audit`). The hash is an
HMAC-SHA256 under a key the caller derives for the tenant (the service derives it from the
master key), written `hmac-sha256:<key id>:<hex>`: without the key, nobody who can write to
the store can forge a consistent chain. Without a key (pseudonymization off and no master
key) it is a plain SHA-256, `sha256:<hex>`, which shows accidental and naive edits only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from storage.commands.retry import retrying
from storage.protocol import Storage, Transaction
from storage.records import AuditEntry

_PAGE = 1000


@dataclass(frozen=True, slots=True)
class AuditKey:
    """A tenant's key for the chain: the key bytes and their public id."""

    key: bytes
    key_id: str


def entry_hash(entry: AuditEntry, keys: Sequence[AuditKey]) -> str:
    """The hash of `entry` (its `hash` field left out) under the first of `keys`, or the
    key its stored hash names when `keys` holds several (rotation)."""
    fields = dataclasses.asdict(entry)
    fields.pop("hash")
    payload = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    if not keys:
        return "sha256:" + hashlib.sha256(payload).hexdigest()
    key = keys[0]
    if entry.hash.startswith("hmac-sha256:"):
        wanted = entry.hash.split(":")[1]
        key = next((k for k in keys if k.key_id == wanted), key)
    return f"hmac-sha256:{key.key_id}:" + hmac.new(key.key, payload, hashlib.sha256).hexdigest()


def append_audit(
    store: Storage,
    *,
    tenant: str,
    time: str,
    credential: str,
    action: str,
    resource: str,
    filters: Mapping[str, Any],
    count: int,
    request_id: str,
    keys: Sequence[AuditKey] = (),
) -> AuditEntry:
    """Append one entry after the tenant's newest, chained to it; retried when another
    writer appended meanwhile."""

    def append(tx: Transaction) -> AuditEntry:
        last = tx.last_audit_entry(tenant)
        entry = AuditEntry(
            tenant=tenant,
            seq=1 if last is None else last.seq + 1,
            time=time,
            credential=credential,
            action=action,
            resource=resource,
            filters=dict(filters),
            count=count,
            request_id=request_id,
            previous="" if last is None else last.hash,
            hash="",
        )
        entry = dataclasses.replace(entry, hash=entry_hash(entry, keys[:1]))
        tx.append_audit(entry)
        return entry

    return retrying(store, append, "append to the audit log")


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """Where a tenant's chain breaks: the entry's `seq` and what is wrong with it."""

    tenant: str
    seq: int
    reason: str


def verify_audit(
    store: Storage, tenant: str, keys: Sequence[AuditKey] = ()
) -> tuple[int, BrokenLink | None]:
    """Walk the tenant's whole chain: how many entries were checked, and the first broken
    link (a gap in `seq`, a `previous` that is not the hash before, a hash that does not
    match the entry), or None."""
    expected_seq, previous, checked = 1, "", 0
    after = 0
    while True:
        page = store.read_audit(tenant, after=after, limit=_PAGE)
        for entry in page:
            checked += 1
            if entry.seq != expected_seq:
                return checked, BrokenLink(tenant, expected_seq, f"entry {expected_seq} is missing")
            if entry.previous != previous:
                return checked, BrokenLink(
                    tenant, entry.seq, "does not chain to the entry before it"
                )
            if not hmac.compare_digest(entry.hash, entry_hash(entry, keys)):
                return checked, BrokenLink(
                    tenant, entry.seq, "its content does not match its hash (edited)"
                )
            previous, expected_seq = entry.hash, entry.seq + 1
        if len(page) < _PAGE:
            return checked, None
        after = page[-1].seq

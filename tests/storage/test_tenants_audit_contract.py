"""The tenant and audit-log storage contract, on every backend: tenants are created once and
changed by compare-and-set; the audit log is a per-tenant hash chain that concurrent
writers extend without gaps, and whose edits `verify_audit` finds."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from storage import ConflictError, Tenant
from storage.commands import (
    AuditKey,
    append_audit,
    create_tenant,
    update_tenant,
    verify_audit,
)

NOW = "2026-12-01T10:00:00.000000Z"
KEYS = (AuditKey(b"k" * 32, "keyid001"),)


def tenant(name: str, **policy: object) -> Tenant:
    return Tenant(name, name.title(), dict(policy), NOW, NOW)


def append(store, tenant_name: str, n: int) -> None:
    append_audit(
        store, tenant=tenant_name, time=NOW, credential="c", action="statements.read",
        resource="statements", filters={"verb": f"http://example.com/v/{n}"}, count=n,
        request_id=f"r{n}", keys=KEYS,
    )


def test_tenants_are_created_once_and_listed(store):
    created = create_tenant(store, tenant("school-a", k=5))
    assert created.revision == 1
    with pytest.raises(ConflictError):
        create_tenant(store, tenant("school-a"))
    assert store.get_tenant("school-a") == created
    assert store.get_tenant("nobody") is None
    names = [t.name for t in store.list_tenants()]
    assert "school-a" in names and names == sorted(names)


def test_a_tenant_change_is_a_compare_and_set_on_the_revision(store):
    create_tenant(store, tenant("school-a", k=5))
    changed = update_tenant(
        store, "school-a", lambda t: dataclasses.replace(t, policy={**t.policy, "k": 7})
    )
    assert (changed.revision, changed.policy) == (2, {"k": 7})
    assert store.get_tenant("school-a").policy == {"k": 7}


def test_concurrent_tenant_changes_lose_nothing(store):
    create_tenant(store, tenant("school-a"))
    errors = []

    def change(n: int) -> None:
        try:
            for i in range(5):
                update_tenant(store, "school-a", lambda t, n=n, i=i: dataclasses.replace(
                    t, policy={**t.policy, f"w{n}r{i}": True}))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=change, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stored = store.get_tenant("school-a")
    assert len(stored.policy) == 20 and stored.revision == 21


def test_the_audit_chain_is_per_tenant_and_verifies(store):
    for n in range(3):
        append(store, "a", n)
    append(store, "b", 9)
    entries = store.read_audit("a")
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].previous == "" and entries[1].previous == entries[0].hash
    assert entries[0].hash.startswith("hmac-sha256:keyid001:")
    assert [e.count for e in store.read_audit("b")] == [9]
    assert store.read_audit("a", after=1, limit=1)[0].seq == 2
    assert [e.seq for e in store.read_audit("a", action="nothing")] == []
    assert verify_audit(store, "a", KEYS) == (3, None)
    # A different key cannot produce the same chain.
    assert verify_audit(store, "a", (AuditKey(b"x" * 32, "keyid001"),))[1].seq == 1


def test_concurrent_appends_make_one_unbroken_chain(store):
    errors = []

    def write(n: int) -> None:
        try:
            for i in range(5):
                append(store, "a", n * 10 + i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert verify_audit(store, "a", KEYS) == (20, None)

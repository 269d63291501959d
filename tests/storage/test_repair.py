"""A batch whose deferred step failed is finished by the client's re-send (`storage.protocol`
`defers_shared_writes`, `lrs.service.ingest.store_statements`), on every backend.

On a backend that defers identities and activity merges (MongoDB), the statements commit
first, `pending`, and the deferred step writes the rest; if that step fails, the request
fails, and the re-send (which the client makes after a failed request) must write what is
missing. Before the pending flag it was a no-op: the vault entries and definitions of the
batch were never written. On a backend writing everything in one transaction (SQLite), the
same failure stores nothing and the re-send stores everything; the end state is the same.
"""

from __future__ import annotations

import importlib
import sqlite3
import uuid
from types import ModuleType

import pytest

from lrs.service.ingest import store_statements
from statements import validate_statements
from storage import Identity, Storage, StorageError

T = "tenant-a"
AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://lrs.test", "name": "k"}}
PSEUDONYM = "account:https://lrs.test|pseudonym-1"
COURSE = "http://example.com/activities/course"
MODULE = "http://example.com/activities/module"


def backend_module(store: Storage, name: str) -> ModuleType:
    """The resource module `name` of the store's backend (both are shaped alike:
    storage/sqlite/identities.py, storage/mongo/identities.py...)."""
    package = type(store).__module__.rpartition(".")[0]
    return importlib.import_module(f"{package}.{name}")


def driver_error(store: Storage) -> Exception:
    """What the backend's driver raises when the connection or the disk fails."""
    if type(store).__module__.startswith("storage.sqlite"):
        return sqlite3.OperationalError("disk I/O error")
    from pymongo.errors import AutoReconnect

    return AutoReconnect("connection closed")


def statement(activity: str, name: str) -> dict:
    raw = {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "account": {"homePage": "https://lrs.test",
                                                     "name": "pseudonym-1"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": activity, "definition": {"name": {"en-US": name}}},
    }
    return validate_statements(raw)[0]


def ingest(store: Storage, batch: list[dict]) -> list[str]:
    """Store `batch` as a pseudonymizing service would: each statement with its sealed
    original agent and one identity vault entry per original (the same on a re-send)."""
    ids = [s["id"].lower() for s in batch]
    return store_statements(
        store, T, batch, authority=AUTHORITY, writer="client-1", define_activities=True,
        sealed={i: f"sealed {i}".encode() for i in ids},
        identities={
            i: [Identity(PSEUDONYM, f"digest-{n}", f"original-{n}".encode())]
            for n, i in enumerate(ids)
        },
    )


EXPECTED_IDENTITIES = [
    Identity(PSEUDONYM, f"digest-{n}", f"original-{n}".encode()) for n in range(2)
]


@pytest.mark.parametrize(
    ("module", "function"), [("identities", "put"), ("activities", "write")],
    ids=["identities-fail", "activity-merge-fails"],
)
def test_a_resent_batch_finishes_what_a_failed_deferred_step_left_undone(
    store, monkeypatch, module, function
):
    failed: list[str] = []
    resource = backend_module(store, module)
    original = getattr(resource, function)

    def fail_once(*args, **kwargs):
        if not failed:
            failed.append(function)
            raise driver_error(store)
        return original(*args, **kwargs)

    monkeypatch.setattr(resource, function, fail_once)
    batch = [statement(COURSE, "Course"), statement(MODULE, "Module")]
    ids = [s["id"].lower() for s in batch]

    with pytest.raises(StorageError):
        ingest(store, batch)
    assert failed == [function]
    found = store.get_statements(T, ids)
    if store.defers_shared_writes:
        # The statements committed; the step after them did not finish.
        assert set(found) == set(ids)
        assert all(s.pending for s in found.values())
        written = EXPECTED_IDENTITIES if module != "identities" else []
        assert store.get_identities(T, PSEUDONYM) == written
        assert store.get_activities(T, [COURSE, MODULE]) == {}
    else:
        # One transaction: nothing was stored.
        assert found == {}

    # The client re-sends the same batch.
    assert ingest(store, batch) == ids
    found = store.get_statements(T, ids)
    assert set(found) == set(ids)
    assert not any(s.pending for s in found.values())
    assert {i: s.sealed for i, s in found.items()} == {i: f"sealed {i}".encode() for i in ids}
    assert store.get_identities(T, PSEUDONYM) == EXPECTED_IDENTITIES
    assert store.get_activities(T, [COURSE, MODULE]) == {
        COURSE: {"name": {"en-US": "Course"}}, MODULE: {"name": {"en-US": "Module"}},
    }

    # Finished, the batch is a no-op again when re-sent (Communication 2.1.2): it does not
    # undo a newer definition.
    ingest(store, [statement(COURSE, "Newer")])
    ingest(store, batch)
    assert store.get_activities(T, [COURSE])[COURSE] == {"name": {"en-US": "Newer"}}


def test_statements_of_a_finished_batch_are_not_pending(store):
    batch = [statement(COURSE, "Course")]
    [statement_id] = ingest(store, batch)
    assert store.get_statements(T, [statement_id])[statement_id].pending is False

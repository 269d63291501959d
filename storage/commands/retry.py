"""Retrying a write that lost a compare-and-set race (`ConcurrentUpdateError`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from storage.errors import ConcurrentUpdateError, StorageError
from storage.protocol import Storage, Transaction

T = TypeVar("T")

ATTEMPTS = 100
PAUSE_S = 0.001


def retrying(store: Storage, work: Callable[[Transaction], T], action: str) -> T:
    """`store.atomically(work)`, read-check-write retried while another writer keeps
    changing what `work` read. Every lost race is another writer's success; the pause grows
    so that a slow writer gets its turn too."""
    for attempt in range(ATTEMPTS):
        try:
            return store.atomically(work)
        except ConcurrentUpdateError:
            time.sleep(PAUSE_S * min(attempt + 1, 20))
    raise StorageError(f"could not {action}: it kept changing under concurrent writers")

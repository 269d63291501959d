"""Erasure and retention on a large embedded store, and what secure deletion costs.

Builds (or reuses, `--store PATH`) a SQLite store of `--count` statements (default
1,000,000, pseudonymized as the service stores them, in batches of `--batch` through the
ingest rules: `Privacy.prepare` then `store_statements`; validation is skipped, the
generated statements are valid by construction). `--targets` learners get exactly
`--per-learner` statements each, spread over the whole store; the others are drawn from
2,000 learners. Every 100th statement refers to an earlier one (StatementRef), as in
bench/storage.py.

Then, on a fresh copy of the store for each setting of `PRAGMA secure_delete` (on, as
shipped, and off, to measure its cost):

- before each erasure, stores `--ingest` more statements in batches of 100 (what secure
  deletion costs writers, and a WAL holding what a live store's would);
- erases each target learner through the service (`lrs.service.erasure`), timing the whole
  call (finding, deleting, committing, checkpointing and truncating the WAL, the audit
  entry) and the WAL checkpoint alone; a dry run first for the first learner;
- runs retention over the oldest `--retention` statements.

Prints figures, asserts nothing. Run from the repository root:
    python -m bench.erasure [--count 1000000] [--store /tmp/erasure-bench.db] [--keep]
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from anonymize.keys import encode_key
from bench.storage import make_statement
from lrs.config import load_config
from lrs.service import SCOPES, LearningRecordStore, Principal, load_privacy
from lrs.service.ingest import store_statements
from storage import Storage, open_storage
from storage.commands import delete_before

TENANT = "default"
AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://lrs.invalid", "name": "b"}}
OPERATOR = Principal("bench", TENANT, frozenset(SCOPES), AUTHORITY, "bench")


def target(n: int) -> dict[str, Any]:
    return {"objectType": "Agent", "name": f"Target {n}", "mbox": f"mailto:target{n}@example.org"}


def statements(count: int, targets: int, per_learner: int, seed: int) -> Iterator[dict[str, Any]]:
    """`count` statements in arrival order: every (count // (targets * per_learner))-th is
    a target learner's, in turn, until each has `per_learner`; about 1% of the others refer
    to (or void) a recent statement, a target's too."""
    rng = random.Random(seed)
    registrations = [str(uuid.uuid4()) for _ in range(5000)]
    recent: list[str] = []
    stride = count // (targets * per_learner)
    for index in range(count):
        slot, offset = divmod(index, stride)
        if offset == 0 and slot < targets * per_learner:
            statement = make_statement(rng, registrations, [])
            statement["actor"] = target(slot % targets)
        else:
            statement = make_statement(rng, registrations, recent)
        if "id" in statement:  # not a StatementRef: one a later statement may refer to
            recent = [*recent[-199:], statement["id"]]
        else:
            statement["id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        yield statement


def build(service: LearningRecordStore, count: int, targets: int, per_learner: int,
          batch: int) -> float:
    """Store the statements; statements/s."""
    view = service.tenants.get(TENANT)
    started = time.perf_counter()
    pending: list[dict[str, Any]] = []
    for statement in statements(count, targets, per_learner, seed=13):
        pending.append(statement)
        if len(pending) == batch:
            _store(service, view, pending)
            pending = []
    if pending:
        _store(service, view, pending)
    return count / (time.perf_counter() - started)


def _store(service: LearningRecordStore, view: Any, batch: list[dict[str, Any]]) -> None:
    prepared = service.privacy.prepare(view, batch)
    store_statements(service.store, TENANT, prepared.statements, authority=AUTHORITY,
                     writer="bench", sealed=prepared.sealed, identities=prepared.identities)
    service.privacy.remember(prepared)


class TimedPurge:
    """The store, timing `purge_deleted` (the WAL checkpoint and truncation)."""

    def __init__(self, store: Storage) -> None:
        self._store = store
        self.purges: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def purge_deleted(self) -> bool:
        started = time.perf_counter()
        try:
            return self._store.purge_deleted()
        finally:
            self.purges.append(time.perf_counter() - started)


def set_secure_delete(store: Storage, on: bool) -> None:
    """The one setting measured here; the store offers no way to turn it off, on purpose
    (this process's only connection: the bench is single-threaded)."""
    store._db.conn.execute(f"PRAGMA secure_delete={'ON' if on else 'OFF'}")


def wal_mib(path: Path) -> float:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size / 2**20 if wal.exists() else 0.0


def spread(values: list[float], unit: float = 1000.0) -> str:
    scaled = [v * unit for v in values]
    return f"{statistics.median(scaled):,.0f} [{min(scaled):,.0f}-{max(scaled):,.0f}]"


@contextmanager
def service_on(uri: str, master_key: str) -> Iterator[tuple[LearningRecordStore, TimedPurge]]:
    settings = load_config({"storage_uri": uri, "master_key": master_key,
                            "authority_home_page": "https://lrs.invalid"}, {})
    store = TimedPurge(open_storage(uri))
    service = LearningRecordStore(store, load_privacy(settings), settings)
    try:
        yield service, store
    finally:
        store.close()


def ingest(service: LearningRecordStore, count: int, rng: random.Random) -> tuple[float, float]:
    """Store `count` more statements in batches of 100 (what clients do); seconds taken,
    wall clock and CPU."""
    registrations = [str(uuid.uuid4()) for _ in range(100)]
    batches = [[make_statement(rng, registrations, []) for _ in range(100)]
               for _ in range(count // 100)]
    for statement in (s for batch in batches for s in batch):
        statement.setdefault("id", str(uuid.uuid4()))
    view = service.tenants.get(TENANT)
    started, cpu = time.perf_counter(), time.process_time()
    for batch in batches:
        _store(service, view, batch)
    return time.perf_counter() - started, time.process_time() - cpu


def measure(path: Path, master_key: str, args: argparse.Namespace, secure: bool) -> None:
    """On a copy of the built store: before each erasure, `--ingest` statements as clients
    would send them (so the WAL holds what a live store's would), then the erasure; then
    retention."""
    work = path.with_name(f"work-{os.getpid()}.db")
    for suffix in ("", "-wal"):
        if Path(f"{path}{suffix}").exists():
            shutil.copyfile(f"{path}{suffix}", f"{work}{suffix}")
    uri = f"sqlite:///{work}"
    label = f"secure_delete {'on' if secure else 'off'}"
    rng = random.Random(7)
    try:
        with service_on(uri, master_key) as (service, store):
            set_secure_delete(store, secure)
            times, cpus, counts, ingested, ingest_cpu = [], [], [], 0.0, 0.0
            for n in range(args.targets):
                wall, cpu = ingest(service, args.ingest, rng)
                ingested += wall
                ingest_cpu += cpu
                if n == 0:
                    started = time.perf_counter()
                    dry = service.erasure.erase(OPERATOR, target(0), dry_run=True)
                    print(f"  dry run, target 0: {(time.perf_counter() - started) * 1000:,.0f} ms,"
                          f" counts {dry['counts']}")
                wal = wal_mib(work)
                started, cpu = time.perf_counter(), time.process_time()
                receipt = service.erasure.erase(OPERATOR, target(n))
                times.append(time.perf_counter() - started)
                cpus.append(time.process_time() - cpu)
                counts.append(receipt["counts"]["statements"])
                print(f"  erase target {n}: {times[-1] * 1000:,.0f} ms ({cpus[-1] * 1000:,.0f} ms"
                      f" CPU), of which WAL checkpoint"
                      f" {store.purges[-1] * 1000:,.0f} ms ({wal:,.1f} MiB of WAL before);"
                      f" {receipt['counts']['statements']} statements +"
                      f" {receipt['counts']['referring_statements']} referring,"
                      f" purged={receipt['purged']}")
            checkpoints = store.purges[-len(times):]
            print(f"{label}: erasing a learner with {statistics.median(counts):,.0f} statements:"
                  f" {spread(times)} ms (median [range] of {len(times)}), CPU {spread(cpus)} ms;"
                  f" of which WAL checkpoint {spread(checkpoints)} ms; without it"
                  f" {spread([t - c for t, c in zip(times, checkpoints, strict=True)])} ms")
            print(f"{label}: ingest between the erasures, batches of 100:"
                  f" {args.ingest * args.targets / ingested:,.0f} statements/s,"
                  f" {args.ingest * args.targets / ingest_cpu:,.0f} per CPU second")
            oldest = service.store.atomically(
                lambda tx: tx.statements_before(TENANT, "9999", args.retention + 1)
            )[-1].stored
            started, cpu = time.perf_counter(), time.process_time()
            result = delete_before(store, TENANT, oldest)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            print(f"{label}: retention of the oldest {result.statements:,} statements"
                  f" ({result.attachments} attachments, {result.documents} documents):"
                  f" {elapsed:,.1f} s ({cpu:,.1f} s CPU), {result.statements / elapsed:,.0f}"
                  f" statements/s, of which WAL checkpoint {store.purges[-1] * 1000:,.0f} ms")
    finally:
        for suffix in ("", "-wal", "-shm", "-writer"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--targets", type=int, default=5)
    parser.add_argument("--per-learner", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--ingest", type=int, default=5_000)
    parser.add_argument("--retention", type=int, default=100_000)
    parser.add_argument("--store", type=Path, default=None,
                        help="the built store: reused when it exists (its key beside it)")
    parser.add_argument("--keep", action="store_true", help="keep a store built in /tmp")
    parser.add_argument("--only", choices=("on", "off"), default=None)
    args = parser.parse_args()
    path = args.store or Path(tempfile.mkdtemp(prefix="lrs-erasure-")) / "lrs.db"
    key_file = path.with_name(path.name + ".key")
    fresh = not path.exists()
    if fresh:
        master_key = encode_key(secrets.token_bytes(32))
        key_file.write_text(master_key)
        with service_on(f"sqlite:///{path}", master_key) as (service, _):
            rate = build(service, args.count, args.targets, args.per_learner, args.batch)
        print(f"built {args.count:,} statements at {rate:,.0f} statements/s in {path}")
    master_key = key_file.read_text()
    size = sum(os.path.getsize(p) for p in (path, f"{path}-wal") if os.path.exists(p))
    print(f"store: {size / 1e9:,.2f} GB; load average {os.getloadavg()[0]:.2f}")
    for secure in (True, False):
        if args.only is None or args.only == ("on" if secure else "off"):
            measure(path, master_key, args, secure)
    if fresh and args.store is None and not args.keep:
        shutil.rmtree(path.parent)


if __name__ == "__main__":
    main()

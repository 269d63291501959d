"""Storage throughput and query latency on a realistic store.

Inserts N statements (default 100,000) in batches of 100 through `store_statements` (stamping,
conflict lookups, records, one transaction per batch), then times each Communication 2.1.3
filter (median and p95 over random filter values, one page of `--limit` statements).

About 1% of the statements refer to another one (StatementRef), and a few void one.

Run from the repository root:
    python -m bench.storage [--count N] [--uri sqlite:////tmp/bench.db]
(`python bench/storage.py` would import this file as `storage`.)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable

from lrs.service.ingest import store_statements
from statements import agent_key, parse_timestamp, stored_timestamp, validate_statements
from storage import StatementFilter, open_storage

BATCH = 100
TENANT = "bench"
VERBS = [
    "http://adlnet.gov/expapi/verbs/experienced",
    "http://adlnet.gov/expapi/verbs/attempted",
    "http://adlnet.gov/expapi/verbs/completed",
    "http://adlnet.gov/expapi/verbs/passed",
    "http://adlnet.gov/expapi/verbs/failed",
    "http://adlnet.gov/expapi/verbs/answered",
]
CONFIRMED = "http://example.org/verbs/confirmed"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
COURSES = [f"https://courses.example.org/course/{c}" for c in range(50)]
LEARNERS = [
    {"objectType": "Agent", "name": f"Learner {n}", "mbox": f"mailto:learner{n}@example.org"}
    for n in range(2000)
]
INSTRUCTORS = [
    {"objectType": "Agent", "name": f"Teacher {n}", "mbox": f"mailto:teacher{n}@example.org"}
    for n in range(40)
]
AUTHORITY = {"objectType": "Agent", "mbox": "mailto:lrs-client@example.org", "name": "Client"}


def module_id(course: str, module: int) -> str:
    return f"{course}/module/{module}"


def make_statement(rng: random.Random, registrations: list[str], recent: list[str]) -> dict:
    """A ~1 KB statement: learner, verb, a module activity with its definition, result,
    context with registration, instructor and contextActivities; sometimes a StatementRef."""
    learner = rng.choice(LEARNERS)
    roll = rng.random()
    if recent and roll < 0.01:
        return {
            "actor": rng.choice(INSTRUCTORS),
            "verb": {"id": CONFIRMED, "display": {"en-US": "confirmed"}},
            "object": {"objectType": "StatementRef", "id": rng.choice(recent)},
        }
    if recent and roll < 0.012:
        return {
            "actor": AUTHORITY,
            "verb": {"id": VOIDED, "display": {"en-US": "voided"}},
            "object": {"objectType": "StatementRef", "id": recent.pop(rng.randrange(len(recent)))},
        }
    course = rng.choice(COURSES)
    module = module_id(course, rng.randrange(12))
    verb = rng.choice(VERBS)
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "actor": learner,
        "verb": {"id": verb, "display": {"en-US": verb.rsplit("/", 1)[1]}},
        "object": {
            "objectType": "Activity",
            "id": module,
            "definition": {
                "name": {"en-US": f"Module {module.rsplit('/', 1)[1]}", "fr-FR": "Module"},
                "description": {"en-US": "A module of a course about numeracy and literacy."},
                "type": "http://adlnet.gov/expapi/activities/module",
                "extensions": {"https://example.org/ext/level": rng.randrange(1, 6)},
            },
        },
        "result": {
            "score": {"scaled": round(rng.random(), 2), "raw": rng.randrange(101), "min": 0,
                      "max": 100},
            "success": rng.random() < 0.7,
            "completion": True,
            "duration": f"PT{rng.randrange(1, 3600)}S",
        },
        "context": {
            "registration": rng.choice(registrations),
            "instructor": rng.choice(INSTRUCTORS),
            "contextActivities": {
                "parent": [{"id": course}],
                "grouping": [{"id": "https://courses.example.org/programme/primary"}],
                "category": [{"id": "https://example.org/profiles/school"}],
            },
            "platform": "Example Mobile App",
            "language": "en-US",
            "extensions": {"https://example.org/ext/country": rng.choice(["KE", "SN", "NG"])},
        },
        "timestamp": "2024-03-18T12:17:00.123+00:00",
    }


def insert(store: object, count: int, rng: random.Random) -> tuple[float, float, list[str]]:
    registrations = [str(uuid.uuid4()) for _ in range(5000)]
    recent: list[str] = []
    batches = []
    for _ in range(count // BATCH):
        raw = [make_statement(rng, registrations, recent) for _ in range(BATCH)]
        batch = validate_statements(raw)
        recent = [s["id"] for s in batch if "id" in s][-50:] + recent[:200]
        batches.append(batch)
    elapsed = cpu = 0.0
    for batch in batches:
        start, start_cpu = time.perf_counter(), time.process_time()
        store_statements(store, TENANT, batch, authority=AUTHORITY, writer="bench-client")
        elapsed += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
    return count / elapsed, count / cpu, registrations


def timed(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--uri", default=None, help="default: a new SQLite file in /tmp")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    uri = args.uri or f"sqlite:///{tempfile.mkdtemp(prefix='lrs-bench-')}/bench.db"
    rng = random.Random(42)
    store = open_storage(uri)
    try:
        rate, cpu_rate, registrations = insert(store, args.count, rng)
        print(f"store_statements: {args.count} statements in batches of {BATCH}: "
              f"{rate:,.0f} statements/s wall clock, {cpu_rate:,.0f} per CPU second ({uri})")
        newest = store.query_statements(TENANT, StatementFilter(), 1)[0].stored
        oldest = store.query_statements(TENANT, StatementFilter(ascending=True), 1)[0].stored
        page = store.query_statements(TENANT, StatementFilter(), args.limit)
        cursor = (page[-1].stored, page[-1].id)

        def learner() -> str:
            key = agent_key(rng.choice(LEARNERS))
            assert key is not None
            return key

        first, last = parse_timestamp(oldest), parse_timestamp(newest)
        middle = stored_timestamp(first + (last - first) / 2)

        cases: dict[str, Callable[[], StatementFilter]] = {
            "no filter": lambda: StatementFilter(),
            "no filter, ascending": lambda: StatementFilter(ascending=True),
            "no filter, page 2": lambda: StatementFilter(after=cursor),
            "agent": lambda: StatementFilter(agent=learner()),
            "agent, ascending": lambda: StatementFilter(agent=learner(), ascending=True),
            "agent + related_agents": lambda: StatementFilter(
                agent=learner(), related_agents=True
            ),
            "instructor, related_agents": lambda: StatementFilter(
                agent=agent_key(rng.choice(INSTRUCTORS)), related_agents=True
            ),
            "verb": lambda: StatementFilter(verb=rng.choice(VERBS)),
            "activity (module)": lambda: StatementFilter(
                activity=module_id(rng.choice(COURSES), rng.randrange(12))
            ),
            "activity (course), related_activities": lambda: StatementFilter(
                activity=rng.choice(COURSES), related_activities=True
            ),
            "registration": lambda: StatementFilter(registration=rng.choice(registrations)),
            "agent + verb": lambda: StatementFilter(agent=learner(), verb=rng.choice(VERBS)),
            "agent + activity (course, related)": lambda: StatementFilter(
                agent=learner(), activity=rng.choice(COURSES), related_activities=True
            ),
            "verb + since/until": lambda: StatementFilter(
                verb=rng.choice(VERBS), since=oldest, until=middle
            ),
            "agent + since (middle)": lambda: StatementFilter(agent=learner(), since=middle),
            "writer (statements/read/mine)": lambda: StatementFilter(writer="bench-client"),
            "rare verb (confirmed)": lambda: StatementFilter(verb=CONFIRMED),
        }
        print(f"query_statements, limit {args.limit}, {args.repeat} runs each:")
        print(f"  {'filter':<40} {'median ms':>10} {'p95 ms':>8}")
        for name, make in cases.items():
            median, p95 = timed(
                lambda make=make: store.query_statements(TENANT, make(), args.limit),
                args.repeat,
            )
            print(f"  {name:<40} {median:>10.2f} {p95:>8.2f}")
        if uri.startswith("sqlite:///") and args.uri is None:
            path = uri[len("sqlite:///") :]
            size = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
            print(f"database size: {size / 1e6:,.0f} MB")
    finally:
        store.close()


if __name__ == "__main__":
    main()

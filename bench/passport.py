"""A Learning-Passport-shaped stream of statements for the report benchmarks: learners with
three demographic dimensions taking courses of modules over a year, in sessions.

Shape (defaults): 20,000 learners (region, age band, gender; one in fifty moves region
once), 20 courses of 10 modules; course popularity is skewed so the most popular course
has about a quarter of the learners (about 5,000); each learner takes a few courses, each
started on a random day of 2024 and followed in sessions of one to three modules, one to
seven days apart, dropping out as they go. A module is `attempted`, often `completed` (with
a duration) and then `passed` or `failed` (with a scaled score); a course is `launched` and,
when every module is completed, `completed` and `passed`. Statements name their course as
`context.contextActivities.parent`. Generation stops at `count` statements.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

ADL = "http://adlnet.gov/expapi/verbs/"
REGION = "https://passport.example.org/ext/region"
AGE_BAND = "https://passport.example.org/ext/age-band"
GENDER = "https://passport.example.org/ext/gender"
DIMENSIONS = {"region": REGION, "age_band": AGE_BAND, "gender": GENDER}
REGIONS = ["north", "south", "east", "west", "central", "coast"]
AGE_BANDS = ["6-9", "10-12", "13-15", "16-18"]
GENDERS = ["female", "male", "other"]
YEAR = datetime(2024, 1, 1, tzinfo=UTC)


def course_id(number: int) -> str:
    return f"https://passport.example.org/courses/{number}"


def module_id(course: int, module: int) -> str:
    return f"{course_id(course)}/modules/{module}"


def statements(
    count: int = 1_000_000, learners: int = 20_000, courses: int = 20, modules: int = 10,
    seed: int = 12,
) -> Iterator[dict[str, Any]]:
    """`count` statements (module docstring), each with its id; not in time order."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** 0.6 for rank in range(courses)]
    people = [
        [rng.choice(REGIONS), rng.choice(AGE_BANDS), rng.choice(GENDERS)]
        for _ in range(learners)
    ]
    made = 0
    while True:
        for number in rng.sample(range(learners), learners):
            for course in _choose(rng, weights, rng.randint(2, 6)):
                for statement in _enrolment(rng, number, people[number], course, modules):
                    yield statement
                    made += 1
                    if made == count:
                        return


def _choose(rng: random.Random, weights: list[float], k: int) -> list[int]:
    chosen: dict[int, None] = {}
    while len(chosen) < min(k, len(weights)):
        chosen[rng.choices(range(len(weights)), weights)[0]] = None
    return list(chosen)


def _enrolment(
    rng: random.Random, learner: int, person: list[str], course: int, modules: int
) -> Iterator[dict[str, Any]]:
    day = YEAR + timedelta(days=rng.randrange(360), seconds=rng.randrange(8 * 3600, 18 * 3600))
    if rng.random() < 0.02:
        person[0] = rng.choice(REGIONS)
    yield _statement(rng, learner, person, "launched", course_id(course), day, parent=None)
    completed = 0
    module = 0
    while module < modules and rng.random() < 0.75:
        for _ in range(rng.randint(1, 3)):
            if module == modules:
                break
            target = module_id(course, module)
            day += timedelta(minutes=rng.randrange(2, 20))
            yield _statement(rng, learner, person, "attempted", target, day, course)
            if rng.random() < 0.7:
                completed += 1
                day += timedelta(minutes=rng.randrange(5, 40))
                yield _statement(rng, learner, person, "completed", target, day, course,
                                 result={"completion": True,
                                         "duration": f"PT{rng.randrange(120, 2400)}S"})
                if rng.random() < 0.5:
                    score = round(rng.betavariate(5, 2), 2)
                    verb = "passed" if score >= 0.6 else "failed"
                    yield _statement(rng, learner, person, verb, target, day, course,
                                     result={"success": verb == "passed",
                                             "score": {"scaled": score}})
            module += 1
        day += timedelta(days=rng.randint(1, 7))
    if completed == modules:
        yield _statement(rng, learner, person, "completed", course_id(course), day, None,
                         result={"completion": True})
        yield _statement(rng, learner, person, "passed", course_id(course), day, None,
                         result={"success": True})


def _statement(
    rng: random.Random,
    learner: int,
    person: list[str],
    verb: str,
    activity: str,
    when: datetime,
    parent: int | None,
    result: dict[str, Any] | None = None,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "platform": "Learning Passport",
        "extensions": {REGION: person[0], AGE_BAND: person[1], GENDER: person[2]},
    }
    if parent is not None:
        context["contextActivities"] = {"parent": [{"id": course_id(parent)}]}
    statement: dict[str, Any] = {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "actor": {"objectType": "Agent", "account": {
            "homePage": "https://passport.example.org", "name": f"learner-{learner}"}},
        "verb": {"id": ADL + verb, "display": {"en-US": verb}},
        "object": {"objectType": "Activity", "id": activity, "definition": {
            "type": "http://adlnet.gov/expapi/activities/"
                    + ("course" if parent is None else "module"),
            "name": {"en-US": activity.rsplit("/", 1)[-1]}}},
        "context": context,
        "timestamp": when.isoformat().replace("+00:00", "Z"),
    }
    if result is not None:
        statement["result"] = result
    return statement


# -- the benchmark ----------------------------------------------------------------------------

USAGE = """
    python -m bench.passport [--count 1000000] [--ingest-sample 20000 (0: none)] [--repeat 5]
                             [--store PATH]   (a SQLite file: built when missing, else
                                               reused; default: a temporary file)
                             [--backend mongo [--mongo-uri URI]]  (MongoDB: a SecantusDB
                                               started for the run unless a URI is given)
(`python bench/passport.py` would import bench/storage.py as `storage`.)

Builds the store (statements written through `storage.commands.insert_statements` in
batches of 1,000, as the service writes them: on SQLite their report fields wait and are
folded into facts and summaries past the backlog; a first report then folds the rest, timed
apart), then times each report through the service core (`lrs.service.reports`: the database's
work plus suppression and rendering into rows; median of --repeat runs), then the ingest
of --ingest-sample statements through the service core (validation, pseudonymization,
storage) into two fresh stores, the reporting machinery on and off (off: no report fields,
so no facts or summaries are written), in alternating blocks, in CPU time per statement;
on SQLite also with the folding of what waits after each block. Prints figures; asserts
nothing.
"""


def _principal(tenant: str = "default") -> Any:
    from lrs.service import Principal

    return Principal("bench", tenant, frozenset({"reports", "statements/read", "all"}),
                     {"objectType": "Agent", "account": {"homePage": "https://b", "name": "b"}})


def _service(uri: str, master_key: str) -> Any:
    from lrs.config import load_config
    from lrs.service import LearningRecordStore

    return LearningRecordStore.open(load_config({
        "storage_uri": uri, "master_key": master_key, "dimensions": DIMENSIONS,
        "min_group_size": 10,
    }, {}))


def build_store(uri: str, count: int) -> float:
    """Write `count` statements into the store at `uri`; the seconds it took."""
    import time

    from statements import stored_timestamp
    from storage import ReportFilter, build_record, open_storage
    from storage.commands import insert_statements

    store = open_storage(uri)
    started = time.perf_counter()
    clock = datetime(2025, 1, 1, tzinfo=UTC)
    batch = []
    iris = list(DIMENSIONS.values())
    for made, statement in enumerate(statements(count), 1):
        clock += timedelta(microseconds=10)
        statement["stored"] = stored_timestamp(clock)
        batch.append(build_record(statement, writer="bench", dimensions=iris))
        if len(batch) == 1000:
            insert_statements(store, "default", batch)
            batch = []
            if made % 100_000 == 0:
                print(f"  {made:,} statements, {time.perf_counter() - started:.0f} s",
                      flush=True)
    insert_statements(store, "default", batch)
    folding = time.perf_counter()
    store.report_modules("default", ReportFilter(course=course_id(0)))  # folds what waits
    print(f"  the first report after the build: {time.perf_counter() - folding:.1f} s")
    store.close()
    return time.perf_counter() - started


def time_reports(uri: str, master_key: str, repeat: int) -> None:
    import statistics
    import time

    from lrs.service.reports import parse_indicators, parse_modules, parse_progress

    service = _service(uri, master_key)
    policy = service.tenants.get("default").policy
    principal = _principal()
    year = {"since": ["2024-01-01T00:00:00Z"], "until": ["2025-01-01T00:00:00Z"]}
    top = course_id(0)
    cases = [
        ("indicators, a year weekly by course and region", lambda: service.reports.indicators(
            principal, parse_indicators({**year, "group_by": ["course,region"]}, policy))),
        ("indicators, a year weekly, tenant-wide", lambda: service.reports.indicators(
            principal, parse_indicators(year, policy))),
        ("indicators, a year monthly by region, age band, gender", lambda:
            service.reports.indicators(principal, parse_indicators(
                {**year, "interval": ["month"], "group_by": ["region,age_band,gender"]},
                policy))),
        ("indicators, a year weekly, verb=completed (from the facts)", lambda:
            service.reports.indicators(principal, parse_indicators(
                {**year, "verb": [ADL + "completed"]}, policy))),
        ("progress, first page (100) of the largest course", lambda: service.reports.progress(
            principal, parse_progress({"course": [top]}, policy))),
        ("progress, first page, region=north", lambda: service.reports.progress(
            principal, parse_progress({"course": [top], "region": ["north"]}, policy))),
        ("modules of the largest course", lambda: service.reports.modules(
            principal, parse_modules({"course": [top]}, policy))),
    ]
    learners = service.store.report_modules("default", __import__("storage").ReportFilter(
        course=top))[0].attempted
    print(f"largest course: {learners:,} learners attempted its first module")
    for name, run in cases:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            report = run()
            times.append(time.perf_counter() - started)
        print(f"  {name}: median {statistics.median(times) * 1000:.0f} ms, "
              f"min {min(times) * 1000:.0f} ms, first {times[0] * 1000:.0f} ms"
              f" ({len(report.rows)} rows)")
    service.close()


def time_ingest(
    directory: str, master_key: str, sample: int, mongo: str | None = None, blocks: int = 10
) -> None:
    """CPU time per statement through the service core, batches of 100, reporting on and
    off: the same statements into two fresh stores (SQLite files in `directory`, or
    databases of the MongoDB at `mongo`) in `blocks` alternating blocks, so the machine's
    drift and the stores' growth weigh on both alike; on SQLite, also with the folding of
    the "on" store's waiting statements after each of its blocks (what ingest that never
    pauses pays). CPU time, not wall time: a shared machine's steal does not count."""
    import itertools
    import time

    import storage.records
    from bench.secantus import with_database
    from storage import ReportFilter

    original = storage.records.report_fields
    services = {
        label: _service(
            with_database(mongo, f"passport_ingest_{label}") if mongo
            else f"sqlite:///{directory}/ingest-{label}.db",
            master_key,
        )
        for label in ("on", "off")
    }
    principal = _principal()
    # A block at a time: a heap of all the sample's statements made every full garbage
    # collection (which the folding's allocations trigger) cost more than the folding.
    generated = statements(sample, seed=99)
    size = -(-sample // blocks)
    spent = {"on": 0.0, "off": 0.0, "fold": 0.0}
    try:
        while block := list(itertools.islice(generated, size)):
            for label, service in services.items():
                storage.records.report_fields = (  # type: ignore[assignment]
                    original if label == "on" else lambda *args, **kwargs: None
                )
                started = time.process_time()
                for first in range(0, len(block), 100):
                    service.post_statements(principal, block[first:first + 100])
                spent[label] += time.process_time() - started
                if label == "on" and not mongo:
                    started = time.process_time()
                    service.store.report_modules("default", ReportFilter(course=""))
                    spent["fold"] += time.process_time() - started
    finally:
        storage.records.report_fields = original  # type: ignore[assignment]
        for service in services.values():
            service.close()
    on, off, fold = (spent[label] / sample * 1e6 for label in ("on", "off", "fold"))
    print(f"ingest through the service core, {sample:,} statements in batches of 100 per"
          f" mode, {blocks} alternating blocks (CPU us per statement):")
    print(f"  reporting on {on:.0f}, off {off:.0f} ({(on / off - 1) * 100:+.1f} %)")
    if not mongo:
        print(f"  with the folding: on {on + fold:.0f} (folding {fold:.0f}), off {off:.0f}"
              f" ({((on + fold) / off - 1) * 100:+.1f} %)")


def main() -> None:
    import argparse
    import contextlib
    import os
    import secrets
    import tempfile
    from pathlib import Path

    from anonymize.keys import encode_key
    from bench.secantus import secantus_server, with_database

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog=USAGE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--ingest-sample", type=int, default=20_000,
                        help="statements per mode for the ingest figure (0: none)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--store", default=None,
                        help="a SQLite file: built when missing, else reused as it is")
    parser.add_argument("--backend", choices=("sqlite", "mongo"), default="sqlite")
    parser.add_argument("--mongo-uri", default=None,
                        help="a MongoDB server (default: a SecantusDB for the run)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory, contextlib.ExitStack() as stack:
        master_key = encode_key(secrets.token_bytes(32))
        mongo = None
        if args.backend == "mongo":
            mongo = args.mongo_uri or stack.enter_context(secantus_server(Path(directory)))
            uri, build = with_database(mongo, "passport"), True
        else:
            path = args.store or f"{directory}/passport.db"
            uri, build = f"sqlite:///{path}", not os.path.exists(path)
        if build:
            print(f"building {args.count:,} statements ({uri}):", flush=True)
            seconds = build_store(uri, args.count)
            print(f"built in {seconds:.0f} s ({args.count / seconds:,.0f} statements/s)")
        time_reports(uri, master_key, args.repeat)
        if args.ingest_sample > 0:
            time_ingest(directory, master_key, args.ingest_sample, mongo)


if __name__ == "__main__":
    main()

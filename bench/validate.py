"""Validation throughput on a realistic ~1 KB statement, in batches of 100 as the service
receives them. Prints statements/second for:

- repeated: the same statement with fresh ids and timestamps (the verb, activity, context
  and actor repeat, so the sub-object cache answers for them);
- distinct: every statement differs (activity ids, actor, registration, score, extension
  values), so every sub-object is validated in full;
and the microseconds one `statements_equal` takes (run once per re-sent statement).

Run from the repository root: PYTHONPATH=. python bench/validate.py [--count N]
"""

from __future__ import annotations

import argparse
import copy
import time
import uuid

import orjson

from statements import statements_equal, validate_statements

BATCH = 100

BASE = {
    "id": "00000000-0000-4000-8000-000000000000",
    "timestamp": "2024-03-18T12:17:00.123+00:00",
    "actor": {"objectType": "Agent", "name": "Amina Njeri", "mbox": "mailto:amina@example.org"},
    "verb": {
        "id": "http://adlnet.gov/expapi/verbs/completed",
        "display": {"en-US": "completed", "fr": "a terminé"},
    },
    "object": {
        "objectType": "Activity",
        "id": "https://courses.example.org/xapi/activities/algebra-1/module-3/quiz-2",
        "definition": {
            "name": {"en-US": "Quiz 2: linear equations"},
            "description": {"en-US": "Ten questions on solving linear equations in one unknown"},
            "type": "http://adlnet.gov/expapi/activities/assessment",
            "extensions": {"https://courses.example.org/xapi/ext/difficulty": "medium"},
        },
    },
    "result": {
        "score": {"scaled": 0.8, "raw": 8, "min": 0, "max": 10},
        "success": True,
        "completion": True,
        "duration": "PT12M30.5S",
    },
    "context": {
        "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
        "contextActivities": {
            "parent": [{"id": "https://courses.example.org/xapi/activities/algebra-1/module-3"}],
            "grouping": [{"id": "https://courses.example.org/xapi/activities/algebra-1"}],
            "category": [{"id": "https://w3id.org/xapi/cmi5/context/categories/moveon"}],
        },
        "language": "en-US",
        "platform": "Example Learning App 3.2 (Android)",
        "extensions": {
            "https://courses.example.org/xapi/ext/country": "KE",
            "https://courses.example.org/xapi/ext/school": "school-0042",
        },
    },
}


def repeated(count: int) -> list[dict]:
    statements = []
    for index in range(count):
        statement = copy.deepcopy(BASE)
        statement["id"] = str(uuid.uuid4())
        statement["timestamp"] = f"2024-03-18T12:{index // 60 % 60:02d}:{index % 60:02d}.123Z"
        statements.append(statement)
    return statements


def distinct(count: int) -> list[dict]:
    statements = repeated(count)
    for index, statement in enumerate(statements):
        statement["actor"]["mbox"] = f"mailto:learner{index}@example.org"
        statement["object"]["id"] += f"/q{index}"
        statement["object"]["definition"]["extensions"][
            "https://courses.example.org/xapi/ext/difficulty"
        ] = index
        statement["result"]["score"]["raw"] = index % 11
        statement["result"]["score"]["scaled"] = (index % 11) / 10
        statement["context"]["registration"] = str(uuid.uuid4())
        statement["context"]["contextActivities"]["parent"][0]["id"] += f"/p{index}"
        statement["context"]["extensions"]["https://courses.example.org/xapi/ext/school"] = (
            f"school-{index}"
        )
    return statements


def rate(statements: list[dict], rounds: int = 3) -> float:
    """Best of `rounds`, in statements per second of this process's CPU time: the machine
    is shared, and CPU time is what one gunicorn worker core would spend."""
    best = float("inf")
    for _ in range(rounds):
        # Parse from JSON like the service does, so no object identity is shared.
        batches = [
            orjson.loads(orjson.dumps(statements[start : start + BATCH]))
            for start in range(0, len(statements), BATCH)
        ]
        begin = time.process_time()
        for batch in batches:
            validate_statements(batch)
        best = min(best, time.process_time() - begin)
    return len(statements) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    args = parser.parse_args()
    size = len(orjson.dumps(BASE))
    print(f"statement size: {size} bytes, batches of {BATCH}, {args.count} statements")
    for name, build in (("repeated", repeated), ("distinct", distinct)):
        statements = build(args.count)
        rate(statements[: BATCH * 5], rounds=1)  # warm up
        print(f"{name:>9}: {rate(statements):>9,.0f} statements/s (CPU time, one core)")
    other = copy.deepcopy(BASE)
    started = time.process_time()
    for _ in range(args.count):
        statements_equal(BASE, other)
    per_call = (time.process_time() - started) / args.count
    print(f"  compare: {per_call * 1e6:9.1f} us per statements_equal (CPU time, one core)")


if __name__ == "__main__":
    main()

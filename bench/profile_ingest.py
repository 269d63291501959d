"""In-process profile of the write path: POST /xapi/statements through the Flask test client
(no HTTP, no gunicorn) on a temporary SQLite store, with pseudonymization on as by default.

Warms the store with `--warm` statements (so index pages are realistic), then times
`--batches` POSTs of `--batch` distinct statements (bench/load_client.py's Learning-Passport
shape) and prints statements/s, the CPU time per statement (`time.process_time`: less
sensitive than wall time to other processes on a shared machine), a split per stage
(authentication, body parse, validation, pseudonymization, records, SQLite insert) in CPU
time of the calling thread, measured by wrapping those functions, and the top cProfile
entries. Compare runs by the CPU figures; wall throughput moves with the machine's load.

Run from the repository root:
    python -m bench.profile_ingest [--batches 200] [--batch 100] [--warm 20000]
                                   [--pseudonymize on|off] [--sort tottime] [--top 30]
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import functools
import pstats
import random
import secrets
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

import lrs.service.ingest
import lrs.service.privacy
import lrs.service.statements
import lrs.statements
import storage.sqlite.backend
import storage.sqlite.statements
from anonymize.keys import encode_key
from bench.load_client import make_statement
from lrs import create_app
from lrs.extension import EXTENSION
from lrs.service.credentials import new_credential

HOME_PAGE = "http://lrs.example.com"
_spent: dict[str, float] = defaultdict(float)


def timed(
    name: str, function: Callable[..., Any], spent: dict[str, float] = _spent
) -> Callable[..., Any]:
    """`function`, adding the calling thread's CPU time in it to `spent[name]`."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.thread_time() - started

    return wrapper


def _instrument(app: Any) -> None:
    """Stage timers around the functions the write path calls by module attribute."""
    authenticator = app.extensions[EXTENSION].authenticator
    authenticator.authenticate = timed("authenticate", authenticator.authenticate)
    lrs.statements.json_body = timed("body parse (JSON)", lrs.statements.json_body)
    service = lrs.service.statements
    service.validate_statements = timed("validate", service.validate_statements)
    service.store_statements = timed("store_statements", service.store_statements)
    privacy = lrs.service.privacy.Privacy
    privacy.prepare = timed("privacy.prepare", privacy.prepare)  # type: ignore[method-assign]
    ingest = lrs.service.ingest
    ingest.build_record = timed("  build_record", ingest.build_record)
    sqlite = storage.sqlite.backend.SQLiteStorage
    sqlite.get_statements = timed(  # type: ignore[method-assign]
        "  sqlite get (known ids)", sqlite.get_statements
    )
    sqlite.atomically = timed(  # type: ignore[method-assign]
        "  sqlite write transaction (commit)", sqlite.atomically
    )
    rows = storage.sqlite.statements
    rows.insert = timed("    sqlite statement rows", rows.insert)


def posting_app(
    directory: Path, *, pseudonymize: bool, dimensions: dict[str, str] | None = None
) -> tuple[Any, Callable[[list[bytes]], None]]:
    """An app on a fresh SQLite store in `directory` (with these report dimensions, name
    to extension IRI) and a function POSTing bodies of statements to it through the Flask
    test client with an `all` credential."""
    app = create_app({
        "storage_uri": f"sqlite:///{directory / 'lrs.db'}",
        "authority_home_page": HOME_PAGE,
        "pseudonymize": pseudonymize,
        "master_key": encode_key(secrets.token_bytes(32)),
        "max_body_bytes": 50 * 1024 * 1024,
        "dimensions": dimensions or {},
    })
    credential, secret = new_credential(["all"], home_page=HOME_PAGE, tenant="default")
    app.extensions[EXTENSION].store.put_credential(credential)
    headers = {
        "Authorization": "Basic "
        + base64.b64encode(f"{credential.key}:{secret}".encode()).decode(),
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": "application/json",
    }
    client = app.test_client()

    def post_all(bodies: list[bytes]) -> None:
        for body in bodies:
            response = client.post("/xapi/statements", data=body, headers=headers)
            assert response.status_code == 200, response.data[:300]

    return app, post_all


def batch_bodies(rng: random.Random, count: int, batch: int) -> list[bytes]:
    """`count` request bodies of `batch` bench.load_client statements each."""
    return [orjson.dumps([make_statement(rng) for _ in range(batch)]) for _ in range(count)]


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--warm", type=int, default=20_000)
    parser.add_argument("--pseudonymize", choices=("on", "off"), default="on")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="lrs-profile-"))
    app, post_all = posting_app(directory, pseudonymize=args.pseudonymize == "on")
    rng = random.Random(1)

    def bodies(count: int) -> list[bytes]:
        return batch_bodies(rng, count, args.batch)

    post_all(bodies(args.warm // args.batch))
    measured = bodies(args.batches)
    total = args.batches * args.batch

    started, cpu = time.perf_counter(), time.process_time()
    post_all(measured[: args.batches // 2])
    plain, plain_cpu = time.perf_counter() - started, time.process_time() - cpu
    half = args.batches // 2 * args.batch
    print(f"store: {directory}, pseudonymization {args.pseudonymize}, warm {args.warm:,}, "
          f"batch {args.batch}, load average {_loadavg()}")
    print(f"unprofiled: {half / plain:,.0f} statements/s ({plain / half * 1e6:.0f} us wall, "
          f"{plain_cpu / half * 1e6:.0f} us CPU each)")

    _instrument(app)
    rest = measured[args.batches // 2 :]
    count = total - half
    started = time.thread_time()
    post_all(rest[: len(rest) // 2])
    staged = time.thread_time() - started
    staged_count = len(rest) // 2 * args.batch
    print(f"CPU per statement by stage ({staged_count:,} statements, "
          f"{staged / staged_count * 1e6:.0f} us each in all; indented: inside the one above):")
    for name, seconds in _spent.items():
        print(f"  {name:<36} {seconds / staged_count * 1e6:7.1f} us")
    outside = staged - sum(v for k, v in _spent.items() if not k.startswith(" "))
    print(f"  {'rest (Flask, request, response)':<36} {outside / staged_count * 1e6:7.1f} us")

    profiler = cProfile.Profile()
    profiler.enable()
    post_all(rest[len(rest) // 2 :])
    profiler.disable()
    count -= staged_count
    print(f"cProfile ({count:,} statements):")
    pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()

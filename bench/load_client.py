"""Ingest and query figures from a cheap multi-process load client (issue 17's shape).

Starts `lrs serve` (gunicorn) on a free loopback port with a fresh embedded SQLite store and
pseudonymization on (a fresh key file), creates a credential with the `lrs` command, then:
  * statements/s at batch 1, 10 and 100 from `--processes` client processes (4), each on one
    keep-alive connection, posting request bodies built before the clock starts
    (Learning-Passport-shaped statements: 2,000 learners with names and e-mail addresses,
    course and module activities, two demographic context extensions; or, with
    `--shape passport`, bench/passport.py's: learners in sessions over a year, one course
    each, its three dimensions, which the server is then configured to keep);
  * the gunicorn workers' CPU time per statement stored at each batch size (user + system,
    from /proc: on a shared machine less moved by other jobs than statements/s);
  * peak RSS (VmHWM) of each gunicorn worker;
  * with --get: GET median and p95 per filter (agent, verb, activity, registration, since,
    until, since+until, related_activities) once the store holds --statements statements
    (default 1,000,000). Filling the store goes through the same HTTP path at batch 100 and
    takes long: at 3,000-4,000 statements/s about five minutes per million, more on a loaded
    machine; pass e.g. --statements 100000 for a quicker run.
Prints figures with the command line and the load average (/proc/loadavg) before and after:
the clients share the machine with the server (and, on a shared machine, with whatever else
runs), so the figures are a floor and move with the load. Asserts nothing.

Run from the repository root (only the repository's dependencies are needed):
    python -m bench.load_client [--processes 4] [--seconds 5] [--budget 60000]
                                [--workers 2] [--shape load|passport] [--threads N] [--get]
                                [--statements 1000000] [--repeat 100] [--lrs PATH]
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlencode

import orjson

from bench import passport
from bench.ingest import LRS, Client, free_port, lrs_cmd, worker_rss

HOST = "127.0.0.1"
LEARNERS = 2000
FIRST = ("Amina", "Bilal", "Chen", "Dalia", "Emeka", "Farah", "Goran", "Hana", "Ines", "Jamal")
LAST = ("Okafor", "Haddad", "Nguyen", "Rahimi", "Kovac", "Mensah", "Silva", "Tanaka", "Ali")
COURSES = [f"https://learningpassport.example/courses/{i}" for i in range(40)]
VERBS = ["http://adlnet.gov/expapi/verbs/" + v for v in
         ("completed", "attempted", "passed", "failed", "experienced", "progressed")]
GENDERS = ("female", "male", "other", "undisclosed")
AGE_BANDS = ("6-9", "10-13", "14-17", "18-24", "25+")
GENDER_EXT = "https://learningpassport.example/xapi/extensions/gender"
AGE_EXT = "https://learningpassport.example/xapi/extensions/age-band"
# Fixed seeds: every run posts the same learners and registrations (ids stay fresh).
_SEEDED = random.Random(17)
REGISTRATIONS = [str(uuid.UUID(int=_SEEDED.getrandbits(128), version=4)) for _ in range(500)]
PROFILES = [(_SEEDED.choice(GENDERS), _SEEDED.choice(AGE_BANDS)) for _ in range(LEARNERS)]


def learner(index: int) -> dict[str, Any]:
    """Learner `index` as a Learning Passport client sends it: a name and an e-mail."""
    name = f"{FIRST[index % len(FIRST)]} {LAST[index % len(LAST)]} {index}"
    return {"objectType": "Agent", "name": name,
            "mbox": f"mailto:learner{index}@school{index % 37}.example.org"}


def make_statement(rng: random.Random) -> dict[str, Any]:
    """A Learning-Passport-shaped statement (~1 KB): a learner's progress on a module of a
    course, with result, registration, the course as parent and two demographic extensions."""
    index = rng.randrange(LEARNERS)
    course = rng.choice(COURSES)
    module = rng.randrange(12)
    verb = rng.choice(VERBS)
    gender, age_band = PROFILES[index]
    return {
        "id": str(uuid.uuid4()),
        "actor": learner(index),
        "verb": {"id": verb, "display": {"en-US": verb.rsplit("/", 1)[1]}},
        "object": {
            "objectType": "Activity",
            "id": f"{course}/modules/{module}",
            "definition": {
                "name": {"en-US": f"Module {module}", "fr-FR": f"Module {module}"},
                "description": {"en-US": "A module of the course, with its exercises."},
                "type": "http://adlnet.gov/expapi/activities/module",
            },
        },
        "result": {
            "score": {"scaled": round(rng.random(), 2), "raw": rng.randrange(100),
                      "min": 0, "max": 100},
            "success": rng.random() > 0.3, "completion": True,
            "duration": f"PT{rng.randrange(1, 3600)}S",
        },
        "context": {
            "registration": rng.choice(REGISTRATIONS),
            "contextActivities": {
                "parent": [{"id": course, "objectType": "Activity"}],
                "grouping": [{"id": "https://learningpassport.example/programmes/primary"}],
                "category": [{"id": "https://learningpassport.example/profiles/lp"}],
            },
            "platform": "Learning Passport app",
            "language": "en-US",
            "extensions": {GENDER_EXT: gender, AGE_EXT: age_band},
        },
        "timestamp": "2026-05-01T10:00:00.000Z",
    }


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def statement_source(shape: str, seed: int) -> Callable[[], dict[str, Any]]:
    """The next statement of a client process, of the shape `--shape` names."""
    if shape == "passport":
        generated = passport.statements(count=1 << 62, seed=seed)
        return lambda: next(generated)
    rng = random.Random(seed)
    return lambda: make_statement(rng)


def _poster(port: int, auth: str, batch: int, count: int, seed: int, seconds: float,
            shape: str, barrier: Any, results: Any) -> None:
    """One client process: build `count` bodies, wait for the others, post until the time
    is up or the bodies run out; report (statements, started, finished, error, CPU seconds
    spent posting)."""
    statement = statement_source(shape, seed)
    bodies = [orjson.dumps([statement() for _ in range(batch)]) for _ in range(count)]
    client = Client(port, auth)
    barrier.wait()
    started, cpu = time.monotonic(), time.process_time()
    stop, posted, error = started + seconds, 0, None
    for body in bodies:
        if time.monotonic() >= stop:
            break
        try:
            status, data = client.request("POST", "/xapi/statements", body)
        except OSError as exc:
            error = repr(exc)
            break
        if status != 200:
            error = f"{status} {data[:200]!r}"
            break
        posted += batch
    results.put((posted, started, time.monotonic(), error, time.process_time() - cpu))


def _filler(port: int, auth: str, count: int, seed: int, results: Any) -> None:
    """One fill process: post `count` batches of 100, built as it goes."""
    rng = random.Random(seed)
    client = Client(port, auth)
    posted, error = 0, None
    for _ in range(count):
        body = orjson.dumps([make_statement(rng) for _ in range(100)])
        status, data = client.request("POST", "/xapi/statements", body)
        if status != 200:
            error = f"{status} {data[:200]!r}"
            break
        posted += 100
    results.put((posted, 0.0, 0.0, error, 0.0))


def _run(
    target: Any, processes: int, args_of: Any
) -> list[tuple[int, float, float, str | None, float]]:
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    extra = (context.Barrier(processes),) if target is _poster else ()
    children = [context.Process(target=target, args=(*args_of(i), *extra, results))
                for i in range(processes)]
    for child in children:
        child.start()
    out = [results.get() for _ in children]
    for child in children:
        child.join()
    return out


def workers_cpu(master_pid: int) -> float:
    """CPU seconds (user + system) the gunicorn workers (children of the master) used."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The fields after the command name, which is in parentheses and may hold spaces.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(master_pid):  # ppid, then utime and stime at 11 and 12
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def post_rate(port: int, auth: str, batch: int, args: argparse.Namespace,
              round_: int) -> tuple[float, int, float]:
    """Statements/s at `batch` from args.processes processes, how many were stored, and the
    clients' CPU seconds spent posting them."""
    per_process = max(args.budget // args.processes // batch, 1)
    out = _run(_poster, args.processes, lambda i: (
        port, auth, batch, per_process, round_ * 1000 + i, args.seconds, args.shape))
    for error in {e for _, _, _, e, _ in out if e}:
        print(f"  a client stopped early: {error}")
    posted = sum(n for n, *_ in out)
    elapsed = max(end for _, _, end, _, _ in out) - min(start for _, start, *_ in out)
    return posted / elapsed, posted, sum(cpu for *_, cpu in out)


def fill(port: int, auth: str, target: int, processes: int) -> int:
    per_process = -(-target // (processes * 100))
    out = _run(_filler, processes, lambda i: (port, auth, per_process, 10_000 + i))
    errors = {e for _, _, _, e, _ in out if e}
    if errors:
        raise RuntimeError(f"fill failed: {sorted(errors)[:3]}")
    return sum(n for n, *_ in out)


def latency(client: Client, path: str, repeat: int) -> tuple[float, float, int]:
    """Median and p95 (ms) of `repeat` GETs of `path`, and the statements of the last."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        status, data = client.request("GET", path)
        times.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {data[:200]!r}")
    times.sort()
    p95 = times[max(int(len(times) * 0.95) - 1, 0)]
    return statistics.median(times), p95, len(json.loads(data)["statements"])


def get_figures(port: int, auth: str, stored: int, repeat: int) -> None:
    client = Client(port, auth)
    newest = json.loads(client.request("GET", "/xapi/statements?limit=1")[1])["statements"][0]
    oldest = json.loads(client.request(
        "GET", "/xapi/statements?limit=1&ascending=true")[1])["statements"][0]
    # A window inside the stored range (`stored` grows with arrival): the middle fifth.
    first, last = (time.mktime(time.strptime(s["stored"][:19], "%Y-%m-%dT%H:%M:%S"))
                   for s in (oldest, newest))
    def at(fraction: float) -> str:
        instant = time.gmtime(first + (last - first) * fraction - time.timezone)
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", instant)
    since, until = at(0.4), at(0.6)
    # The learner as a client names it (e-mail): the LRS pseudonymizes the parameter.
    agent = json.dumps({"mbox": learner(7)["mbox"]})
    course = COURSES[3]
    queries = {
        "agent": {"agent": agent},
        "verb": {"verb": VERBS[0]},
        "activity": {"activity": f"{course}/modules/5"},
        "registration": {"registration": REGISTRATIONS[11]},
        "since": {"since": since},
        "until": {"until": until},
        "since+until": {"since": since, "until": until},
        "activity+related_activities": {"activity": course, "related_activities": "true"},
        "agent+verb": {"agent": agent, "verb": VERBS[0]},
    }
    print(f"GET latency on {stored:,} statements (default page size, {repeat} requests "
          f"each, one keep-alive client), load average {_loadavg()}")
    for name, params in queries.items():
        median, p95, count = latency(client, "/xapi/statements?" + urlencode(params), repeat)
        print(f"  {name:<28} median {median:6.1f} ms  p95 {p95:6.1f} ms  ({count} returned)")


class PostFigure(NamedTuple):
    """One batch size's figures: statements/s, statements stored, and CPU microseconds per
    statement of the gunicorn workers and of the client processes."""

    batch: int
    rate: float
    posted: int
    server_us: float
    client_us: float


@contextmanager
def serving(
    workers: int, threads: int | None = None, shape: str = "load"
) -> Iterator[tuple[int, str, Any, Path]]:
    """`lrs serve` (the `LRS` command) on a free loopback port with a fresh SQLite store
    and pseudonymization on (keeping bench/passport.py's dimensions for its `shape`), and a
    credential of scope `all`: (port, Authorization header, the gunicorn master process,
    the store's directory)."""
    directory = Path(tempfile.mkdtemp(prefix="lrs-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRS_")}
    env.update({
        "LRS_STORAGE_URI": f"sqlite:///{directory / 'lrs.db'}",
        "LRS_MAX_BODY_BYTES": str(50 * 1024 * 1024),
        "LRS_KEY_FILE": str(directory / "master.key"),
        "LRS_PSEUDONYMIZE": "true",
    })
    if shape == "passport":
        env["LRS_DIMENSIONS"] = ",".join(
            f"{name}={iri}" for name, iri in passport.DIMENSIONS.items()
        )
    lrs_cmd("keys", "init", env=env)
    created = json.loads(lrs_cmd("credentials", "create", "--scopes", "all", "--json",
                                 env=env).stdout)
    auth = "Basic " + base64.b64encode(
        f"{created['key']}:{created['secret']}".encode()).decode()
    port = free_port()
    log = (directory / "serve.log").open("wb")
    server = subprocess.Popen(
        [*LRS, "serve", "--host", HOST, "--port", str(port), "--workers", str(workers),
         *(["--threads", str(threads)] if threads else [])],
        env=env, cwd=directory, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                Client(port, auth).request("GET", "/xapi/about")
                break
            except OSError:
                time.sleep(0.1)
        yield port, auth, server, directory
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        log.close()


def post_figures(port: int, auth: str, server: Any, args: argparse.Namespace,
                 report: bool = True) -> list[PostFigure]:
    """POST throughput at batch 1, 10 and 100 (`args.processes`, `args.seconds`,
    `args.budget`), each printed as it is measured when `report`."""
    figures = []
    for round_, batch in enumerate((1, 10, 100)):
        cpu = workers_cpu(server.pid)
        rate, posted, client_cpu = post_rate(port, auth, batch, args, round_)
        cpu = workers_cpu(server.pid) - cpu
        figure = PostFigure(batch, rate, posted, cpu / max(posted, 1) * 1e6,
                            client_cpu / max(posted, 1) * 1e6)
        figures.append(figure)
        if report:
            print(f"  batch {batch:>3}: {rate:>8,.0f} statements/s, server CPU"
                  f" {figure.server_us:,.0f} us each, clients {figure.client_us:,.0f} us"
                  f"  (load average {_loadavg()})")
    return figures


def add_post_arguments(parser: argparse.ArgumentParser, seconds: float) -> None:
    """The options `post_figures` reads (`--processes`, `--seconds`, `--budget`) and the
    workers to pass to `serving`, with `seconds` per batch size by default."""
    parser.add_argument("--processes", type=int, default=4, help="client processes")
    parser.add_argument("--seconds", type=float, default=seconds, help="per batch size")
    parser.add_argument("--budget", type=int, default=60_000,
                        help="statements prepared per batch size (all processes)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--shape", choices=("load", "passport"), default="load",
                        help="the statements posted (module docstring)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_post_arguments(parser, seconds=5.0)
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per worker (default: as `lrs serve`)")
    parser.add_argument("--get", action="store_true",
                        help="also fill the store to --statements and time filtered GETs")
    parser.add_argument("--statements", type=int, default=1_000_000,
                        help="store size for --get (filling a million takes long)")
    parser.add_argument("--repeat", type=int, default=100, help="GETs per filter")
    parser.add_argument("--lrs", default=LRS[0], help="the `lrs` executable to run")
    args = parser.parse_args()
    LRS[0] = args.lrs

    command = " ".join(["python -m bench.load_client", *sys.argv[1:]])
    print(f"command: {command}")
    print(f"load average before: {_loadavg()} ({os.cpu_count()} CPUs)")
    with serving(args.workers, args.threads, args.shape) as (port, auth, server, directory):
        print(f"lrs serve: {args.workers} workers, threads {args.threads or 'default'}, "
              f"SQLite at {directory}, pseudonymization on")
        print(f"POST throughput ({args.processes} client processes, keep-alive, "
              f"{args.seconds:.0f} s each)")
        stored = sum(figure.posted for figure in post_figures(port, auth, server, args))
        if args.get:
            if stored < args.statements:
                started = time.monotonic()
                added = fill(port, auth, args.statements - stored, args.processes)
                elapsed = time.monotonic() - started
                stored += added
                print(f"  fill: {added:,} more in {elapsed:.0f} s ({added / elapsed:,.0f} "
                      f"statements/s at batch 100)")
            get_figures(port, auth, stored, args.repeat)
        print("Peak RSS per worker")
        for pid, rss in sorted(worker_rss(server.pid).items()):
            print(f"  worker {pid}: {rss:.0f} MiB")
    print(f"load average after: {_loadavg()}")


if __name__ == "__main__":
    main()

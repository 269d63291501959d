"""End-to-end ingest and query figures for the real service, per storage backend.

Starts `lrs serve` (gunicorn, 2 workers) on a free loopback port with a fresh store,
creates a credential with the `lrs` command, then measures:
  * statements/s for POSTs of 1, 10 and 100 statements from concurrent keep-alive clients;
  * GET latency (median, p95) per filter once the store holds >= --store-size statements;
  * peak RSS of each worker.
Prints figures; asserts nothing. The clients run on the same machine as the server, so
they take CPU from it: the figures are a floor.

Backends: `sqlite` (a temporary file), `mongo` (a SecantusDB started on a free loopback
port, or the server of --mongo-uri, e.g. a real mongod: the database the URI names, or the
backend's default, should be empty and is left in place), or `both`, which runs one after
the other and prints their figures side by side. SecantusDB is a Python server (index upkeep
and query execution in Python, every matching document fetched then sorted), so its figures
are far below a real mongod's; its store is smaller by default (--mongo-store-size, and
fewer GETs per filter, --mongo-repeat) so that a run takes minutes.

    python bench/ingest.py [--backend sqlite|mongo|both] [--mongo-uri URI]
                           [--clients 4] [--seconds 5] [--store-size 100000]
                           [--mongo-store-size 20000] [--repeat 100] [--mongo-repeat 20]
                           [--pseudonymize on|off]   (on: a fresh key file, as by default)
                           [--threads N]             (per worker; default as `lrs serve`)
                           [--lrs PATH]   (another `lrs` executable, e.g. an older
                                           checkout's virtualenv, to compare)
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

HOST = "127.0.0.1"
LRS = [str(Path(sys.executable).with_name("lrs"))]  # --lrs replaces it
REPO = Path(__file__).resolve().parents[1]
SECANTUS_NOTE = ("SecantusDB is a Python test server (index upkeep and query execution in "
                 "Python, fetch-all-then-sort): its figures are far below a real mongod's.")


def lrs_cmd(*args, env):
    return subprocess.run([*LRS, *args], env=env, capture_output=True, text=True, check=True)


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


COURSES = [f"http://example.com/courses/{i}" for i in range(50)]
VERBS = ["http://adlnet.gov/expapi/verbs/" + v for v in
         ("completed", "attempted", "passed", "failed", "experienced")]
REGISTRATIONS = [str(uuid.uuid4()) for _ in range(200)]


def make_statement(rng: random.Random) -> dict:
    """A realistic ~1 KB statement: course module activity with definition, result,
    context with registration and context activities, extensions."""
    course = rng.choice(COURSES)
    learner = rng.randrange(5000)
    module = rng.randrange(20)
    verb = rng.choice(VERBS)
    return {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "name": f"Learner {learner}",
                  "mbox": f"mailto:learner{learner}@school.example"},
        "verb": {"id": verb, "display": {"en-US": verb.rsplit("/", 1)[1]}},
        "object": {
            "objectType": "Activity",
            "id": f"{course}/modules/{module}",
            "definition": {
                "name": {"en-US": f"Module {module}", "fr-FR": f"Module {module}"},
                "description": {"en-US": "A module of the course with exercises."},
                "type": "http://adlnet.gov/expapi/activities/module",
                "extensions": {"http://example.com/ext/difficulty": rng.randrange(5)},
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
                "grouping": [{"id": "http://example.com/programs/primary"}],
                "category": [{"id": "http://example.com/profiles/school"}],
            },
            "platform": "tablet",
            "language": "en-US",
            "extensions": {"http://example.com/ext/session": str(uuid.uuid4())},
        },
        "timestamp": "2024-05-01T10:00:00.000Z",
    }


class Client:
    def __init__(self, port, auth):
        # Generous: a batch of 100 waits minutes on SecantusDB when writers conflict.
        self.conn = http.client.HTTPConnection(HOST, port, timeout=600)
        self.headers = {"Authorization": auth, "X-Experience-API-Version": "1.0.3"}

    def request(self, method, path, body=None):
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                return response.status, data
            except (http.client.HTTPException, ConnectionError):
                # The server closed an idle keep-alive connection: reconnect once.
                self.conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")


def post_throughput(port, auth, batch, clients, seconds, budget):
    """Statements/s for POSTs of `batch` statements from `clients` keep-alive threads.

    Bodies (at most `budget` statements in all, fresh ids) are built before the clock
    starts, so the clients spend their CPU on HTTP only."""
    per_client = max(budget // clients // batch, 1)
    bodies = [
        [json.dumps([make_statement(rng) for _ in range(batch)]).encode()
         for _ in range(per_client)]
        for rng in (random.Random(i * 7919 + batch) for i in range(clients))
    ]
    counts = [0] * clients
    errors = []
    stop = time.monotonic() + seconds

    def work(index):
        client = Client(port, auth)
        for body in bodies[index]:
            if time.monotonic() >= stop:
                return
            try:
                status, data = client.request("POST", "/xapi/statements", body)
            except OSError as exc:
                errors.append(repr(exc))
                return
            if status != 200:
                errors.append((status, data[:200]))
                return
            counts[index] += batch

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    if errors:
        print(f"  {len(errors)} clients stopped early on: {errors[:3]}")
    return sum(counts) / elapsed, sum(counts)


def fill(port, auth, target, clients):
    """POST batches of 100 until the store holds about `target` statements."""
    per_client = -(-target // (clients * 100))  # ceiling: reach at least `target`

    failures = []

    def work(index):
        rng = random.Random(index)
        client = Client(port, auth)
        for _ in range(per_client):
            body = json.dumps([make_statement(rng) for _ in range(100)]).encode()
            try:
                status, data = client.request("POST", "/xapi/statements", body)
            except OSError as exc:
                failures.append(repr(exc))
                return
            if status != 200:
                failures.append((status, data[:200]))
                return

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(f"fill failed: {failures[:3]}")
    return per_client * clients * 100


def latency(client, path, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        status, data = client.request("GET", path)
        times.append((time.perf_counter() - started) * 1000)
        assert status == 200, (path, status, data[:200])
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], data


def worker_rss(master_pid):
    """Peak RSS (VmHWM, MiB) of each gunicorn worker (children of the master)."""
    result = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(master_pid):
            result[int(entry.name)] = int(fields["VmHWM"].split()[0]) / 1024
    return result


@contextmanager
def mongo_store(uri):
    """A MongoDB URI for the run: `uri` as given, else a SecantusDB on a free loopback port
    (bench/secantus.py's, with in-memory storage), stopped afterwards."""
    if uri:
        yield uri, f"MongoDB at {uri.split('@')[-1]}"
        return
    sys.path.insert(1, str(REPO))
    from bench.secantus import secantus_server, with_database

    with tempfile.TemporaryDirectory(prefix="lrs-bench-secantus-") as tmp, \
            secantus_server(Path(tmp)) as server:
        yield with_database(server, "lrs_bench"), f"SecantusDB at {server}"


def measure(args, storage_uri, where, store_size, repeat):
    """Run `lrs serve` on `storage_uri`, print its figures as they come, and return them."""
    directory = Path(tempfile.mkdtemp(prefix="lrs-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRS_")}
    env["LRS_STORAGE_URI"] = storage_uri or f"sqlite:///{directory / 'lrs.db'}"
    env["LRS_MAX_BODY_BYTES"] = str(50 * 1024 * 1024)
    env["LRS_KEY_FILE"] = str(directory / "master.key")
    env["LRS_PSEUDONYMIZE"] = "true" if args.pseudonymize == "on" else "false"
    if args.pseudonymize == "on":
        lrs_cmd("keys", "init", env=env)
    key_secret = json.loads(lrs_cmd("credentials", "create", "--scopes", "all", "--json",
                                    env=env).stdout)
    auth = "Basic " + base64.b64encode(
        f"{key_secret['key']}:{key_secret['secret']}".encode()).decode()
    port = free_port()
    log = (directory / "serve.log").open("wb")
    server = subprocess.Popen([*LRS, "serve", "--host", HOST, "--port", str(port),
                               "--workers", "2",
                               *(["--threads", str(args.threads)] if args.threads else [])],
                              env=env, cwd=directory, stdout=log,
                              stderr=subprocess.STDOUT)
    figures = {"post": {}, "get": {}}
    try:
        for _ in range(300):
            try:
                Client(port, auth).request("GET", "/xapi/about")
                break
            except OSError:
                time.sleep(0.1)
        print(f"lrs serve: 2 workers, threads {args.threads or 'default'}, "
              f"{os.cpu_count()} CPUs, {where or f'SQLite at {directory}'}, "
              f"pseudonymization {args.pseudonymize}, log in {directory}")
        print(f"POST throughput ({args.clients} keep-alive clients, {args.seconds:.0f} s each)")
        stored = 0
        for batch in (1, 10, 100):
            rate, count = post_throughput(port, auth, batch, args.clients, args.seconds,
                                          budget=args.budget)
            stored += count
            figures["post"][batch] = rate
            print(f"  batch {batch:>3}: {rate:>8,.0f} statements/s")
        if stored < store_size:
            started = time.monotonic()
            added = fill(port, auth, store_size - stored, args.clients)
            stored += added
            elapsed = time.monotonic() - started
            figures["fill"] = added / elapsed
            print(f"  fill: {added:,} more in {elapsed:.1f} s "
                  f"({added / elapsed:,.0f} statements/s at batch 100)")
        figures["stored"] = stored
        client = Client(port, auth)
        _, _, page = latency(client, "/xapi/statements?limit=1", 1)
        sample = json.loads(page)["statements"][0]
        mid = json.loads(client.request("GET", "/xapi/statements?limit=1&ascending=true")[1])
        since = mid["statements"][0]["stored"]
        # The actor as stored: the learner's mbox, or its pseudonym when pseudonymizing.
        agent = json.dumps({k: v for k, v in sample["actor"].items() if k != "name"})
        queries = {
            "none (newest page)": {},
            "statementId": {"statementId": sample["id"]},
            "agent": {"agent": agent},
            "verb": {"verb": sample["verb"]["id"]},
            "activity": {"activity": sample["object"]["id"]},
            "registration": {"registration": sample["context"]["registration"]},
            "agent+related_agents": {"agent": agent,
                                     "related_agents": "true"},
            "activity+related_activities": {
                "activity": sample["context"]["contextActivities"]["parent"][0]["id"],
                "related_activities": "true"},
            "since": {"since": since},
            "until": {"until": sample["stored"]},
            "ascending": {"ascending": "true"},
            "agent+verb+activity": {
                "agent": agent,
                "verb": sample["verb"]["id"], "activity": sample["object"]["id"]},
            "format=ids limit=100": {"format": "ids", "limit": "100"},
        }
        print(f"GET latency on {stored:,} statements (default page size, "
              f"{repeat} requests each, one client)")
        for name, params in queries.items():
            path = "/xapi/statements" + ("?" + urlencode(params) if params else "")
            median, p95, data = latency(client, path, repeat)
            body = json.loads(data)
            count = len(body["statements"]) if "statements" in body else 1
            figures["get"][name] = (median, p95)
            print(f"  {name:<28} median {median:6.1f} ms  p95 {p95:6.1f} ms  "
                  f"({count} returned)")
        print("Peak RSS per worker")
        workers = sorted(worker_rss(server.pid).items())
        figures["rss"] = [rss for _, rss in workers]
        for pid, rss in workers:
            print(f"  worker {pid}: {rss:.0f} MiB")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    return figures


def side_by_side(results):
    """One table with a column per backend: (label, figures) pairs."""
    names, width = 50, 14
    print(f"\n{'Side by side':<{names + 2}}" + "".join(f"{label:>{width}}" for label, _ in results))

    def row(name, cells):
        print(f"  {name:<{names}}" + "".join(f"{cell:>{width}}" for cell in cells))

    row("statements in store", [f"{f['stored']:,}" for _, f in results])
    for batch in (1, 10, 100):
        row(f"POST batch {batch:>3} (statements/s)",
            [f"{f['post'][batch]:,.0f}" for _, f in results])
    row("fill at batch 100 (statements/s)",
        [f"{f['fill']:,.0f}" if "fill" in f else "-" for _, f in results])
    for name in results[0][1]["get"]:
        row(f"GET {name} (ms, median/p95)",
            [f"{f['get'][name][0]:.1f}/{f['get'][name][1]:.1f}" for _, f in results])
    row("peak RSS per worker (MiB)",
        ["/".join(f"{rss:.0f}" for rss in f["rss"]) for _, f in results])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "mongo", "both"), default="sqlite")
    parser.add_argument("--mongo-uri", default=None,
                        help="a MongoDB server to use instead of a fresh SecantusDB")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--store-size", type=int, default=100_000)
    parser.add_argument("--mongo-store-size", type=int, default=20_000,
                        help="store size on MongoDB (SecantusDB is slow)")
    parser.add_argument("--repeat", type=int, default=100, help="GETs per filter")
    parser.add_argument("--mongo-repeat", type=int, default=20,
                        help="GETs per filter on MongoDB")
    parser.add_argument("--budget", type=int, default=40_000,
                        help="statements prepared per POST measurement")
    parser.add_argument("--pseudonymize", choices=("on", "off"), default="on")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per worker (default: as `lrs serve`)")
    parser.add_argument("--lrs", default=LRS[0], help="the `lrs` executable to run")
    args = parser.parse_args()
    LRS[0] = args.lrs

    results = []
    if args.backend in ("sqlite", "both"):
        print(f"== SQLite, store of {args.store_size:,} statements")
        results.append(("SQLite", measure(args, None, None, args.store_size, args.repeat)))
    if args.backend in ("mongo", "both"):
        label = "MongoDB" if args.mongo_uri else "SecantusDB"
        print(f"\n== {label}, store of {args.mongo_store_size:,} statements "
              f"(--mongo-store-size), {args.mongo_repeat} GETs per filter (--mongo-repeat)")
        if not args.mongo_uri:
            print(SECANTUS_NOTE)
        with mongo_store(args.mongo_uri) as (uri, where):
            results.append((label, measure(args, uri, where, args.mongo_store_size,
                                           args.mongo_repeat)))
    if len(results) > 1:
        side_by_side(results)
        if not args.mongo_uri:
            print(SECANTUS_NOTE)
            print("The stores differ in size too (--store-size, --mongo-store-size).")


if __name__ == "__main__":
    main()

"""Partner export throughput and memory on a large store.

Fills a SQLite store (default 1,000,000 statements) through the storage layer
(`store_statements`, batches of 5,000) with statements in the form the service stores them:
learners as their pseudonym accounts (20,000 learners), a module activity with its
definition, result, registration, context activities, and three dimensions (region, age
band, gender) in context extensions. Then makes two agreements with learner ids, 9 fields
and the 3 dimensions (the quasi-identifier rule's counting pass runs): one over the whole
store, one over its first tenth. Each export runs in a fresh process that reads every chunk
as a client would and prints records/s, the time to the first byte (the counting pass), and
its RSS: before the export, sampled along it, and the peak (VmHWM); also records per CPU
second of the exporting process, which other work on the machine disturbs less. Flat memory shows as
samples that do not grow and as equal peaks for both windows.

`--via http` serves the store with `lrs serve` (1 worker) and downloads over a loopback
socket; the peak is then the worker's. Prints figures; asserts nothing.

Run from the repository root:
    python -m bench.exports [--count N] [--uri sqlite:////path.db] [--runs 3]
                            [--format ndjson|csv] [--via service|http]
(an existing store at --uri is reused when it holds the bench tenant)
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from anonymize import Keyring, Pseudonymizer
from anonymize.keys import encode_key
from lrs.config import Config, load_config
from lrs.service import LearningRecordStore, Principal
from lrs.service.exports import CSV, NDJSON
from lrs.service.ingest import store_statements
from storage import StatementFilter

TENANT = "bench"
BATCH = 5000
LEARNERS = 20_000
REGION = "https://example.org/ext/region"
AGE = "https://example.org/ext/age-band"
GENDER = "https://example.org/ext/gender"
AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://lrs.invalid", "name": "b"}}
OPERATOR = Principal("bench", TENANT, frozenset({"platform", "admin", "all"}), AUTHORITY)
FIELDS = ["id", "actor", "verb.id", "object.id", "result.score.scaled", "result.completion",
          "result.duration", "context.registration", "timestamp"]
VERBS = [f"http://adlnet.gov/expapi/verbs/{v}" for v in ("completed", "attempted", "passed")]
HOST = "127.0.0.1"


def rss_mib(field: str, pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fill(lrs: LearningRecordStore, count: int, keyring: Keyring) -> float:
    """Store `count` statements in stored form; statements/s."""
    rng = random.Random(15)
    pseudonyms = Pseudonymizer(keyring, TENANT)
    learners = []
    for n in range(LEARNERS):
        # Demographics per learner; a few rare combinations for the rule to find.
        learners.append((
            pseudonyms.pseudonym({"mbox": f"mailto:learner{n}@school.example"}),
            rng.choice(["north", "south", "east", "west", "centre"]),
            rng.choice(["6-8", "9-11", "12-14"]) if n % 997 else "15-17",
            rng.choice(["f", "m"]) if n % 1999 else "x",
        ))
    registrations = [str(uuid.uuid4()) for _ in range(5000)]
    elapsed = 0.0
    for start in range(0, count, BATCH):
        batch = []
        for _ in range(min(BATCH, count - start)):
            actor, region, age, gender = rng.choice(learners)
            course = f"https://courses.example.org/{rng.randrange(50)}"
            batch.append({
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "actor": actor,
                "verb": {"id": rng.choice(VERBS)},
                "object": {"objectType": "Activity", "id": f"{course}/module/{rng.randrange(12)}",
                           "definition": {"type": "http://adlnet.gov/expapi/activities/module",
                                          "name": {"en-US": "Module"}}},
                "result": {"score": {"scaled": round(rng.random(), 2)}, "completion": True,
                           "duration": f"PT{rng.randrange(1, 3600)}S"},
                "context": {
                    "registration": rng.choice(registrations),
                    "contextActivities": {"parent": [{"id": course}]},
                    "platform": "tablet",
                    "extensions": {REGION: region, AGE: age, GENDER: gender},
                },
                "timestamp": "2024-05-01T10:00:00.000Z",
            })
        began = time.perf_counter()
        store_statements(lrs.store, TENANT, batch, authority=AUTHORITY, writer="bench")
        elapsed += time.perf_counter() - began
    return count / elapsed


def settings(uri: str, key: str) -> Config:
    return load_config({"storage_uri": uri, "master_key": key})


def prepare(uri: str, key: str, count: int) -> tuple[str, str]:
    """The store filled once, and the ids of the whole-store and first-tenth agreements."""
    with LearningRecordStore.open(settings(uri, key)) as lrs:
        if not lrs.tenants.exists(TENANT):
            lrs.admin.create_tenant(OPERATOR, TENANT, policy={
                "dimensions": {"region": REGION, "age_band": AGE, "gender": GENDER}, "k": 10,
            })
            began = time.perf_counter()
            rate = fill(lrs, count, Keyring.from_text(key))
            print(f"filled {count:,} statements in {time.perf_counter() - began:.0f} s "
                  f"({rate:,.0f} statements/s in store_statements)")
        now = datetime.now(UTC)
        terms = {"partner": "Bench ministry", "purpose": "Benchmark", "fields": FIELDS,
                 "dimensions": ["region", "age_band", "gender"], "learner_ids": True,
                 "starts": (now - timedelta(days=1)).isoformat(),
                 "expires": (now + timedelta(days=1)).isoformat()}
        rows = lrs.store.query_statements(TENANT, StatementFilter(ascending=True), count // 10)
        whole = lrs.create_agreement(OPERATOR, terms)
        tenth = lrs.create_agreement(OPERATOR, {**terms, "until": rows[-1].stored})
        return whole.id, tenth.id


def run_service(uri: str, key: str, agreement: str, fmt: str) -> dict:
    """One export in this process (run as a child: its peak RSS is the export's)."""
    with LearningRecordStore.open(settings(uri, key)) as lrs:
        principal = Principal("bench-export", TENANT, frozenset({"export"}), {},
                              agreement=agreement)
        before = rss_mib("VmRSS")
        began, cpu = time.perf_counter(), time.process_time()
        export = lrs.export(principal, agreement, media_type=CSV if fmt == "csv" else NDJSON)
        lines = size = 0
        first = None
        samples = []
        for number, chunk in enumerate(export.chunks, start=1):
            if first is None:
                first = time.perf_counter() - began
            lines += chunk.count(b"\n")
            size += len(chunk)
            if number % 100 == 0:
                samples.append(round(rss_mib("VmRSS")))
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    records = lines - (1 if fmt == "csv" else 0)
    return {"records": records, "seconds": seconds, "cpu": cpu, "first_byte": first or seconds,
            "bytes": size, "rss_before": before, "samples": samples, "peak": rss_mib("VmHWM")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def run_http(uri: str, key: str, agreement: str, fmt: str) -> dict:
    """One export downloaded from `lrs serve` (1 worker); the worker's RSS."""
    with LearningRecordStore.open(settings(uri, key)) as lrs:
        credential, secret = lrs.credentials.create(OPERATOR, ["export"], agreement=agreement)
    port = free_port()
    env = {**os.environ, "LRS_STORAGE_URI": uri, "LRS_MASTER_KEY": key, "LRS_CONFIG_FILE": ""}
    lrs_bin = str(Path(sys.executable).with_name("lrs"))
    server = subprocess.Popen([lrs_bin, "serve", "--port", str(port), "--workers", "1"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        worker = int(subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True,
                                    text=True, check=True).stdout.split()[0])
        before = rss_mib("VmRSS", worker)
        token = base64.b64encode(f"{credential.key}:{secret}".encode()).decode()
        conn = http.client.HTTPConnection(HOST, port, timeout=600)
        began, cpu = time.perf_counter(), cpu_seconds(worker)
        conn.request("GET", f"/exports/{agreement}", headers={
            "Authorization": f"Basic {token}", "Accept": CSV if fmt == "csv" else NDJSON})
        answer = conn.getresponse()
        lines = size = 0
        first = None
        samples = []
        while chunk := answer.read(1 << 20):
            if first is None:
                first = time.perf_counter() - began
            lines += chunk.count(b"\n")
            size += len(chunk)
            samples.append(round(rss_mib("VmRSS", worker)))
        seconds, cpu = time.perf_counter() - began, cpu_seconds(worker) - cpu
        peak = rss_mib("VmHWM", worker)
        conn.close()
    finally:
        server.terminate()
        server.wait(30)
    return {"records": lines - (1 if fmt == "csv" else 0), "seconds": seconds, "cpu": cpu,
            "first_byte": first or seconds, "bytes": size, "rss_before": before,
            "samples": samples[:: max(1, len(samples) // 10)], "peak": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--uri", default=None, help="default: a new SQLite file in /tmp")
    parser.add_argument("--key", default=None, help="master key of an existing --uri store")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--format", choices=("ndjson", "csv"), default="ndjson")
    parser.add_argument("--via", choices=("service", "http"), default="service")
    parser.add_argument("--child", nargs=2, metavar=("AGREEMENT", "FORMAT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_service(args.uri, args.key, *args.child)))
        return
    uri = args.uri or f"sqlite:///{tempfile.mkdtemp(prefix='lrs-bench-')}/exports.db"
    key = args.key or encode_key(secrets.token_bytes(32))
    if args.key is None:
        print(f"store {uri}, master key {key} (pass both to reuse the store)")
    whole, tenth = prepare(uri, key, args.count)
    print(f"uptime: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1, 5 min load)")
    for name, agreement in (("first tenth", tenth), ("whole store", whole)):
        results = []
        for _ in range(args.runs):
            if args.via == "http":
                results.append(run_http(uri, key, agreement, args.format))
            else:
                child = subprocess.run(
                    [sys.executable, "-m", "bench.exports", "--uri", uri, "--key", key,
                     "--child", agreement, args.format],
                    capture_output=True, text=True, check=True,
                )
                results.append(json.loads(child.stdout))
        rates = sorted(r["records"] / r["seconds"] for r in results)
        per_cpu = sorted(r["records"] / r["cpu"] for r in results)
        peaks = sorted(r["peak"] for r in results)
        firsts = sorted(r["first_byte"] for r in results)
        print(f"{name}: {results[0]['records']:,} records, {results[0]['bytes'] / 1e6:,.0f} MB "
              f"{args.format} via {args.via}, {args.runs} runs")
        print(f"  records/s  median {statistics.median(rates):,.0f} "
              f"[{rates[0]:,.0f}-{rates[-1]:,.0f}]")
        print(f"  per CPU s  median {statistics.median(per_cpu):,.0f} "
              f"[{per_cpu[0]:,.0f}-{per_cpu[-1]:,.0f}] (records per CPU second of the "
              f"{'worker' if args.via == 'http' else 'exporting process'}: less noisy)")
        print(f"  first byte median {statistics.median(firsts):.1f} s "
              f"[{firsts[0]:.1f}-{firsts[-1]:.1f}] (the counting pass)")
        print(f"  peak RSS   median {statistics.median(peaks):.0f} MiB "
              f"[{peaks[0]:.0f}-{peaks[-1]:.0f}], before the export "
              f"{results[0]['rss_before']:.0f} MiB; RSS along the first run "
              f"(MiB): {results[0]['samples'][:12]}")
    print(f"uptime: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1, 5 min load)")


if __name__ == "__main__":
    main()

"""Edge -> central forwarding throughput, on one machine: statements/s of `lrs sync push`.

An edge store (SQLite, pseudonymization on with the central LRS's tenant keys installed by
`lrs keys export` / `import`) is filled in-process with --count realistic statements (the
~1 KB statements of bench/ingest.py, one in --attachment-every with a 4 KB attachment);
then, --runs times, a central LRS is started on a fresh store (`lrs serve`, 2 workers;
SQLite, or a SecantusDB / --mongo-uri database) and `lrs sync push` forwards everything to
it. Each run forwards to a new port, hence a new target with its own cursor, so every run
sends the whole store. Prints each run's wall-clock rate (the push process from start to
exit, so its start-up is included) and the median; asserts nothing. Edge, central and
forwarder share the machine's CPUs: the figures are a floor.

Run from the repository root (`python bench/sync.py` would import bench/storage.py as
`storage`):

    python -m bench.sync [--central sqlite|mongo] [--mongo-uri URI] [--count 10000]
                         [--batch-size 500] [--runs 3] [--attachment-every 50]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import signal
import statistics
import subprocess
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from bench.ingest import HOST, LRS, SECANTUS_NOTE, free_port, make_statement


def lrs(*args, env):
    return subprocess.run([*LRS, *args], env=env, capture_output=True, text=True, check=True)


def environment(directory: Path, storage_uri: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRS_")}
    env.update(LRS_STORAGE_URI=storage_uri, LRS_KEY_FILE=str(directory / "master.key"),
               LRS_TENANT_KEYS_FILE=str(directory / "tenant-keys.json"))
    return env


def fill_edge(env: dict[str, str], count: int, every: int) -> int:
    """Post `count` statements to the edge store in-process (not what is measured)."""
    from lrs.config import load_config
    from lrs.service import LearningRecordStore, Principal
    from statements import AttachmentPart

    rng = random.Random(18)
    data = bytes(rng.randrange(256) for _ in range(4096))
    sha2 = hashlib.sha256(data).hexdigest()
    part = AttachmentPart(1, sha2, "application/octet-stream", None, data)
    device = Principal(
        key="bench-tablet", tenant="default", scopes=frozenset({"all"}),
        authority={"objectType": "Agent",
                   "account": {"homePage": "https://edge.example", "name": "bench-tablet"}},
    )
    attached = 0
    with LearningRecordStore.open(load_config(None, env)) as service:
        for start in range(0, count, 500):
            batch = [make_statement(rng) for _ in range(min(500, count - start))]
            parts = []
            for index, statement in enumerate(batch):
                if every and (start + index) % every == 0:
                    statement["attachments"] = [{
                        "usageType": "http://example.com/attachment-usage/worksheet",
                        "display": {"en-US": "Worksheet"},
                        "contentType": "application/octet-stream",
                        "length": len(data), "sha2": sha2,
                    }]
                    attached += 1
                    parts = [part]
            service.post_statements(device, batch, parts)
    return attached


@contextmanager
def central_server(directory: Path, env: dict[str, str]):
    port = free_port()
    log = (directory / f"serve-{port}.log").open("wb")
    server = subprocess.Popen([*LRS, "serve", "--host", HOST, "--port", str(port),
                               "--workers", "2"], env=env, cwd=directory, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://{HOST}:{port}/xapi/about", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


@contextmanager
def mongo_server(uri: str | None):
    if uri:
        yield uri
        return
    from bench.secantus import secantus_server

    with tempfile.TemporaryDirectory(prefix="lrs-bench-secantus-") as tmp, \
            secantus_server(Path(tmp)) as server:
        yield server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--central", choices=("sqlite", "mongo"), default="sqlite")
    parser.add_argument("--mongo-uri", default=None)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--attachment-every", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lrs-bench-sync-") as tmp:
        measure(args, Path(tmp))


def measure(args: argparse.Namespace, root: Path) -> None:
    """Fill an edge under `root`, then forward it --runs times (module docstring)."""
    from bench.secantus import with_database

    central_dir, edge_dir = root / "central", root / "edge"
    central_dir.mkdir()
    edge_dir.mkdir()
    central_env = environment(central_dir, f"sqlite:///{central_dir / 'keys-only.db'}")
    lrs("keys", "init", env=central_env)
    lrs("keys", "export", str(root / "default.keys"), env=central_env)
    edge_env = environment(edge_dir, f"sqlite:///{edge_dir / 'lrs.db'}")
    lrs("keys", "init", env=edge_env)
    lrs("keys", "import", str(root / "default.keys"), env=edge_env)
    started = time.monotonic()
    attached = fill_edge(edge_env, args.count, args.attachment_every)
    print(f"edge: {args.count:,} statements ({attached} with a 4 KB attachment) stored in "
          f"{time.monotonic() - started:.1f} s, SQLite")
    print(f"central: lrs serve, 2 workers, {args.central}; {os.cpu_count()} CPUs; "
          f"batches of {args.batch_size}")
    if args.central == "mongo" and not args.mongo_uri:
        print(SECANTUS_NOTE)

    rates, inner = [], []
    with mongo_server(args.mongo_uri if args.central == "mongo" else "") as server:
        for run in range(1, args.runs + 1):
            if args.central == "mongo":
                uri = with_database(server, f"lrs_bench_sync_{run}_{os.getpid()}")
            else:
                uri = f"sqlite:///{central_dir / f'run-{run}.db'}"
            env = {**central_env, "LRS_STORAGE_URI": uri}
            credential = central_dir / f"sync-{run}.json"
            credential.write_text(lrs("credentials", "create", "--scopes", "sync", "--json",
                                      env=env).stdout)
            credential.chmod(0o600)
            with central_server(central_dir, env) as port:
                begun = time.monotonic()
                pushed = lrs("sync", "push", "--to", f"http://{HOST}:{port}/xapi/",
                             "--credential", str(credential), "--batch-size",
                             str(args.batch_size), env=edge_env)
                elapsed = time.monotonic() - begun
            forwarded = int(re.search(r"forwarded (\d+) statement", pushed.stdout).group(1))
            assert forwarded == args.count, pushed.stdout
            rate = forwarded / elapsed
            reported = re.search(r", (\d+)/s[,)]", pushed.stdout)
            packed = re.search(r", ([\d.]+) MB sent gzipped, ([\d.]+) times smaller", pushed.stdout)
            rates.append(rate)
            if reported:
                inner.append(int(reported.group(1)))
            print(f"  run {run}: {forwarded:,} statements in {elapsed:.1f} s: {rate:,.0f} "
                  f"statements/s (the push itself: {reported.group(1) if reported else '?'}/s)"
                  + (f"; {packed.group(1)} MB on the wire, gzip {packed.group(2)} times smaller"
                     if packed else ""))
    print(f"median {statistics.median(rates):,.0f} statements/s "
          f"[{min(rates):,.0f}-{max(rates):,.0f}] wall clock"
          + (f"; push alone median {statistics.median(inner):,.0f}/s "
             f"[{min(inner):,}-{max(inner):,}]" if inner else ""))
    print(json.dumps({"rates": [round(r) for r in rates], "push_rates": inner}))


if __name__ == "__main__":
    main()

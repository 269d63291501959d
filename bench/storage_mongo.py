"""bench/storage.py against the MongoDB backend.

Without `--uri`, starts a SecantusDB server (the test extra's MongoDB-wire server) on a free
127.0.0.1 port with in-memory storage and benchmarks against it; with
`--uri mongodb://host/db` it uses that server (the database should be empty). Every other
option is bench/storage.py's. SecantusDB is a Python server: its figures show what the
backend costs it, not what a mongod would do with the same requests.

Run from the repository root:
    python -m bench.storage_mongo [--count N] [--repeat R] [--uri mongodb://...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench import storage as storage_bench
from bench.secantus import secantus_server, with_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], add_help=False)
    parser.add_argument("--uri", default=None)
    args, rest = parser.parse_known_args()
    if args.uri is not None:
        sys.argv = [sys.argv[0], "--uri", args.uri, *rest]
        storage_bench.main()
        return
    with tempfile.TemporaryDirectory(prefix="lrs-bench-mongo-") as tmp:
        started = time.perf_counter()
        with secantus_server(Path(tmp)) as server:
            print(f"SecantusDB ready in {time.perf_counter() - started:.2f}s")
            sys.argv = [sys.argv[0], "--uri", with_database(server, "bench"), *rest]
            storage_bench.main()


if __name__ == "__main__":
    main()

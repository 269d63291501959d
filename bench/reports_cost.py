"""The reporting machinery's ingest cost (issue 12), in one process: POSTs of statements
through the Flask test client into one SQLite store, in blocks that alternate between
report fields on and off
(`storage.records.report_fields` giving None: nothing of the reports written), so the
machine's drift and the store's growth weigh on both alike.

Prints CPU µs per statement (`time.process_time`) with reporting on and off and the
difference, twice: the write path alone (what a burst of statements pays: folding put off,
put off until a report, or the quiet after a burst), and with the folding of every
statement stored with reporting on added (what sustained ingest pays; measured by folding
what waits after each "on" block, as a quiet worker or a report would). With `--split`,
also where the "on" blocks' extra time goes: the report fields, the waiting rows, and the
folding's facts and summaries (timers around those functions, whose own cost, under 1 µs
per statement, the "on" figures then include). Asserts nothing.

Run from the repository root:
    python -m bench.reports_cost [--batch 100] [--blocks 10] [--block-batches 20]
                                 [--warm 20000] [--shape load|passport] [--split]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import orjson

import storage.records
import storage.sqlite.reports
from bench import passport
from bench.load_client import statement_source
from bench.profile_ingest import posting_app, timed
from lrs.extension import EXTENSION
from storage import ReportFilter
from storage.sqlite import SQLiteStorage


def _bodies(shape: str, batch: int) -> Callable[[int], list[bytes]]:
    """A function giving the next `count` request bodies of `batch` statements each (seed 1
    for bench.load_client's shape, 99 for bench.passport's, as before)."""
    statement = statement_source(shape, seed=1 if shape == "load" else 99)
    return lambda count: [
        orjson.dumps([statement() for _ in range(batch)]) for _ in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--blocks", type=int, default=10, help="blocks of each mode")
    parser.add_argument("--block-batches", type=int, default=20, help="POSTs per block")
    parser.add_argument("--warm", type=int, default=20_000)
    parser.add_argument("--shape", choices=("load", "passport"), default="load")
    parser.add_argument("--split", action="store_true", help="time the machinery's parts")
    args = parser.parse_args()
    if min(args.batch, args.blocks, args.block_batches) < 1 or args.warm < 0:
        parser.error("--batch, --blocks and --block-batches must be at least 1")

    storage.sqlite.reports.FOLD_BACKLOG = 1 << 62  # folding only where this script says
    report_fields = storage.records.report_fields
    split: dict[str, float] = defaultdict(float)
    if args.split:
        report_fields = timed("report fields", report_fields, split)
        _time_parts(split)
    directory = Path(tempfile.mkdtemp(prefix="lrs-reports-cost-"))
    try:
        app, post_all = posting_app(
            directory, pseudonymize=True,
            dimensions=passport.DIMENSIONS if args.shape == "passport" else None,
        )
        store = app.extensions[EXTENSION].store
        assert isinstance(store, SQLiteStorage)
        bodies_of = _bodies(args.shape, args.batch)
        post_all(bodies_of(args.warm // args.batch))
        store.report_modules("default", ReportFilter(course=""))  # folds the warm
        split.clear()
        spent = {"on": 0.0, "off": 0.0, "fold": 0.0}
        for block in range(2 * args.blocks):
            mode = "on" if block % 2 == 0 else "off"
            storage.records.report_fields = (  # type: ignore[assignment]
                report_fields if mode == "on" else lambda statement, dimensions=(): None
            )
            bodies = bodies_of(args.block_batches)
            started = time.process_time()
            post_all(bodies)
            spent[mode] += time.process_time() - started
            if mode == "on":
                started = time.process_time()
                store.report_modules("default", ReportFilter(course=""))
                spent["fold"] += time.process_time() - started
        storage.records.report_fields = report_fields  # type: ignore[assignment]
    finally:
        shutil.rmtree(directory, ignore_errors=True)

    each = args.blocks * args.block_batches * args.batch
    on, off, fold = (spent[mode] / each * 1e6 for mode in ("on", "off", "fold"))
    print(f"{args.shape} shape, batch {args.batch}, {each:,} statements per mode in"
          f" {args.blocks} alternating blocks of {args.block_batches} POSTs, after"
          f" {args.warm:,} (CPU us per statement):")
    print(f"  write path: reporting on {on:.0f}, off {off:.0f}: {(on / off - 1) * 100:+.1f} %")
    print(f"  with folding: on {on + fold:.0f} (folding {fold:.0f}), off {off:.0f}:"
          f" {((on + fold) / off - 1) * 100:+.1f} %")
    if args.split:
        parts = ", ".join(f"{name} {seconds / each * 1e6:.1f}" for name, seconds in split.items())
        print(f"  of which: {parts}")


def _time_parts(split: dict[str, float]) -> None:
    """Timers around the SQLite machinery's parts, which its callers look up by module
    attribute."""
    reports = storage.sqlite.reports
    reports.add_pending = timed("waiting rows", reports.add_pending, split)
    reports.insert_facts = timed("folding: facts", reports.insert_facts, split)
    reports._summarize = timed("folding: summaries", reports._summarize, split)


if __name__ == "__main__":
    main()

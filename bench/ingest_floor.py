"""Where the ingest floor is: bench/load_client.py's POST load against `lrs serve` with the
write path's stages switched off one after another, a fresh server for each.

Each step keeps the previous ones off:
  * as served: nothing off;
  * reports off: statements count in no report (`storage.records.report_fields` gives
    None), so no report facts are written or folded: the reporting machinery's ingest
    cost (issue 12) is the difference to "as served";
  * storage off: the batch's SQLite write transaction is skipped (validation,
    pseudonymization, the known-ids read and the records are still done);
  * service off: the statements resource answers with the ids without validating or
    storing (what is left: gunicorn, Flask, authentication, the JSON body, the answer).

For each step and batch size (1, 10, 100): statements/s, and CPU microseconds per statement
of the gunicorn workers (from /proc) and of the client processes. On a machine of N cores,
a rate R statements/s leaves N / R seconds of CPU per statement for server and clients
together (10,000/s on 2 cores: 200 us); a step's server CPU is what the stages still on
cost, so the differences between steps are each stage's share as served. Switching is by
replacing functions in the server process (a small `lrs` wrapper per step, written to a
temporary directory), so nothing of this exists outside the benchmark; each step's store
is deleted after it. Asserts nothing;
the figures move with the machine's load (printed), so `--rounds` runs the steps
several times, alternating, and the table gives medians.

Run from the repository root:
    python -m bench.ingest_floor [--seconds 4] [--processes 4] [--workers 2]
                                 [--rounds 1] [--steps "as served,reports off,..."]
                                 [--shape load|passport]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import load_client
from bench.load_client import PostFigure, add_post_arguments, post_figures, serving

REPO = Path(__file__).resolve().parents[1]
STEPS = ("as served", "reports off", "storage off", "service off")


def _reports_off() -> None:
    import storage.records

    storage.records.report_fields = lambda statement, dimensions=(): None  # type: ignore


def _storage_off() -> None:
    import lrs.service.ingest

    lrs.service.ingest.insert_statements = lambda *args, **kwargs: None  # type: ignore


def _service_off() -> None:
    import uuid

    from lrs.service.statements import STATEMENT_WRITE_SCOPES, StatementService

    def post(self: Any, principal: Any, data: Any, parts: Any = (), *, version: str) -> Any:
        principal.require(STATEMENT_WRITE_SCOPES)
        batch = data if type(data) is list else [data]
        return [s.get("id") or str(uuid.uuid4()) for s in batch]

    StatementService.post = post  # type: ignore[method-assign]


_SWITCHES = {"reports off": _reports_off, "storage off": _storage_off,
             "service off": _service_off}


def switch_off(step: str) -> None:
    """In the server process: turn off the stages of `step` and of the steps before it."""
    for name in STEPS[1:STEPS.index(step) + 1]:
        _SWITCHES[name]()


def _wrapper(directory: Path, step: str) -> str:
    """An `lrs` executable that runs the CLI with `step`'s stages off."""
    path = directory / ("lrs-" + step.replace(" ", "-"))
    path.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "if __name__ == '__main__':\n"
        "    from bench.ingest_floor import switch_off\n"
        f"    switch_off({step!r})\n"
        "    from lrs.cli import main\n"
        "    sys.exit(main())\n"
    )
    path.chmod(0o755)
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_post_arguments(parser, seconds=4.0)
    parser.add_argument("--rounds", type=int, default=1,
                        help="times to run the steps, alternating (medians are printed)")
    parser.add_argument("--steps", default=",".join(STEPS),
                        help=f"comma-separated, of: {', '.join(STEPS)}")
    args = parser.parse_args()
    steps = [step.strip() for step in args.steps.split(",")]
    unknown = [step for step in steps if step not in STEPS]
    if unknown:
        parser.error(f"unknown steps {unknown}; known: {', '.join(STEPS)}")
    if args.rounds < 1 or args.seconds <= 0:
        parser.error("--rounds must be at least 1 and --seconds more than 0")

    print("command: " + " ".join(["python -m bench.ingest_floor", *sys.argv[1:]]))
    cores = os.cpu_count() or 1
    print(f"{cores} CPUs: 10,000 statements/s leaves {cores / 10_000 * 1e6:,.0f} us of CPU"
          " per statement for server and clients together")
    results: dict[str, list[list[PostFigure]]] = {step: [] for step in steps}
    with tempfile.TemporaryDirectory(prefix="lrs-floor-") as directory:
        for round_ in range(1, args.rounds + 1):
            for step in steps:
                load_client.LRS[0] = _wrapper(Path(directory), step)
                print(f"{step}, round {round_} (load average {load_client._loadavg()}):")
                with serving(args.workers, shape=args.shape) as (port, auth, server, store):
                    results[step].append(post_figures(port, auth, server, args))
                shutil.rmtree(store, ignore_errors=True)
    print(f"server CPU us per statement, median of {args.rounds} round(s) [min-max], and the"
          " median statements/s, by batch size:")
    print(f"  {'step':<12}" + "".join(f"{'batch ' + str(b):>30}" for b in (1, 10, 100)))
    for step, rounds in results.items():
        cells = ""
        for column in zip(*rounds, strict=True):
            cpu = sorted(figure.server_us for figure in column)
            rate = statistics.median(figure.rate for figure in column)
            cells += (f"{statistics.median(cpu):>9,.0f} [{cpu[0]:,.0f}-{cpu[-1]:,.0f}]"
                      f" {rate:>6,.0f}/s").rjust(30)
        print(f"  {step:<12}{cells}")
    print(f"load average after: {load_client._loadavg()}")


if __name__ == "__main__":
    main()

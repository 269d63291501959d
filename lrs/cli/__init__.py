"""The `lrs` command: serve the LRS, manage credentials, tenants and keys, read the audit log,
erase learners and apply retention, forward to a central LRS, validate statement files.

Every subcommand reads the same configuration as the app (`LRS_CONFIG_FILE`, `LRS_*`).
Exit codes: 0 success, 1 failure (invalid statements, unknown credential), 2 usage or
unreadable input.
"""

from __future__ import annotations

import multiprocessing
import sys
from multiprocessing.connection import Connection
from pathlib import Path

import click
import orjson

from lrs.cli import agreements, audit, credentials, erasure, keys, reports, retention, sync, tenants
from lrs.cli.common import config as _config
from lrs.config import ConfigError
from lrs.service import load_privacy
from statements import XAPI_VERSIONS, StatementError, validate_statements
from storage import StorageError, open_storage


@click.group()
def main() -> None:
    """A privacy-first xAPI Learning Record Store."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1),
              help="Worker processes (one per core).")
@click.option(
    "--connections", default=1000, show_default=True, type=click.IntRange(1),
    help="Open client connections per worker, each a greenlet.",
)
@click.option(
    "--threads", default=4, show_default=True, type=click.IntRange(1),
    help="OS threads per worker for blocking calls kept off the event loop.",
)
def serve(host: str, port: int, workers: int, connections: int, threads: int) -> None:
    """Run the LRS under gunicorn (gevent workers) on the configured store."""
    from lrs.serving import LrsServer

    config = _config()
    try:
        load_privacy(config)  # no key, no start: say so once, before any worker starts
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    # Open once before the workers start: fails fast on a bad store and creates the schema
    # before several workers race to do it. In a spawned process, not this one: a driver's
    # background threads (pymongo's) run here would leave dead thread proxies behind, on
    # which gevent's patching of each forked worker fails ("Worker failed to boot").
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    opener = context.Process(target=_open_once, args=(config.storage_uri, sending))
    opener.start()
    sending.close()
    try:
        problem = receiving.recv() if receiving.poll(120) else "no answer within 120 s"
    except EOFError:
        problem = "the process opening it exited without an answer"
    opener.join()
    if problem:
        raise click.ClickException(f"cannot open the store: {problem}")
    LrsServer(
        config, bind=f"{host}:{port}", workers=workers, connections=connections,
        threads=threads,
    ).run()


def _open_once(uri: str, answer: Connection) -> None:
    """Open and close the store named by `uri`; send "" or what went wrong."""
    try:
        open_storage(uri).close()
    except StorageError as exc:
        answer.send(str(exc))
    else:
        answer.send("")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@click.option(
    "--xapi-version", type=click.Choice(XAPI_VERSIONS), default=XAPI_VERSIONS[0],
    show_default=True, help="the rules to check against",
)
def validate(file: Path, xapi_version: str) -> None:
    """Validate a statement or an array of statements in FILE (xAPI 1.0.3 or 2.0)."""
    try:
        raw = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as exc:
        raise click.UsageError(f"cannot read {file}: {exc.strerror}") from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise click.UsageError(f"{file} is not valid JSON: {exc}") from None
    try:
        validated = validate_statements(data, version=xapi_version)
    except StatementError as exc:
        for path, rules in exc.errors.items():
            for rule in rules:
                click.echo(f"{path or '(document)'}: {rule}")
        sys.exit(1)
    click.echo(f"valid ({len(validated)} statement{'s' if len(validated) != 1 else ''})")


main.add_command(credentials.credentials)
main.add_command(tenants.tenants)
main.add_command(audit.audit)
main.add_command(erasure.erase)
main.add_command(retention.retention)
main.add_command(agreements.agreements)
main.add_command(keys.keys)
main.add_command(sync.sync)
main.add_command(reports.reports)

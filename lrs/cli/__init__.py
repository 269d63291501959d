"""The `lrs` command: serve the LRS, manage credentials and keys, validate statement files.

Every subcommand reads the same configuration as the app (`LRS_CONFIG_FILE`, `LRS_*`).
Exit codes: 0 success, 1 failure (invalid statements, unknown credential), 2 usage or
unreadable input.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson

from anonymize import KeyFileError, Keyring, init_key_file
from lrs.cli import audit, credentials, reports, tenants
from lrs.cli.common import config as _config
from lrs.cli.common import store as _store
from lrs.config import ConfigError
from lrs.service import load_privacy
from statements import StatementError, validate_statements


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
    # Open once in the master: fails fast on a bad store and creates the schema before
    # several workers race to do it.
    with _store(config):
        pass
    LrsServer(
        config, bind=f"{host}:{port}", workers=workers, connections=connections,
        threads=threads,
    ).run()


@main.group()
def keys() -> None:
    """Create the master key that pseudonyms and the identity vault derive from."""


@keys.command("init")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--exist-ok", is_flag=True,
              help="Keep a key file that already exists (after checking it loads).")
def keys_init(path: Path | None, exist_ok: bool) -> None:
    """Create a key file readable by its owner only (default: the configured key_file).

    Never overwrites: losing the key makes pseudonyms unreproducible and the vault unreadable.
    """
    target = path or Path(_config().key_file)
    if exist_ok and target.exists():
        try:
            Keyring.from_file(target)
        except KeyFileError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"kept the existing key file {target}")
        return
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise click.ClickException(f"cannot create {target.parent}: {exc.strerror}") from None
    try:
        init_key_file(target)
    except KeyFileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {target} (mode 0600); back it up: without it the vault cannot be read")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
def validate(file: Path) -> None:
    """Validate a statement or an array of statements in FILE (xAPI 1.0.3)."""
    try:
        raw = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as exc:
        raise click.UsageError(f"cannot read {file}: {exc.strerror}") from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise click.UsageError(f"{file} is not valid JSON: {exc}") from None
    try:
        validated = validate_statements(data)
    except StatementError as exc:
        for path, rules in exc.errors.items():
            for rule in rules:
                click.echo(f"{path or '(document)'}: {rule}")
        sys.exit(1)
    click.echo(f"valid ({len(validated)} statement{'s' if len(validated) != 1 else ''})")


main.add_command(credentials.credentials)
main.add_command(tenants.tenants)
main.add_command(audit.audit)
main.add_command(reports.reports)

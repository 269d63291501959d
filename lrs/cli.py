"""The `lrs` command: serve the LRS, manage credentials and keys, validate statement files.

Every subcommand reads the same configuration as the app (`LRS_CONFIG_FILE`, `LRS_*`).
Exit codes: 0 success, 1 failure (invalid statements, unknown credential), 2 usage or
unreadable input.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import orjson

from anonymize import KeyFileError, Keyring, init_key_file
from lrs.auth import new_credential
from lrs.config import Config, ConfigError
from lrs.config import load_config as _load_config
from lrs.service import SCOPES, load_privacy
from statements import XAPI_VERSIONS, StatementError, validate_statements
from storage import DEFAULT_TENANT, Storage, StorageError, open_storage


def _config() -> Config:
    try:
        return _load_config(None, os.environ)
    except ConfigError as exc:
        raise click.UsageError(f"configuration: {exc}") from None


@contextmanager
def _store(config: Config) -> Iterator[Storage]:
    try:
        store = open_storage(config.storage_uri)
    except StorageError as exc:
        raise click.ClickException(f"cannot open the store: {exc}") from None
    try:
        yield store
    finally:
        store.close()


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
def credentials() -> None:
    """Create, list and revoke API credentials."""


def _split_scopes(values: tuple[str, ...]) -> list[str]:
    scopes = [s for value in values for s in value.replace(",", " ").split()]
    unknown = sorted(set(scopes) - SCOPES)
    if unknown:
        raise click.BadParameter(
            f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(sorted(SCOPES))}",
            param_hint="--scopes",
        )
    if not scopes:
        raise click.BadParameter("at least one scope is needed", param_hint="--scopes")
    return scopes


@credentials.command("create")
@click.option(
    "--scopes", multiple=True, required=True,
    help="Scopes, comma separated or repeated (e.g. statements/write,statements/read/mine).",
)
@click.option("--name", default="", help="A label for people reading `credentials list`.")
@click.option("--tenant", default=DEFAULT_TENANT, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print {\"key\", \"secret\"} as JSON.")
def credentials_create(scopes: tuple[str, ...], name: str, tenant: str, as_json: bool) -> None:
    """Create a credential and print its secret (shown only this once)."""
    config = _config()
    credential, secret = new_credential(
        _split_scopes(scopes), home_page=config.authority_home_page, name=name, tenant=tenant
    )
    with _store(config) as store:
        store.put_credential(credential)
    if as_json:
        click.echo(json.dumps({"key": credential.key, "secret": secret}))
    else:
        click.echo(f"key:    {credential.key}\nsecret: {secret}")
        click.echo("The secret is shown only now; the LRS keeps only a hash of it.", err=True)


@credentials.command("list")
@click.option("--tenant", default=None, help="Only this tenant's credentials.")
@click.option("--json", "as_json", is_flag=True)
def credentials_list(tenant: str | None, as_json: bool) -> None:
    """List credentials (never their secrets)."""
    with _store(_config()) as store:
        rows = store.list_credentials(tenant)
    public: list[dict[str, Any]] = [
        {
            "key": c.key, "name": c.name, "tenant": c.tenant, "scopes": list(c.scopes),
            "created": c.created, "revoked": c.revoked,
        }
        for c in rows
    ]
    if as_json:
        click.echo(json.dumps(public))
        return
    for row in public:
        status = "revoked" if row["revoked"] else "active"
        click.echo(
            f"{row['key']}  {status:7}  {row['tenant']}  {','.join(row['scopes'])}  "
            f"{row['created']}  {row['name']}"
        )


@credentials.command("revoke")
@click.argument("key")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def credentials_revoke(key: str, yes: bool) -> None:
    """Revoke a credential: requests using it are refused from now on."""
    with _store(_config()) as store:
        credential = store.get_credential(key)
        if credential is None:
            raise click.ClickException(f"no credential {key}")
        if credential.revoked:
            click.echo(f"{key} was already revoked")
            return
        if not yes:
            click.confirm(f"Revoke credential {key} ({credential.name})?", abort=True)
        store.put_credential(dataclasses.replace(credential, revoked=True))
    click.echo(f"revoked {key}")


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

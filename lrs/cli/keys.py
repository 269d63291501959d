"""`lrs keys`: the master key, and a tenant's keys shared between a central LRS and its
edge LRSs (README "Offline schools": key distribution).

Key material is written only to files readable by their owner, never printed or logged;
what is shown is key ids, which name keys and reveal nothing about them.
"""

from __future__ import annotations

from pathlib import Path

import click

from anonymize import (
    SHARED_PURPOSES,
    AnonymizeError,
    KeyFileError,
    Keyring,
    Purpose,
    init_key_file,
    load_tenant_keys,
    write_tenant_keys,
)
from lrs.cli.common import config as _config
from lrs.cli.common import lrs_service, operator
from storage import DEFAULT_TENANT


@click.group()
def keys() -> None:
    """Create the master key that pseudonyms and the identity vault derive from; share a
    tenant's keys with edge LRSs."""


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
    _private_directory(target)
    try:
        init_key_file(target)
    except KeyFileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {target} (mode 0600); back it up: without it the vault cannot be read")


@keys.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--tenant", default=DEFAULT_TENANT, show_default=True)
def keys_export(path: Path, tenant: str) -> None:
    """Write TENANT's pseudonym, vault and digest keys to a new file PATH (mode 0600), for
    `lrs keys import` on an edge LRS: the edge then pseudonymizes and seals exactly as this
    LRS does, without holding the master key. Audited."""
    if path.exists():
        raise click.ClickException(f"{path} exists; refusing to overwrite it")
    with lrs_service() as lrs:
        if not lrs.tenants.exists(tenant):
            raise click.ClickException(f"no tenant {tenant}")
        keyring = lrs.privacy.keyring
        if keyring is None:
            raise click.ClickException("no master key is configured (lrs keys init)")
        _private_directory(path)
        try:
            write_tenant_keys(path, keyring.tenant_keys(tenant))
        except KeyFileError as exc:
            raise click.ClickException(str(exc)) from None
        ids = _key_ids(keyring, tenant)
        lrs.audit.record(operator(tenant), "keys.export", "keys", filters=ids)
    click.echo(
        f"wrote the keys of tenant {tenant} ({_shown(ids)}) to {path} (mode 0600). Carry it "
        "to the edge by hand or over an encrypted channel, run `lrs keys import` there, "
        "then delete it: whoever holds it can pseudonymize and re-identify this tenant's "
        "learners."
    )


@keys.command("import")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def keys_import(path: Path) -> None:
    """Install the tenant keys in PATH (written by `lrs keys export` on the central LRS)
    into the configured tenant_keys_file, replacing the keys installed for those tenants.
    Refused for a tenant that already has statements here under another pseudonym key
    (they would never match the central LRS's learners). Restart the LRS afterwards."""
    settings = _config()
    installed = Path(settings.tenant_keys_file)
    try:
        given = load_tenant_keys(path)
        current = load_tenant_keys(installed) if installed.exists() else {}
    except AnonymizeError as exc:
        raise click.ClickException(str(exc)) from None
    tenants = sorted({tenant for tenant, _ in given})
    with lrs_service() as lrs:
        keyring = lrs.privacy.keyring
        if keyring is None:
            raise click.ClickException(
                "no master key is configured (lrs keys init): it keeps this LRS's own audit "
                "log and other tenants' keys"
            )
        merged = keyring.with_tenant_keys(given)
        for tenant in tenants:
            before = keyring.derive(tenant, Purpose.PSEUDONYM).key_id
            after = merged.derive(tenant, Purpose.PSEUDONYM).key_id
            if before != after and lrs.store.count_feed(tenant, ""):
                raise click.ClickException(
                    f"tenant {tenant} has statements here pseudonymized with key {before}; "
                    f"the imported key is {after}: import tenant keys before storing anything"
                )
        _private_directory(installed)
        try:
            write_tenant_keys(installed, {**current, **given})
        except KeyFileError as exc:
            raise click.ClickException(str(exc)) from None
        for tenant in tenants:
            lrs.audit.record(operator(tenant), "keys.import", "keys",
                             filters=_key_ids(merged, tenant))
    shown = ", ".join(f"{t} ({_shown(_key_ids(merged, t))})" for t in tenants)
    click.echo(f"installed the keys of {shown} in {installed}; restart the LRS to use them")


def _key_ids(keyring: Keyring, tenant: str) -> dict[str, str]:
    return {purpose.value: keyring.derive(tenant, purpose).key_id for purpose in SHARED_PURPOSES}


def _shown(ids: dict[str, str]) -> str:
    return ", ".join(f"{purpose} key {key_id}" for purpose, key_id in ids.items())


def _private_directory(path: Path) -> None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise click.ClickException(f"cannot create {path.parent}: {exc.strerror}") from None

"""`lrs credentials`: create, list and revoke API credentials, as the operator (every change
audited in the tenant's log; the rules are `lrs.service.credentials`')."""

from __future__ import annotations

import json

import click

from lrs.cli.common import lrs_service, operator
from lrs.service import SCOPES, ServiceError
from lrs.service.credentials import public
from storage import DEFAULT_TENANT


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


@click.group()
def credentials() -> None:
    """Create, list and revoke API credentials."""


@credentials.command("create")
@click.option(
    "--scopes", multiple=True, required=True,
    help="Scopes, comma separated or repeated (e.g. statements/write,statements/read/mine).",
)
@click.option("--name", default="", help="A label for people reading `credentials list`.")
@click.option("--tenant", default=DEFAULT_TENANT, show_default=True)
@click.option("--agreement", default=None, metavar="ID",
              help="The agreement an export credential is bound to (with --scopes export).")
@click.option("--json", "as_json", is_flag=True, help="Print {\"key\", \"secret\"} as JSON.")
def create(
    scopes: tuple[str, ...], name: str, tenant: str, agreement: str | None, as_json: bool
) -> None:
    """Create a credential and print its secret (shown only this once)."""
    wanted = _split_scopes(scopes)
    with lrs_service() as lrs:
        if not lrs.tenants.exists(tenant):
            raise click.ClickException(
                f"no tenant {tenant}: create it first with `lrs tenants create {tenant}`"
            )
        try:
            credential, secret = lrs.credentials.create(
                operator(tenant), wanted, name=name, tenant=tenant, agreement=agreement
            )
        except ServiceError as exc:
            raise click.ClickException(exc.message) from None
    if as_json:
        click.echo(json.dumps({"key": credential.key, "secret": secret}))
    else:
        click.echo(f"key:    {credential.key}\nsecret: {secret}")
        click.echo("The secret is shown only now; the LRS keeps only a hash of it.", err=True)


@credentials.command("list")
@click.option("--tenant", default=None, help="Only this tenant's credentials.")
@click.option("--json", "as_json", is_flag=True)
def list_credentials(tenant: str | None, as_json: bool) -> None:
    """List credentials (never their secrets)."""
    with lrs_service() as lrs:
        if tenant is None:
            found = lrs.store.list_credentials()
        elif lrs.tenants.exists(tenant):
            found = lrs.credentials.list(operator(tenant), tenant)
        else:
            found = []
    rows = [public(credential) for credential in found]
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        status = "revoked" if row["revoked"] else "active"
        bound = f"  agreement={row['agreement']}" if row["agreement"] else ""
        click.echo(
            f"{row['key']}  {status:7}  {row['tenant']}  {','.join(row['scopes'])}  "
            f"{row['created']}  {row['name']}{bound}"
        )


@credentials.command("revoke")
@click.argument("key")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def revoke(key: str, yes: bool) -> None:
    """Revoke a credential: requests using it are refused from now on."""
    with lrs_service() as lrs:
        found = lrs.store.get_credential(key)
        if found is None:
            raise click.ClickException(f"no credential {key}")
        if found.revoked:
            click.echo(f"{key} was already revoked")
            return
        if not yes:
            click.confirm(f"Revoke credential {key} ({found.name})?", abort=True)
        lrs.credentials.revoke(operator(found.tenant), key)
    click.echo(f"revoked {key}")

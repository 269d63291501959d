"""`lrs audit`: read a tenant's audit log, and verify its hash chain."""

from __future__ import annotations

import json

import click

from lrs.cli.common import lrs_service, operator
from lrs.service.audit import entry_json
from statements import parse_timestamp, stored_timestamp
from storage import DEFAULT_TENANT

PAGE = 1000


@click.group(invoke_without_command=True)
@click.option("--tenant", default=DEFAULT_TENANT, show_default=True)
@click.option("--since", default=None, help="Only entries at or after this ISO 8601 time.")
@click.option("--action", default=None, help="Only this action (e.g. statements.reidentify).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def audit(
    ctx: click.Context, tenant: str, since: str | None, action: str | None, as_json: bool
) -> None:
    """The audit log of TENANT, oldest first (every access to personal data and every change
    of who may access it)."""
    if ctx.invoked_subcommand is not None:
        return
    bound = None
    if since is not None:
        try:
            bound = stored_timestamp(parse_timestamp(since))
        except ValueError:
            raise click.BadParameter(
                "must be an ISO 8601 timestamp", param_hint="--since"
            ) from None
    with lrs_service() as lrs:
        after = 0
        while True:
            entries = lrs.admin.read_audit(
                operator(tenant), tenant, after=after, since=bound, action=action, limit=PAGE
            )
            for entry in entries:
                if as_json:
                    click.echo(json.dumps(entry_json(entry)))
                else:
                    click.echo(
                        f"{entry.seq:>6}  {entry.time}  {entry.action:<22} {entry.resource:<12}"
                        f" count={entry.count:<6} credential={entry.credential}"
                        f"  request={entry.request_id}  {json.dumps(dict(entry.filters))}"
                    )
            if len(entries) < PAGE:
                break
            after = entries[-1].seq


@audit.command("verify")
@click.option("--tenant", default=None, help="One tenant (default: every tenant).")
def verify(tenant: str | None) -> None:
    """Check the hash chain of every entry; exit 1 at the first broken link."""
    broken_any = False
    with lrs_service() as lrs:
        names = [tenant] if tenant else [view.name for view in lrs.admin.list_tenants(operator())]
        for name in names:
            checked, broken = lrs.admin.verify_audit(operator(name), name)
            if broken is None:
                click.echo(f"{name}: {checked} entries, chain intact")
            else:
                broken_any = True
                click.echo(f"{name}: broken at entry {broken.seq}: {broken.reason}")
    if broken_any:
        raise SystemExit(1)

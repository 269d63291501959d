"""`lrs erase`: erasure on request, as the operator (the rules are `lrs.service.erasure`'s;
audited in the tenant's log, without the learner)."""

from __future__ import annotations

import json

import click

from lrs.cli.common import lrs_service, operator
from lrs.service import ServiceError
from statements import StatementError
from storage import DEFAULT_TENANT


def _refused(exc: ServiceError | StatementError) -> click.ClickException:
    if isinstance(exc, StatementError):
        problems = "; ".join(f"{path}: {', '.join(rules)}" for path, rules in exc.errors.items())
        return click.ClickException(problems)
    return click.ClickException(exc.message)


@click.command()
@click.option("--tenant", default=DEFAULT_TENANT, show_default=True)
@click.option(
    "--agent", "agent_json", required=True, metavar="JSON",
    help='The learner: an xAPI Agent with raw identifiers or their pseudonym, e.g. '
    '\'{"mbox": "mailto:kid@example.org"}\'.',
)
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase(tenant: str, agent_json: str, dry_run: bool, yes: bool) -> None:
    """Erase every record of a learner from TENANT; print the receipt (JSON)."""
    try:
        agent = json.loads(agent_json)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint="--agent") from None
    with lrs_service() as lrs:
        if not lrs.tenants.exists(tenant):
            raise click.ClickException(f"no tenant {tenant}")
        if not dry_run and not yes:
            click.confirm(
                f"Erase every record of this learner from tenant {tenant}? It cannot be undone.",
                abort=True,
            )
        try:
            receipt = lrs.erasure.erase(operator(tenant), agent, dry_run=dry_run)
        except (ServiceError, StatementError) as exc:
            raise _refused(exc) from None
    click.echo(json.dumps(receipt, indent=2))

"""`lrs reports`: upkeep of the facts the reports read."""

from __future__ import annotations

import click

from lrs.cli.common import lrs_service, operator
from storage import DEFAULT_TENANT


@click.group()
def reports() -> None:
    """The progress reports and indicators (README "Reports")."""


@reports.command("rebuild")
@click.option("--tenant", default=DEFAULT_TENANT, show_default=True)
def rebuild(tenant: str) -> None:
    """Compute TENANT's report facts again from its statements, with the dimensions its
    policy names now (run it after changing them; on MongoDB, with the tenant's ingest
    stopped)."""
    with lrs_service() as lrs:
        counted = lrs.reports.rebuild(operator(tenant), tenant)
    click.echo(f"tenant {tenant}: {counted} statements count in reports")

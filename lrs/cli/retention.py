"""`lrs retention run`: retention by period, as the operator (the rules are
`lrs.service.erasure`'s; each tenant's run is audited in its log). Meant to be run by a
scheduler (README "Retention": cron and systemd timer examples)."""

from __future__ import annotations

import json

import click

from lrs.cli.common import lrs_service, operator
from lrs.service import ServiceError


@click.group()
def retention() -> None:
    """Delete what the tenants' retention periods no longer allow keeping."""


@retention.command("run")
@click.option("--tenant", default=None, help="One tenant (default: every tenant).")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print {\"tenants\": [report...]}.")
def run(tenant: str | None, dry_run: bool, as_json: bool) -> None:
    """Delete the statements stored before each tenant's cut-off (now minus its
    `retention_days`), their attachments no other statement needs, and the learners'
    documents left orphaned; one report per tenant."""
    with lrs_service() as lrs:
        try:
            reports = lrs.erasure.retention(operator(), tenant, dry_run=dry_run)
        except ServiceError as exc:
            raise click.ClickException(exc.message) from None
    if as_json:
        click.echo(json.dumps({"tenants": reports}))
        return
    for report in reports:
        if report["retention_days"] is None:
            click.echo(f"{report['tenant']}: no retention period")
            continue
        counts = report["counts"]
        verb = "would delete" if dry_run else "deleted"
        click.echo(
            f"{report['tenant']}: {report['retention_days']} days, before {report['cutoff']}:"
            f" {verb} {counts['statements']} statements, {counts['attachments']} attachments,"
            f" {counts['documents']} documents"
        )

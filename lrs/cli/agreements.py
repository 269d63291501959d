"""`lrs agreements`: create, list, show and revoke data-sharing agreements, as the operator
(the rules are `lrs.service.agreements`'; every change is audited in the tenant's log)."""

from __future__ import annotations

import json
from typing import Any

import click

from lrs.cli.common import lrs_service, operator
from lrs.service import ServiceError
from storage import DEFAULT_TENANT, Agreement


def _fail(exc: ServiceError) -> click.ClickException:
    details = "; ".join(f"{path}: {', '.join(rules)}" for path, rules in exc.fields.items())
    return click.ClickException(details or exc.message)


def _show(terms: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(terms))
        return
    click.echo(f"{terms['id']}  {terms['status']}  {terms['partner']}  (tenant {terms['tenant']})")
    for name in ("purpose", "fields", "dimensions", "learner_ids", "since", "until", "starts",
                 "expires", "created", "revoked"):
        click.echo(f"  {name}: {json.dumps(terms[name])}")


def _split(values: tuple[str, ...]) -> list[str]:
    return [item for value in values for item in value.replace(",", " ").split()]


@click.group()
def agreements() -> None:
    """Data-sharing agreements: what a partner may receive, and until when."""


@agreements.command("create")
@click.option("--tenant", default=DEFAULT_TENANT, show_default=True)
@click.option("--partner", required=True, help="Who receives the data.")
@click.option("--purpose", required=True, help="Why (shown on the transparency page).")
@click.option("--field", "fields", multiple=True, required=True, metavar="FIELD",
              help="A field the partner receives (repeat, or comma separated), e.g. verb.id.")
@click.option("--dimension", "dimensions", multiple=True, metavar="NAME",
              help="A dimension of the tenant the partner receives (repeat).")
@click.option("--since", default=None, help="Statements stored after this ISO 8601 time.")
@click.option("--until", default=None, help="Statements stored up to this ISO 8601 time.")
@click.option("--starts", required=True, help="Exports allowed from this ISO 8601 time.")
@click.option("--expires", required=True, help="Exports refused from this ISO 8601 time.")
@click.option("--learner-ids/--no-learner-ids", default=False, show_default=True,
              help="Include learner ids, re-keyed for this agreement alone.")
@click.option("--json", "as_json", is_flag=True, help="Print the agreement as JSON.")
def create(
    tenant: str,
    partner: str,
    purpose: str,
    fields: tuple[str, ...],
    dimensions: tuple[str, ...],
    since: str | None,
    until: str | None,
    starts: str,
    expires: str,
    learner_ids: bool,
    as_json: bool,
) -> None:
    """Create an agreement; bind an export credential to its id with `lrs credentials
    create --scopes export --agreement ID`."""
    terms = {
        "partner": partner, "purpose": purpose, "fields": _split(fields),
        "dimensions": _split(dimensions), "since": since, "until": until, "starts": starts,
        "expires": expires, "learner_ids": learner_ids,
    }
    with lrs_service() as lrs:
        try:
            made = lrs.create_agreement(operator(tenant), terms, tenant=tenant)
        except ServiceError as exc:
            raise _fail(exc) from None
        _show(lrs.agreements.to_json(made), as_json)


@agreements.command("list")
@click.option("--tenant", default=DEFAULT_TENANT, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_agreements(tenant: str, as_json: bool) -> None:
    """The tenant's agreements, oldest first."""
    with lrs_service() as lrs:
        try:
            found = lrs.list_agreements(operator(tenant), tenant)
        except ServiceError as exc:
            raise _fail(exc) from None
        for agreement in found:
            terms = lrs.agreements.to_json(agreement)
            if as_json:
                click.echo(json.dumps(terms))
            else:
                click.echo(
                    f"{terms['id']}  {terms['status']:8} {terms['expires']}  {terms['partner']}"
                )


def _one(tenant: str, agreement_id: str) -> tuple[Agreement, dict[str, Any]]:
    with lrs_service() as lrs:
        try:
            found = lrs.get_agreement(operator(tenant), agreement_id, tenant)
        except ServiceError as exc:
            raise _fail(exc) from None
        return found, lrs.agreements.to_json(found)


@agreements.command("show")
@click.argument("agreement_id", metavar="ID")
@click.option("--tenant", default=DEFAULT_TENANT, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def show(agreement_id: str, tenant: str, as_json: bool) -> None:
    """One agreement and its terms."""
    _show(_one(tenant, agreement_id)[1], as_json)


@agreements.command("revoke")
@click.argument("agreement_id", metavar="ID")
@click.option("--tenant", default=DEFAULT_TENANT, show_default=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def revoke(agreement_id: str, tenant: str, yes: bool) -> None:
    """Revoke an agreement: its exports are refused from now on."""
    found, terms = _one(tenant, agreement_id)
    if found.revoked is not None:
        click.echo(f"{agreement_id} was already revoked")
        return
    if not yes:
        click.confirm(f"Revoke the agreement {agreement_id} with {found.partner}?", abort=True)
    with lrs_service() as lrs:
        try:
            lrs.revoke_agreement(operator(tenant), agreement_id, tenant)
        except ServiceError as exc:
            raise _fail(exc) from None
    click.echo(f"revoked {agreement_id} ({terms['partner']})")

"""`lrs tenants`: create, list, show and update tenants and their data policy (the rules
are `lrs.service.tenants`'; every change is audited in the tenant's log)."""

from __future__ import annotations

import json
from typing import Any

import click

from lrs.cli.common import lrs_service, operator
from lrs.service import ServiceError
from lrs.service.tenants import TenantView


def _policy_options(function: Any) -> Any:
    """The options setting policy fields, shared by create and update."""
    options = [
        click.option("--display-name", default=None, help="A name for people (default: NAME)."),
        click.option("--pseudonymize/--no-pseudonymize", default=None,
                     help="Replace identities by keyed pseudonyms before storage."),
        click.option("--allow-extension", "allowed", multiple=True, metavar="IRI",
                     help="Keep only these extension IRIs (repeat); others are dropped."),
        click.option("--keep-all-extensions", is_flag=True,
                     help="Keep every extension (no allow-list)."),
        click.option("--drop-field", "dropped", multiple=True, metavar="FIELD",
                     help="Drop this field before storage (repeat; supported: result.response)."),
        click.option("--dimension", "dimensions", multiple=True, metavar="NAME=IRI",
                     help="A demographic dimension reports may group by (repeat)."),
        click.option("--no-dimensions", is_flag=True, help="Remove every dimension."),
        click.option("--k", "k", type=int, default=None,
                     help="Minimum distinct learners behind a published aggregate (>= 2)."),
        click.option("--rounding", type=int, default=None,
                     help="Round published report counts to the nearest multiple (1: exact)."),
        click.option("--retention-days", type=int, default=None,
                     help="Delete statements stored longer ago than this."),
        click.option("--no-retention", is_flag=True, help="Keep statements until erased."),
        click.option("--notice-language", "languages", multiple=True, metavar="TAG",
                     help="A language of the tenant's privacy notice (repeat)."),
        click.option("--erasure-contact", default=None,
                     help="How a learner or guardian asks for erasure (shown on /privacy)."),
        click.option("--refuse-erased/--accept-erased", default=None,
                     help="Refuse statements naming a learner erased since (a keyed mark"
                          " of each erased learner is kept)."),
        click.option("--json", "as_json", is_flag=True, help="Print the tenant as JSON."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _overrides(values: dict[str, Any]) -> dict[str, Any]:
    """The policy JSON the options stand for (only what was given)."""
    policy: dict[str, Any] = {}
    if values["pseudonymize"] is not None:
        policy["pseudonymize"] = values["pseudonymize"]
    if values["refuse_erased"] is not None:
        policy["refuse_erased"] = values["refuse_erased"]
    if values["keep_all_extensions"] and values["allowed"]:
        raise click.UsageError("--allow-extension and --keep-all-extensions contradict")
    if values["keep_all_extensions"]:
        policy["allowed_extensions"] = None
    elif values["allowed"]:
        policy["allowed_extensions"] = list(values["allowed"])
    if values["dropped"]:
        policy["drop_fields"] = list(values["dropped"])
    if values["no_dimensions"] and values["dimensions"]:
        raise click.UsageError("--dimension and --no-dimensions contradict")
    if values["no_dimensions"]:
        policy["dimensions"] = {}
    elif values["dimensions"]:
        dimensions: dict[str, str] = {}
        for item in values["dimensions"]:
            name, equals, iri = item.partition("=")
            if not equals:
                raise click.BadParameter(f"{item!r} is not NAME=IRI", param_hint="--dimension")
            dimensions[name.strip()] = iri.strip()
        policy["dimensions"] = dimensions
    if values["k"] is not None:
        policy["k"] = values["k"]
    if values["rounding"] is not None:
        policy["rounding"] = values["rounding"]
    if values["no_retention"] and values["retention_days"] is not None:
        raise click.UsageError("--retention-days and --no-retention contradict")
    if values["no_retention"]:
        policy["retention_days"] = None
    elif values["retention_days"] is not None:
        policy["retention_days"] = values["retention_days"]
    if values["languages"]:
        policy["notice_languages"] = list(values["languages"])
    if values["erasure_contact"] is not None:
        policy["erasure_contact"] = values["erasure_contact"]
    return policy


def _show(view: TenantView, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(view.to_json()))
        return
    click.echo(f"{view.name}  ({view.display_name}), revision {view.revision}")
    for name, value in view.policy.to_json().items():
        click.echo(f"  {name}: {json.dumps(value)}")


def _fail(exc: ServiceError) -> click.ClickException:
    details = "; ".join(f"{path}: {', '.join(rules)}" for path, rules in exc.fields.items())
    return click.ClickException(details or exc.message)


@click.group()
def tenants() -> None:
    """Tenants (one per country or programme) and their data policy."""


@tenants.command("create")
@click.argument("name")
@_policy_options
def create(name: str, display_name: str | None, as_json: bool, **values: Any) -> None:
    """Create tenant NAME; the configuration gives what the options leave out."""
    policy = _overrides(values)
    with lrs_service() as lrs:
        try:
            view = lrs.admin.create_tenant(
                operator(name), name, display_name=display_name or "", policy=policy
            )
        except ServiceError as exc:
            raise _fail(exc) from None
    _show(view, as_json)


@tenants.command("update")
@click.argument("name")
@_policy_options
def update(name: str, display_name: str | None, as_json: bool, **values: Any) -> None:
    """Change tenant NAME's display name or policy fields; takes effect at the next request
    on every worker."""
    policy = _overrides(values)
    with lrs_service() as lrs:
        try:
            view = lrs.admin.update_tenant(
                operator(name), name, display_name=display_name, policy=policy
            )
        except ServiceError as exc:
            raise _fail(exc) from None
    _show(view, as_json)


@tenants.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_tenants(as_json: bool) -> None:
    """Every tenant with its main settings."""
    with lrs_service() as lrs:
        views = lrs.admin.list_tenants(operator())
    if as_json:
        click.echo(json.dumps([view.to_json() for view in views]))
        return
    for view in views:
        policy = view.policy
        click.echo(
            f"{view.name}  pseudonymize={'on' if policy.pseudonymize else 'off'}  k={policy.k}"
            f"  retention={policy.retention_days or 'none'}"
            f"  dimensions={','.join(name for name, _ in policy.dimensions) or '-'}"
            f"  {view.display_name}"
        )


@tenants.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
def show(name: str, as_json: bool) -> None:
    """One tenant and its whole policy."""
    with lrs_service() as lrs:
        try:
            view = lrs.admin.get_tenant(operator(name), name)
        except ServiceError as exc:
            raise _fail(exc) from None
    _show(view, as_json)

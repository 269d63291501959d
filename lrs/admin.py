"""The admin API (JSON, not xAPI) under `/admin/`: tenants and their policies, credentials,
data-sharing agreements, the audit log, erasure.

HTTP Basic credentials as for the xAPI; scopes `admin` (the credential's own tenant) and
`platform` (every tenant), `erase` for erasure (the credential's tenant). Errors have the
service's one JSON shape. The rules are the service core's (`lrs.service.admin`,
`lrs.service.erasure`); here requests are parsed and answers rendered.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from flask import Blueprint, Response, request

from lrs.errors import bad_request
from lrs.extension import lrs_extension, service
from lrs.protocol import authorize, query_params
from lrs.service.agreements import BODY_FIELDS
from lrs.service.audit import entry_json
from lrs.service.credentials import public
from lrs.service.principal import ADMIN_SCOPES, ERASE_SCOPES, PLATFORM_SCOPES
from statements import parse_timestamp, stored_timestamp

bp = Blueprint("admin", __name__)

AUDIT_PAGE_MAX = 1000


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status=status, mimetype="application/json")


def _body(allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON object body; 400 for anything else, an unknown key or a missing one."""
    if request.mimetype != "application/json":
        raise bad_request("Content-Type must be application/json", field="Content-Type")
    try:
        data = orjson.loads(request.get_data(cache=False))
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"the body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise bad_request("the body must be a JSON object", code="invalid_json")
    for key in data:
        if key not in allowed:
            raise bad_request(f"unknown field {key}", field=key)
    for key in required:
        if key not in data:
            raise bad_request(f"{key} is required", field=key)
    return data


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"{key} must be a string", field=key)
    return value


def _object(data: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = data.get(key)
    if value is not None and not isinstance(value, dict):
        raise bad_request(f"{key} must be an object", field=key)
    return value


@bp.get("/tenants")
def list_tenants() -> Response:
    principal = authorize(ADMIN_SCOPES)
    query_params(allowed=())
    views = service().admin.list_tenants(principal)
    return _json({"tenants": [view.to_json() for view in views]})


@bp.post("/tenants")
def create_tenant() -> Response:
    principal = authorize(PLATFORM_SCOPES)
    query_params(allowed=())
    data = _body(("name", "display_name", "policy"), required=("name",))
    name = _text(data, "name") or ""
    view = service().admin.create_tenant(
        principal, name, display_name=_text(data, "display_name") or "",
        policy=_object(data, "policy"),
    )
    return _json(view.to_json(), status=201)


@bp.get("/tenants/<name>")
def get_tenant(name: str) -> Response:
    principal = authorize(ADMIN_SCOPES)
    query_params(allowed=())
    return _json(service().admin.get_tenant(principal, name).to_json())


@bp.patch("/tenants/<name>")
def update_tenant(name: str) -> Response:
    principal = authorize(ADMIN_SCOPES)
    query_params(allowed=())
    data = _body(("display_name", "policy"))
    view = service().admin.update_tenant(
        principal, name, display_name=_text(data, "display_name"), policy=_object(data, "policy")
    )
    return _json(view.to_json())


@bp.get("/credentials")
def list_credentials() -> Response:
    """The credentials of the admin's tenant (`?tenant=` for `platform`), never secrets."""
    principal = authorize(ADMIN_SCOPES)
    params = query_params(allowed=("tenant",))
    found = service().credentials.list(principal, params.get("tenant"))
    return _json({"credentials": [public(credential) for credential in found]})


@bp.post("/credentials")
def create_credential() -> Response:
    """A new credential: `{"scopes": [...], "name": "...", "tenant": "..." (platform)}`;
    the answer holds its secret, this once."""
    principal = authorize(ADMIN_SCOPES)
    query_params(allowed=())
    data = _body(("scopes", "name", "tenant", "agreement"), required=("scopes",))
    scopes = data["scopes"]
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise bad_request("scopes must be an array of strings", field="scopes")
    credential, secret = service().credentials.create(
        principal, scopes, name=_text(data, "name") or "", tenant=_text(data, "tenant"),
        agreement=_text(data, "agreement"),
    )
    return _json({**public(credential), "secret": secret}, status=201)


@bp.post("/credentials/<key>/revoke")
def revoke_credential(key: str) -> Response:
    """Refuse the credential from the next request on (in this worker; in the others within
    `auth_cache_seconds`)."""
    principal = authorize(ADMIN_SCOPES)
    query_params(allowed=())
    revoked = service().credentials.revoke(principal, key)
    lrs_extension().authenticator.forget(key)
    return _json(public(revoked))


@bp.post("/erasure")
def erase() -> Response:
    """Erase a learner from the credential's tenant: `{"agent": Agent, "dry_run": false}`;
    the answer is the receipt (README "Erasure")."""
    principal = authorize(ERASE_SCOPES)
    query_params(allowed=())
    data = _body(("agent", "dry_run"), required=("agent",))
    dry_run = data.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise bad_request("dry_run must be true or false", field="dry_run")
    return _json(service().erasure.erase(principal, data["agent"], dry_run=dry_run))


@bp.get("/agreements")
def list_agreements() -> Response:
    """The agreements of the admin's tenant (`?tenant=` for `platform`), oldest first."""
    principal = authorize(ADMIN_SCOPES)
    params = query_params(allowed=("tenant",))
    lrs = service()
    found = lrs.list_agreements(principal, params.get("tenant"))
    return _json({"agreements": [lrs.agreements.to_json(agreement) for agreement in found]})


@bp.post("/agreements")
def create_agreement() -> Response:
    """A new agreement from its terms (`tenant` too, for `platform`); 201 with its `id`."""
    principal = authorize(ADMIN_SCOPES)
    query_params(allowed=())
    data = _body((*BODY_FIELDS, "tenant"))
    tenant = _text(data, "tenant")
    data.pop("tenant", None)
    lrs = service()
    agreement = lrs.create_agreement(principal, data, tenant=tenant)
    return _json(lrs.agreements.to_json(agreement), status=201)


@bp.get("/agreements/<agreement_id>")
def get_agreement(agreement_id: str) -> Response:
    principal = authorize(ADMIN_SCOPES)
    params = query_params(allowed=("tenant",))
    lrs = service()
    agreement = lrs.get_agreement(principal, agreement_id, params.get("tenant"))
    return _json(lrs.agreements.to_json(agreement))


@bp.post("/agreements/<agreement_id>/revoke")
def revoke_agreement(agreement_id: str) -> Response:
    """Refuse the agreement's exports from the next request on."""
    principal = authorize(ADMIN_SCOPES)
    params = query_params(allowed=("tenant",))
    lrs = service()
    agreement = lrs.revoke_agreement(principal, agreement_id, params.get("tenant"))
    return _json(lrs.agreements.to_json(agreement))


def _audit_tenant(params: dict[str, str], own: str) -> str:
    return params.get("tenant") or own


@bp.get("/audit")
def read_audit() -> Response:
    """The audit log, oldest first, keyset-paged by `seq`: `more` continues after the last
    entry of this page."""
    principal = authorize(ADMIN_SCOPES)
    params = query_params(allowed=("tenant", "after", "since", "action", "limit"))
    tenant = _audit_tenant(params, principal.tenant)
    after = _count(params, "after", 0)
    limit = min(_count(params, "limit", 100) or 100, AUDIT_PAGE_MAX)
    since = None
    if "since" in params:
        try:
            since = stored_timestamp(parse_timestamp(params["since"]))
        except ValueError:
            raise bad_request("since must be an ISO 8601 timestamp", field="since") from None
    entries = service().admin.read_audit(
        principal, tenant, after=after, since=since, action=params.get("action"), limit=limit
    )
    more = ""
    if len(entries) == limit:
        following = {**params, "after": str(entries[-1].seq)}
        more = request.script_root + request.path + "?" + urlencode(following)
    return _json({"entries": [entry_json(e) for e in entries], "more": more})


@bp.get("/audit/verify")
def verify_audit() -> Response:
    principal = authorize(ADMIN_SCOPES)
    params = query_params(allowed=("tenant",))
    tenant = _audit_tenant(params, principal.tenant)
    checked, broken = service().admin.verify_audit(principal, tenant)
    return _json({
        "tenant": tenant,
        "checked": checked,
        "broken": None if broken is None else {"seq": broken.seq, "reason": broken.reason},
    })


def _count(params: dict[str, str], name: str, default: int) -> int:
    if name not in params:
        return default
    text = params[name]
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise bad_request(f"{name} must be a non-negative integer", field=name)
    return int(text)

"""The dashboard `/dashboard/` for programme teams: a login form taking the key and secret
of a credential with the `reports` scope, and the tenant's indicators, course funnel and
groups, all from the report operations of the service core, with small groups shown as
suppressed, never as a number.

Sessions (`lrs.service.sessions`): the cookie holds a random session id, `HttpOnly`,
`SameSite=Strict`, `Secure` over HTTPS or with `secure_cookies`, ending with the session;
the store keeps the id's hash, so logging out (or revoking the credential) ends it for any
copy of the cookie. Forms carry a token checked against the session (the login form against
a cookie of its own: double submit), so no other site can post them. Failed logins are
throttled as API logins are (the same `Authenticator`).
"""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec
from urllib.parse import urlencode

from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from lrs.dashboard_views import TABLES, DashboardFilters, DashboardReports, parse_filters
from lrs.errors import ApiError
from lrs.extension import lrs_extension
from lrs.front import catalogue
from lrs.protocol import client_address
from lrs.reports import csv_text
from lrs.service.principal import REPORTS
from lrs.service.sessions import DashboardSessions, OpenSession

bp = Blueprint("dashboard", __name__)
P = ParamSpec("P")

SESSION_COOKIE = "lrs_session"
LOGIN_COOKIE = "lrs_login"


def _sessions() -> DashboardSessions:
    extension = lrs_extension()
    return DashboardSessions(extension.store, hours=extension.config.session_hours)


def _secure() -> bool:
    return request.is_secure or lrs_extension().config.secure_cookies


def _cookie(response: BaseResponse, name: str, value: str, *, max_age: int | None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="Strict", secure=_secure(),
        path="/dashboard",
    )


def _page(template: str, status: int = 200, **context: Any) -> Response:
    html = render_template(template, t=catalogue(), **context)
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self';"
        " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def current() -> OpenSession | None:
    """The live session of this request's cookie, or None."""
    return _sessions().find(request.cookies.get(SESSION_COOKIE))


def require_session(
    view: Callable[Concatenate[OpenSession, P], BaseResponse],
) -> Callable[P, BaseResponse]:
    """A view for logged-in users only; others are sent to the login form."""

    def wrapped(*args: P.args, **kwargs: P.kwargs) -> BaseResponse:
        session = current()
        if session is None:
            return redirect(url_for("dashboard.login"), code=303)
        return view(session, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _login_form(message: str | None = None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = _page("dashboard/login.html", status, message=message, csrf=token)
    _cookie(response, LOGIN_COOKIE, token, max_age=3600)
    return response


@bp.get("/login")
def login() -> BaseResponse:
    if current() is not None:
        return redirect(url_for("dashboard.index"), code=303)
    return _login_form()


@bp.post("/login")
def do_login() -> BaseResponse:
    t = catalogue()
    sent, expected = request.form.get("csrf", ""), request.cookies.get(LOGIN_COOKIE, "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        return _login_form(t("login.expired"), status=400)
    key, secret = request.form.get("key", "").strip(), request.form.get("secret", "")
    header = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
    extension = lrs_extension()
    try:
        principal = extension.authenticator.authenticate(
            header, client=client_address(extension.config)
        )
    except ApiError as exc:
        if exc.status == 429:
            wait = exc.headers.get("Retry-After", "60")
            return _login_form(t("login.throttled", seconds=wait), status=429)
        return _login_form(t("login.failed"), status=401)
    if REPORTS not in principal.scopes:
        return _login_form(t("login.not_reports"), status=403)
    session_id, _ = _sessions().start(principal)
    response = redirect(url_for("dashboard.index"), code=303)
    _cookie(response, SESSION_COOKIE, session_id, max_age=extension.config.session_hours * 3600)
    response.delete_cookie(LOGIN_COOKIE, path="/dashboard")
    return response


@bp.post("/logout")
def logout() -> BaseResponse:
    session = current()
    if session is not None and session.csrf_matches(request.form.get("csrf")):
        _sessions().end(request.cookies.get(SESSION_COOKIE))
    elif session is not None:
        return _page("dashboard/login.html", 400, message=None, csrf="")
    response = redirect(url_for("dashboard.login"), code=303)
    response.delete_cookie(SESSION_COOKIE, path="/dashboard")
    return response


def _filters(session: OpenSession) -> tuple[DashboardFilters, list[str]]:
    policy = lrs_extension().service.tenants.get(session.principal.tenant).policy
    params = {name: request.args.get(name, "") for name in request.args}
    return parse_filters(params, policy, catalogue(), datetime.now(UTC).date())


@bp.get("/")
@require_session
def index(session: OpenSession) -> Response:
    """The tenant's reports for the chosen window, course and dimension (400 with the
    defaults shown when a filter was wrong)."""
    lrs = lrs_extension().service
    t = catalogue()
    filters, errors = _filters(session)
    tenant = lrs.tenants.get(session.principal.tenant)
    reports = DashboardReports(lrs, session.principal, t)
    return _page(
        "dashboard/index.html", 400 if errors else 200, session=session, tenant=tenant,
        filters=filters, errors=errors, k=tenant.policy.k,
        dimensions=sorted(tenant.policy.dimension_iris), courses=reports.courses(filters),
        activity=reports.activity(filters), groups=reports.groups(filters),
        funnel=reports.funnel(filters),
    )


@bp.get("/download/<table>.csv")
@require_session
def download(session: OpenSession, table: str) -> BaseResponse:
    """What a table on screen shows, as the report endpoints' CSV (`lrs.reports`)."""
    filters, errors = _filters(session)
    if table not in TABLES or errors:
        problems = errors or [catalogue()("filter.table", name=table)]
        return Response("\n".join(problems) + "\n", 400, mimetype="text/plain")
    report = DashboardReports(lrs_extension().service, session.principal, catalogue()).report(
        table, filters
    )
    if report is None:
        return redirect(f"{url_for('dashboard.index')}?{urlencode(filters.query)}", code=303)
    response = Response(csv_text(report), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{table}-{filters.since}-{filters.until}.csv"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response

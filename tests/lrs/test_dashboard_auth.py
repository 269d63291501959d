"""The front page and the dashboard's login, sessions and logout (issue 14), on every
backend. The dashboard's numbers are tested in a real browser (tests/e2e/test_dashboard.py)."""

from __future__ import annotations

import re

from flask import Flask

from lrs.extension import EXTENSION


def credential(app: Flask, scopes: list[str]) -> tuple[str, str]:
    from lrs.service.credentials import new_credential

    made, secret = new_credential(scopes, home_page="https://lrs.test")
    app.extensions[EXTENSION].store.put_credential(made)
    return made.key, secret


def login(client, key: str, secret: str, csrf: str | None = None):
    form = client.get("/dashboard/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.get_data(as_text=True)).group(1)
    return client.post("/dashboard/login", data={
        "csrf": token if csrf is None else csrf, "key": key, "secret": secret})


def test_the_front_page_says_what_this_server_is(app, api):
    page = app.test_client().get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "http://localhost/xapi/" in html
    assert 'href="/dashboard/"' in html
    assert 'href="/privacy/default"' in html
    assert "1.0.3" in html and "2.0.0" in html
    assert app.test_client().get("/?lang=zz").status_code == 200
    assert app.test_client().get("/?colour=red").status_code == 400


def test_a_reports_credential_logs_in_and_out(app):
    client = app.test_client()
    key, secret = credential(app, ["reports"])
    assert client.get("/dashboard/").headers["Location"].endswith("/dashboard/login")
    answer = login(client, key, secret)
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/dashboard/")
    cookie = next(h for h in answer.headers.getlist("Set-Cookie") if h.startswith("lrs_session="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # plain HTTP and no secure_cookies setting
    page = client.get("/dashboard/")
    assert page.status_code == 200
    assert "no-store" in page.headers["Cache-Control"]
    token = re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    stolen = cookie.split(";")[0].split("=", 1)[1]
    assert client.post("/dashboard/logout", data={"csrf": "wrong"}).status_code == 400
    assert client.get("/dashboard/").status_code == 200  # not logged out by a forged post
    assert client.post("/dashboard/logout", data={"csrf": token}).status_code == 303
    assert client.get("/dashboard/").status_code == 303
    # The session ended in the store: a copy of the cookie opens nothing.
    other = app.test_client()
    other.set_cookie("lrs_session", stolen, path="/dashboard")
    assert other.get("/dashboard/").status_code == 303


def test_logins_that_must_fail_fail(app):
    client = app.test_client()
    key, secret = credential(app, ["reports"])
    assert login(client, key, secret, csrf="forged").status_code == 400
    assert login(client, key, "wrong").status_code == 401
    no_reports_key, no_reports_secret = credential(app, ["all", "reidentify"])
    refused = login(client, no_reports_key, no_reports_secret)
    assert refused.status_code == 403
    assert "reports permission" in refused.get_data(as_text=True)
    assert not any(h.startswith("lrs_session=") for h in refused.headers.getlist("Set-Cookie"))
    assert client.get("/dashboard/").status_code == 303


def test_failed_logins_are_throttled_like_api_logins(app):
    client = app.test_client()
    key, secret = credential(app, ["reports"])
    limit = app.extensions[EXTENSION].config.auth_failure_limit
    answers = [login(client, key, "wrong").status_code for _ in range(limit + 1)]
    assert answers[-1] == 429
    # The real secret still gets in: nobody can lock a user out by failing for them.
    assert login(client, key, secret).status_code == 303


def test_revoking_the_credential_ends_its_sessions(app):
    import dataclasses

    client = app.test_client()
    key, secret = credential(app, ["reports"])
    login(client, key, secret)
    assert client.get("/dashboard/").status_code == 200
    store = app.extensions[EXTENSION].store
    store.put_credential(dataclasses.replace(store.get_credential(key), revoked=True))
    assert client.get("/dashboard/").status_code == 303


def test_the_cookie_is_secure_behind_a_tls_proxy(app_config):
    from lrs import create_app

    app = create_app({**app_config, "secure_cookies": True})
    try:
        key, secret = credential(app, ["reports"])
        answer = login(app.test_client(), key, secret)
        cookie = next(
            h for h in answer.headers.getlist("Set-Cookie") if h.startswith("lrs_session=")
        )
        assert "Secure" in cookie
    finally:
        app.extensions[EXTENSION].close()


def test_an_ended_session_asks_for_a_new_login(app):
    client = app.test_client()
    key, secret = credential(app, ["reports"])
    login(client, key, secret)
    store = app.extensions[EXTENSION].store
    assert store.delete_expired_sessions("9999-01-01T00:00:00.000000Z") == 1
    assert client.get("/dashboard/").status_code == 303

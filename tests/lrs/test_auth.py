"""HTTP Basic authentication, scrypt secrets, the verification cache and scopes
(Communication 4.0, 4.2; 3.2 for 401/403)."""

from __future__ import annotations

import dataclasses

import orjson
import pytest
from lrs_testing import HOME_PAGE, basic, statement

from lrs import auth
from lrs.auth import Authenticator
from lrs.errors import ApiError
from lrs.extension import EXTENSION
from lrs.service import credentials
from lrs.service.credentials import hash_secret, new_credential, verify_secret


def test_hash_is_salted_and_self_describing():
    first, second = hash_secret("s3cret"), hash_secret("s3cret")
    assert first != second
    scheme, n, r, p, _salt, _digest = first.split("$")
    assert (scheme, n, r, p) == ("scrypt", str(2**14), "8", "1")
    assert "s3cret" not in first


def test_verify_secret():
    stored = hash_secret("right")
    assert verify_secret("right", stored)
    assert not verify_secret("wrong", stored)
    assert not verify_secret("right", "garbage")
    assert not verify_secret("right", "bcrypt$1$2$3$4$5")


def test_new_credential_rejects_unknown_scopes():
    with pytest.raises(ValueError, match="unknown scopes"):
        new_credential(["all", "everything"], home_page=HOME_PAGE)
    with pytest.raises(ValueError):
        new_credential([], home_page=HOME_PAGE)


def test_new_credential_authority_is_an_account_named_by_the_key():
    credential, secret = new_credential(["all"], home_page=HOME_PAGE, name="n", tenant="t")
    assert orjson.loads(credential.authority) == {
        "objectType": "Agent", "account": {"homePage": HOME_PAGE, "name": credential.key}
    }
    assert credential.tenant == "t"
    assert secret not in repr(credential)
    assert verify_secret(secret, credential.secret_hash)


class _Store:
    def __init__(self, credential):
        self.credential = credential

    def get_credential(self, key):
        return self.credential if self.credential and self.credential.key == key else None


def _header(key, secret):
    return basic(key, secret)["Authorization"]


def test_scrypt_runs_once_per_secret_then_the_cache_answers(monkeypatch):
    credential, secret = new_credential(["all"], home_page=HOME_PAGE)
    authenticator = Authenticator(_Store(credential))
    calls = []
    real = auth.verify_secret
    monkeypatch.setattr(auth, "verify_secret", lambda s, h: calls.append(1) or real(s, h))
    for _ in range(3):
        principal = authenticator.authenticate(_header(credential.key, secret))
    assert len(calls) == 1
    assert principal.key == credential.key
    assert principal.authority["account"]["name"] == credential.key
    # A wrong secret is never answered from the cache.
    with pytest.raises(ApiError) as info:
        authenticator.authenticate(_header(credential.key, "wrong"))
    assert info.value.status == 401
    assert secret not in repr(authenticator)


def test_revocation_and_secret_change_take_effect_immediately():
    credential, secret = new_credential(["all"], home_page=HOME_PAGE)
    store = _Store(credential)
    authenticator = Authenticator(store)
    authenticator.authenticate(_header(credential.key, secret))
    store.credential = dataclasses.replace(credential, revoked=True)
    with pytest.raises(ApiError):
        authenticator.authenticate(_header(credential.key, secret))
    store.credential = dataclasses.replace(credential, secret_hash=hash_secret("new"))
    with pytest.raises(ApiError):
        authenticator.authenticate(_header(credential.key, secret))
    assert authenticator.authenticate(_header(credential.key, "new")).key == credential.key


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class _CountingStore(_Store):
    reads = 0

    def get_credential(self, key):
        self.reads += 1
        return super().get_credential(key)


def test_cached_header_skips_the_credential_read_for_cache_seconds():
    credential, secret = new_credential(["all"], home_page=HOME_PAGE)
    store, clock = _CountingStore(credential), _Clock()
    authenticator = Authenticator(store, clock=clock, cache_seconds=2)
    header = _header(credential.key, secret)
    for _ in range(3):
        assert authenticator.authenticate(header).key == credential.key
    assert store.reads == 1
    # Revoked by another process: refused once the cached entry is older than the bound.
    store.credential = dataclasses.replace(credential, revoked=True)
    clock.now += 1.9
    assert authenticator.authenticate(header).key == credential.key
    clock.now += 0.2
    with pytest.raises(ApiError) as info:
        authenticator.authenticate(header)
    assert info.value.status == 401
    assert secret not in repr(authenticator)


def test_forget_drops_the_cached_header_at_once():
    credential, secret = new_credential(["all"], home_page=HOME_PAGE)
    store = _CountingStore(credential)
    authenticator = Authenticator(store, cache_seconds=60)
    header = _header(credential.key, secret)
    authenticator.authenticate(header)
    store.credential = dataclasses.replace(credential, revoked=True)
    authenticator.forget(credential.key)
    with pytest.raises(ApiError):
        authenticator.authenticate(header)


def test_a_wrong_secret_is_never_answered_from_the_header_cache():
    credential, secret = new_credential(["all"], home_page=HOME_PAGE)
    authenticator = Authenticator(_Store(credential), cache_seconds=60)
    authenticator.authenticate(_header(credential.key, secret))
    with pytest.raises(ApiError) as info:
        authenticator.authenticate(_header(credential.key, secret + "x"))
    assert info.value.status == 401


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer abc", "Basic", "Basic !!!notbase64", "Basic " + "bm9jb2xvbg=="],
)
def test_malformed_authorization_is_401(header):
    with pytest.raises(ApiError) as info:
        Authenticator(_Store(None)).authenticate(header)
    assert info.value.status == 401
    assert info.value.headers["WWW-Authenticate"].startswith("Basic")


# --- over HTTP -------------------------------------------------------------------------


def test_missing_credentials_401_with_challenge(api):
    response = api.get("/xapi/statements", auth=False)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.json["error"]["code"] == "unauthorized"
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


def test_wrong_secret_and_unknown_key_401(api, app):
    credential, _ = new_credential(["all"], home_page=HOME_PAGE)
    app.extensions[EXTENSION].store.put_credential(credential)
    assert api.get("/xapi/statements", auth=basic(credential.key, "nope")).status_code == 401
    assert api.get("/xapi/statements", auth=basic("unknown", "nope")).status_code == 401


def test_revoked_credential_refused_at_once_without_the_header_cache(app_config):
    """auth_cache_seconds 0: a revocation written by any process (here: directly on the
    store, as `lrs credentials revoke` does) is refused from the next request on."""
    from lrs_testing import Api, add_credential

    from lrs import create_app

    app = create_app({**app_config, "auth_cache_seconds": 0})
    try:
        headers, key = add_credential(app, ["all"])
        api = Api(app.test_client(), headers)
        assert api.get("/xapi/statements", auth=headers).status_code == 200
        store = app.extensions[EXTENSION].store
        store.put_credential(dataclasses.replace(store.get_credential(key), revoked=True))
        assert api.get("/xapi/statements", auth=headers).status_code == 401
    finally:
        app.extensions[EXTENSION].close()


@pytest.mark.parametrize(
    ("scopes", "read", "write"),
    [
        (["all"], 200, 200),
        (["all/read"], 200, 403),
        (["statements/read"], 200, 403),
        (["statements/read/mine"], 200, 403),
        (["statements/write"], 403, 200),
        (["state", "profile", "define"], 403, 403),
        (["reidentify"], 403, 403),
    ],
)
def test_scopes_per_endpoint(app, api, scopes, read, write):
    """Communication 4.2 scope list; 403 when the credential lacks the scope (3.2)."""
    from lrs_testing import add_credential

    headers, _ = add_credential(app, scopes)
    assert api.get("/xapi/statements", auth=headers).status_code == read
    assert api.post_statements(statement(), auth=headers).status_code == write
    forbidden = api.get("/xapi/statements", auth=headers)
    if read == 403:
        assert forbidden.json["error"]["code"] == "forbidden"


def test_authority_is_the_credentials_agent(app, api):
    """Data 2.4.9: the LRS sets authority from the credential, whatever was sent."""
    from lrs_testing import add_credential

    headers, key = add_credential(app, ["all"])
    sent = statement(authority={"mbox": "mailto:forged@example.com", "objectType": "Agent"})
    assert api.post_statements(sent, auth=headers).status_code == 200
    got = api.get("/xapi/statements", query_string={"statementId": sent["id"]}).json
    assert got["authority"] == {
        "objectType": "Agent", "account": {"homePage": HOME_PAGE, "name": key}
    }


def test_secret_never_in_responses_or_errors(app, api):
    from lrs_testing import add_credential

    headers, key = add_credential(app, ["statements/write"])
    secret = _secret_of(headers)
    for response in (
        api.get("/xapi/statements", auth=headers),
        api.post_statements({"bad": 1}, auth=headers),
        api.get("/xapi/statements", auth=basic(key, secret + "x")),
    ):
        assert secret.encode() not in response.data
        assert secret not in str(response.headers)


def _secret_of(headers):
    import base64

    return base64.b64decode(headers["Authorization"].split()[1]).decode().split(":", 1)[1]


# --- hashing formats and the cost of failed logins (issue 10, item 5) -----------------


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def scrypt_calls(monkeypatch):
    """Every hashlib.scrypt call made by lrs.auth."""
    calls = []
    real = auth.hashlib.scrypt
    monkeypatch.setattr(auth.hashlib, "scrypt",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def _refused(authenticator, header, client="192.0.2.1"):
    with pytest.raises(ApiError) as info:
        authenticator.authenticate(header, client=client)
    return info.value


def test_generated_secrets_get_the_fast_format_and_both_formats_verify():
    credential, secret = new_credential(["all"], home_page=HOME_PAGE)
    scheme, salt, digest = credential.secret_hash.split("$")
    assert scheme == "hmac-sha256"
    assert secret not in credential.secret_hash
    assert not credentials.is_slow_hash(credential.secret_hash)
    assert verify_secret(secret, credential.secret_hash)
    assert not verify_secret(secret + "x", credential.secret_hash)
    assert credentials.hash_generated_secret(secret) != credential.secret_hash  # salted
    legacy = hash_secret(secret)  # stores made before keep verifying
    assert credentials.is_slow_hash(legacy)
    assert verify_secret(secret, legacy)
    for malformed in ("hmac-sha256$", "hmac-sha256$a$b$c", f"hmac-sha256$!!!${digest}",
                      "hmac-sha256$" + salt):
        assert not verify_secret(secret, malformed)


def test_failed_logins_on_generated_credentials_cost_no_scrypt(scrypt_calls):
    """The CPU weapon: each wrong secret used to cost one scrypt."""
    credential, secret = new_credential(["all"], home_page=HOME_PAGE)
    authenticator = Authenticator(_Store(credential))
    for attempt in range(30):
        with pytest.raises(ApiError) as info:
            authenticator.authenticate(_header(credential.key, f"wrong{attempt}"))
        assert info.value.status in (401, 429)
    assert authenticator.authenticate(_header(credential.key, secret)).key == credential.key
    assert scrypt_calls == []


def test_unknown_keys_cost_at_most_the_limit_of_scrypts_per_address(scrypt_calls):
    """An unknown key costs one scrypt, as a wrong secret for an scrypt hash does (keys
    cannot be probed by timing), but an address past its limit gets 429 without one."""
    authenticator = Authenticator(_Store(None), failure_limit=4)
    statuses = [_refused(authenticator, _header(f"unknown{i}", "x"), client="192.0.2.9")
                .status for i in range(50)]
    assert statuses == [401] * 3 + [429] * 47
    assert len(scrypt_calls) == 4


def test_wrong_secrets_for_a_key_get_429_but_the_right_one_gets_in():
    clock = _Clock()
    credential, secret = new_credential(["all"], home_page=HOME_PAGE)
    authenticator = Authenticator(_Store(credential), failure_limit=3, failure_window=60,
                                  clock=clock)
    statuses = [
        _refused(authenticator, _header(credential.key, "wrong"), client=f"198.51.100.{i}")
        .status for i in range(5)
    ]
    assert statuses == [401, 401, 429, 429, 429]
    error = _refused(authenticator, _header(credential.key, "wrong"), client="198.51.100.9")
    assert error.code == "too_many_requests"
    assert error.headers["Retry-After"] == "60"
    clock.now += 45
    error = _refused(authenticator, _header(credential.key, "wrong"), client="198.51.100.9")
    assert error.headers["Retry-After"] == "15"
    # The real user, even from an address that failed too, is never locked out.
    for client in ("198.51.100.9", "203.0.113.7", None):
        assert authenticator.authenticate(_header(credential.key, secret), client=client)
    clock.now += 16  # the window is over: counting starts again
    assert _refused(authenticator, _header(credential.key, "wrong")).status == 401


def test_wrong_logins_from_an_address_get_429_across_keys():
    credential, secret = new_credential(["all"], home_page=HOME_PAGE)
    authenticator = Authenticator(_Store(credential), failure_limit=3)
    statuses = [_refused(authenticator, _header(f"key{i}", "x"), client="192.0.2.1").status
                for i in range(4)]
    assert statuses == [401, 401, 429, 429]
    assert _refused(authenticator, _header("key9", "x"), client="192.0.2.2").status == 401
    # IPv6 clients count per /64.
    for i in range(3):
        _refused(authenticator, _header(f"v6{i}", "x"), client=f"2001:db8:1:2::{i + 1}")
    assert _refused(authenticator, _header("v6", "x"),
                    client="2001:db8:1:2:ffff::1").status == 429
    assert _refused(authenticator, _header("v6", "x"), client="2001:db8:1:3::1").status == 401
    assert authenticator.authenticate(_header(credential.key, secret), client="192.0.2.1")


def test_throttle_tables_are_bounded():
    authenticator = Authenticator(_Store(None), failure_limit=3, throttle_size=50)
    for i in range(1000):
        _refused(authenticator, _header(f"key{i}", "x"), client=f"10.0.{i // 250}.{i % 250}")
    assert len(authenticator.throttle) <= 100
    assert "key" not in repr(authenticator)


def test_legacy_scrypt_hashes_cannot_be_used_to_burn_cpu(scrypt_calls):
    """A credential stored by earlier versions (scrypt): whoever knows its key gets at most
    `failure_limit` scrypts per window per address; the real user still gets in."""
    credential, secret = new_credential(["all"], home_page=HOME_PAGE)
    legacy = dataclasses.replace(credential, secret_hash=hash_secret(secret))
    authenticator = Authenticator(_Store(legacy), failure_limit=3)
    scrypt_calls.clear()
    statuses = [_refused(authenticator, _header(legacy.key, f"wrong{i}"),
                         client="192.0.2.66").status for i in range(10)]
    assert statuses == [401, 401, 429, 429, 429, 429, 429, 429, 429, 429]
    assert len(scrypt_calls) == 3
    # The key is throttled too, but the right secret from another address is checked.
    assert authenticator.authenticate(_header(legacy.key, secret), client="203.0.113.5")
    assert len(scrypt_calls) == 4
    # Once verified, it is answered from the cache, even from the throttled address.
    assert authenticator.authenticate(_header(legacy.key, secret), client="192.0.2.66")
    assert len(scrypt_calls) == 4


def test_scrypt_runs_through_run_blocking():
    credential, secret = new_credential(["all"], home_page=HOME_PAGE)
    legacy = dataclasses.replace(credential, secret_hash=hash_secret(secret))
    ran = []
    authenticator = Authenticator(_Store(legacy),
                                  run_blocking=lambda call: ran.append(1) or call())
    assert authenticator.authenticate(_header(legacy.key, secret))
    assert ran == [1]
    fast = Authenticator(_Store(credential), run_blocking=lambda call: ran.append(1) or call())
    assert fast.authenticate(_header(credential.key, secret))
    assert ran == [1]  # microseconds: no need to leave the thread


def test_429_over_http_has_the_error_shape_and_retry_after(app, api):
    from lrs_testing import add_credential

    headers, key = add_credential(app, ["all"])
    limit = app.extensions[EXTENSION].config.auth_failure_limit
    wrong = basic(key, "wrong")
    statuses = [api.get("/xapi/statements", auth=wrong).status_code for _ in range(limit + 1)]
    assert statuses == [401] * (limit - 1) + [429, 429]
    response = api.get("/xapi/statements", auth=wrong)
    assert response.json["error"]["code"] == "too_many_requests"
    assert set(response.json) == {"error"}
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert _secret_of(headers).encode() not in response.data
    assert api.get("/xapi/statements", auth=headers).status_code == 200


@pytest.mark.parametrize("trusted", [False, True])
def test_forwarded_for_is_trusted_only_when_configured(app_config, monkeypatch, trusted):
    from lrs_testing import Api

    from lrs import create_app

    monkeypatch.delenv("LRS_CONFIG_FILE", raising=False)
    application = create_app({**app_config, "auth_failure_limit": 2,
                              "trust_forwarded_for": trusted})
    try:
        api = Api(application.test_client(), {})
        for i in range(2):  # the client names a new address each time
            api.get("/xapi/statements", auth=basic(f"k{i}", "x"),
                    headers={"X-Forwarded-For": f"192.0.2.{i}, 203.0.113.{i}"})
        third = api.get("/xapi/statements", auth=basic("k3", "x"),
                        headers={"X-Forwarded-For": "192.0.2.3, 203.0.113.3"})
        # Trusted: the proxy's last hop differs each time, no address reached the limit;
        # not trusted: all three came from the test client's one address.
        assert third.status_code == (401 if trusted else 429)
    finally:
        application.extensions[EXTENSION].close()


def test_forwarded_for_is_off_by_default():
    from lrs.config import load_config

    assert load_config({}).trust_forwarded_for is False


def test_a_wrong_secret_marks_the_request_for_lrs_serve_to_slow_down(app, api):
    """`lrs serve` waits auth_failure_delay_ms before reading the next request on a
    connection whose request failed to log in; a request without credentials (a
    browser's first try, answered with the challenge) is not slowed down."""
    from lrs.protocol import LOGIN_FAILED

    environs = []
    inner = app.wsgi_app
    app.wsgi_app = lambda environ, start: environs.append(environ) or inner(environ, start)
    assert api.get("/xapi/statements", auth=basic("unknown", "x")).status_code == 401
    assert api.get("/xapi/statements", auth=False).status_code == 401
    assert api.get("/xapi/statements").status_code == 200
    assert [environ.get(LOGIN_FAILED) for environ in environs] == [True, None, None]


def test_the_delay_sleeps_only_after_failed_logins(monkeypatch):
    pytest.importorskip("gevent")
    from lrs import serving
    from lrs.protocol import LOGIN_FAILED

    slept = []
    monkeypatch.setattr(serving.gevent, "sleep", slept.append)
    worker = type("Worker", (), {"login_failure_delay": 0.5})()
    serving._slow_down_failed_login(worker, None, {}, None)
    serving._slow_down_failed_login(worker, None, {LOGIN_FAILED: True}, None)
    worker.login_failure_delay = 0  # auth_failure_delay_ms = 0: off
    serving._slow_down_failed_login(worker, None, {LOGIN_FAILED: True}, None)
    assert slept == [0.5]


def test_failure_settings_are_checked():
    from lrs.config import ConfigError, load_config

    assert load_config({"auth_failure_delay_ms": 0}).auth_failure_delay_ms == 0
    defaults = load_config({})
    assert (defaults.auth_failure_limit, defaults.auth_failure_window,
            defaults.auth_failure_delay_ms) == (30, 60, 500)
    for bad in ({"auth_failure_delay_ms": -1}, {"auth_failure_limit": 0},
                {"trust_forwarded_for": "maybe"}, {"header_timeout": 0}):
        with pytest.raises(ConfigError):
            load_config(bad)

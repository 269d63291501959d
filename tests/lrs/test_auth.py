"""HTTP Basic authentication, scrypt secrets, the verification cache and scopes
(Communication 4.0, 4.2; 3.2 for 401/403)."""

from __future__ import annotations

import dataclasses

import orjson
import pytest
from lrs_testing import HOME_PAGE, basic, statement

from lrs import auth
from lrs.auth import Authenticator, hash_secret, new_credential, verify_secret
from lrs.errors import ApiError
from lrs.extension import EXTENSION


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


def test_revoked_credential_refused_at_once(app, api):
    from lrs_testing import add_credential

    headers, key = add_credential(app, ["all"])
    assert api.get("/xapi/statements", auth=headers).status_code == 200
    store = app.extensions[EXTENSION].store
    store.put_credential(dataclasses.replace(store.get_credential(key), revoked=True))
    assert api.get("/xapi/statements", auth=headers).status_code == 401


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

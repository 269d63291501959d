"""Security review pins (brief H12): authentication, scopes on every endpoint, tenant
isolation on every resource, `statements/read/mine`, body limits, hostile inputs (never a
500), and what reaches the log.

Personal-data checks (identifiers in the store, logs and answers) live in tests/privacy.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import json
import logging
import secrets
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from lrs_testing import HOME_PAGE, Api, add_credential, basic, statement

from anonymize.keys import encode_key
from lrs import create_app
from lrs.auth import Authenticator
from lrs.errors import redacted_traceback
from lrs.extension import EXTENSION
from lrs.protocol import AlternateSyntaxMiddleware
from lrs.service import SCOPES
from lrs.service.credentials import hash_secret
from storage import Credential
from tests.e2e.conftest import HOST, create_credential, free_port, lrs_command

ACTIVITY = "http://example.com/activities/security"
CHILD_MBOX = "mailto:child.sec.7a1e@example.org"
CHILD = {"objectType": "Agent", "mbox": CHILD_MBOX}
AGENT_PARAM = json.dumps(CHILD)
ESSAY = b"an essay that only its tenant may read"
ESSAY_SHA = hashlib.sha256(ESSAY).hexdigest()
BOUNDARY = "sec-boundary-41c7"


def _multipart(statements: object, data: bytes) -> tuple[bytes, str]:
    delimiter = f"--{BOUNDARY}".encode()
    body = (
        delimiter + b"\r\nContent-Type: application/json\r\n\r\n" + json.dumps(statements).encode()
        + b"\r\n" + delimiter + b"\r\nContent-Type: text/plain\r\n"
        + b"Content-Transfer-Encoding: binary\r\nX-Experience-API-Hash: "
        + hashlib.sha256(data).hexdigest().encode() + b"\r\n\r\n" + data
        + b"\r\n" + delimiter + b"--\r\n"
    )
    return body, f"multipart/mixed; boundary={BOUNDARY}"


def _essay_statement() -> dict:
    return statement(attachments=[{
        "usageType": "http://example.com/attachment-usage/essay",
        "display": {"en-US": "Essay"},
        "contentType": "text/plain",
        "length": len(ESSAY),
        "sha2": ESSAY_SHA,
    }])


# --- authentication --------------------------------------------------------------------


class _Store:
    def __init__(self, *credentials: Credential) -> None:
        self.credentials = {c.key: c for c in credentials}

    def get_credential(self, key: str) -> Credential | None:
        return self.credentials.get(key)


def _credential(secret: str, *, revoked: bool = False, key: str = "k1") -> Credential:
    return Credential(
        key=key, secret_hash=hash_secret(secret), name="", scopes=("all",),
        authority=json.dumps({"account": {"homePage": HOME_PAGE, "name": key}}),
        tenant="default", created="2024-01-01T00:00:00+00:00", revoked=revoked,
    )


def _header(key: str, secret: str, encoding: str = "utf-8") -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode(encoding)).decode()


@pytest.fixture
def scrypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Every scrypt run by lrs.auth from now on, with its cost parameters."""
    import lrs.auth

    calls: list[dict] = []
    real = hashlib.scrypt

    def counting(password: bytes, **kwargs: object) -> bytes:
        calls.append({k: kwargs[k] for k in ("n", "r", "p")})
        return real(password, **kwargs)

    monkeypatch.setattr(lrs.auth.hashlib, "scrypt", counting)
    return calls


def test_scrypt_parameters_and_a_fresh_salt_per_hash():
    """Secrets are stored as scrypt (N >= 2**14, r 8) with 16 random bytes of salt."""
    scheme, n, r, p, salt, digest = hash_secret("s3cret").split("$")
    assert (scheme, int(n) >= 2**14, int(r), int(p)) == ("scrypt", True, 8, 1)
    assert len(base64.urlsafe_b64decode(salt + "==")) == 16
    assert len(base64.urlsafe_b64decode(digest + "=")) == 32
    assert hash_secret("s3cret").split("$")[4] != salt


@pytest.mark.parametrize("revoked", [False, True])
def test_unknown_or_revoked_key_costs_one_scrypt_like_a_wrong_secret(scrypt_calls, revoked):
    """No timing difference between an unknown key and a wrong secret, from the first
    request on: both run exactly one scrypt with the cost of a real hash."""
    stored = _credential("right", revoked=revoked)
    authenticator = Authenticator(_Store(stored))
    real_cost = dict(zip("nrp", map(int, stored.secret_hash.split("$")[1:4]), strict=True))
    scrypt_calls.clear()
    with pytest.raises(Exception, match="invalid credentials"):
        authenticator.authenticate(_header("k1" if revoked else "nobody", "right"))
    assert scrypt_calls == [real_cost]
    fresh = Authenticator(_Store(_credential("right")))
    scrypt_calls.clear()
    with pytest.raises(Exception, match="invalid credentials"):
        fresh.authenticate(_header("k1", "wrong"))
    assert scrypt_calls == [real_cost]


def test_a_wrong_secret_never_hits_the_cache(scrypt_calls):
    authenticator = Authenticator(_Store(_credential("right")))
    authenticator.authenticate(_header("k1", "right"))
    scrypt_calls.clear()
    for wrong in ("wrong", "righ", "right ", "RIGHT", ""):
        with pytest.raises(Exception, match="invalid credentials"):
            authenticator.authenticate(_header("k1", wrong))
    assert len(scrypt_calls) == 5  # each wrong secret verified in full, none cached
    assert authenticator.authenticate(_header("k1", "right")).key == "k1"
    assert len(scrypt_calls) == 5  # the right one still answered from the cache


@pytest.mark.parametrize(
    "header",
    [
        "Basic é",  # not ASCII: base64 refuses it with a bare ValueError
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),  # not UTF-8
        "Basic " + base64.b64encode(b"nocolon").decode(),
        "Basic " + base64.b64encode(b":secret-without-key").decode(),
        "Basic abc",  # bad padding
        "Basic YWJj ZGVm",  # space inside
        "Digest abc",
        "Basic",
        "basic",
    ],
)
def test_malformed_basic_headers_are_401_not_500(header):
    with pytest.raises(Exception) as info:
        Authenticator(_Store()).authenticate(header)
    assert getattr(info.value, "status", None) == 401


def test_unicode_secrets_are_utf8_and_latin1_is_refused():
    """RFC 7617 charset="UTF-8" (announced in our challenge)."""
    authenticator = Authenticator(_Store(_credential("pässwörd-ß")))
    assert authenticator.authenticate(_header("k1", "pässwörd-ß")).key == "k1"
    with pytest.raises(Exception, match="credentials"):
        authenticator.authenticate(_header("k1", "pässwörd-ß", "latin-1"))


def test_a_non_ascii_authorization_header_over_http_is_401(api):
    response = api.get("/xapi/statements", auth={"Authorization": "Basic é"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


# --- scopes: every endpoint x every scope (Communication 4.2) ---------------------------

READ_STATEMENTS = {"statements/read", "statements/read/mine", "all/read", "all"}
WRITE_STATEMENTS = {"statements/write", "all"}
READ_STATE = {"state", "all/read", "all"}
WRITE_STATE = {"state", "all"}
READ_PROFILE = {"profile", "all/read", "all"}
WRITE_PROFILE = {"profile", "all"}
# Ours: the Person object needs a statement or profile read scope; activities any read one.
READ_AGENTS = READ_STATEMENTS | {"profile"}
READ_ACTIVITIES = READ_STATEMENTS | {"define", "state", "profile"}


def _doc_params(kind: str) -> dict[str, str]:
    """The parameters of one new document of `kind`."""
    fresh = uuid.uuid4().hex
    return {
        "state": {"activityId": ACTIVITY, "agent": AGENT_PARAM, "stateId": fresh},
        "activity_profile": {"activityId": ACTIVITY, "profileId": fresh},
        "agent_profile": {"agent": AGENT_PARAM, "profileId": fresh},
    }[kind]


DOC_PATHS = {"state": "/xapi/activities/state", "activity_profile": "/xapi/activities/profile",
             "agent_profile": "/xapi/agents/profile"}


def _statement_put(api: Api, auth: dict) -> object:
    sent = statement()
    return api.put("/xapi/statements", query_string={"statementId": sent["id"]}, json=sent,
                   auth=auth)


def _forwarded(api: Api) -> dict:
    """A statement as an edge LRS forwards it: its actor a pseudonym of the tenant's key."""
    privacy = api.client.application.extensions[EXTENSION].service.privacy
    return statement(actor=privacy.pseudonymizer("default").pseudonym(statement()["actor"]))


ENDPOINTS: dict[str, tuple[set[str], Callable[[Api, dict, str], object]]] = {
    "GET statements": (READ_STATEMENTS, lambda a, h, more: a.get("/xapi/statements", auth=h)),
    "GET statements more": (READ_STATEMENTS, lambda a, h, more: a.get(more, auth=h)),
    "HEAD statements": (READ_STATEMENTS, lambda a, h, more: a.head("/xapi/statements", auth=h)),
    "POST statements": (WRITE_STATEMENTS, lambda a, h, more: a.post_statements(statement(),
                                                                              auth=h)),
    "PUT statements": (WRITE_STATEMENTS, lambda a, h, more: _statement_put(a, h)),
    "GET agents": (READ_AGENTS, lambda a, h, more: a.get(
        "/xapi/agents", query_string={"agent": AGENT_PARAM}, auth=h)),
    "GET activities": (READ_ACTIVITIES, lambda a, h, more: a.get(
        "/xapi/activities", query_string={"activityId": ACTIVITY}, auth=h)),
    # An edge LRS forwarding (lrs.service.sync): `sync` only, `all` and `platform` included.
    "GET sync hello": ({"sync"}, lambda a, h, more: a.get("/sync/v1/hello", auth=h)),
    "GET sync erasures": ({"sync"}, lambda a, h, more: a.get("/sync/v1/erasures", auth=h)),
    "POST sync statements": ({"sync"}, lambda a, h, more: a.post(
        "/sync/v1/statements", json={"statements": [_forwarded(a)]}, auth=h)),
}
for _kind, (_read, _write) in {
    "state": (READ_STATE, WRITE_STATE),
    "activity_profile": (READ_PROFILE, WRITE_PROFILE),
    "agent_profile": (READ_PROFILE, WRITE_PROFILE),
}.items():
    _path = DOC_PATHS[_kind]
    for _method, _allowed in (("GET", _read), ("HEAD", _read), ("PUT", _write),
                              ("POST", _write), ("DELETE", _write)):
        ENDPOINTS[f"{_method} {_kind}"] = (
            _allowed,
            lambda a, h, more, m=_method, p=_path, k=_kind: a.request(
                m, p, query_string=_doc_params(k), data=b"{}", content_type="application/json",
                auth=h,
            ),
        )


@pytest.fixture(scope="module")
def scoped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, dict, str]]:
    """One app (SQLite: scope checks come before storage), a credential per single scope
    and a `more` IRL to page with."""
    directory = tmp_path_factory.mktemp("scopes")
    app = create_app({"storage_uri": f"sqlite:///{directory / 'lrs.db'}",
                      "authority_home_page": HOME_PAGE,
                      "master_key": encode_key(secrets.token_bytes(32))})
    api = Api(app.test_client(), add_credential(app, ["all"])[0])
    api.post_statements([statement(), statement()])
    more = api.get_statements(limit=1).json["more"]
    assert more
    headers = {scope: add_credential(app, [scope])[0] for scope in SCOPES}
    yield api, headers, more
    app.extensions[EXTENSION].close()


def test_every_scope_is_in_the_table():
    assert set(SCOPES) == {
        "statements/write", "statements/read", "statements/read/mine", "all/read", "all",
        "state", "profile", "define", "reidentify", "admin", "reports", "export", "erase",
        "platform", "sync",
    }


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_every_endpoint_times_every_scope(scoped, endpoint):
    """A credential holding only `scope` gets 403 exactly where the table says so (and
    `reidentify` / `admin` alone open nothing); 401 without a credential."""
    api, headers, more = scoped
    allowed, call = ENDPOINTS[endpoint]
    answers = {scope: call(api, headers[scope], more).status_code for scope in sorted(SCOPES)}
    forbidden = {scope for scope, status in answers.items() if status == 403}
    assert forbidden == set(SCOPES) - allowed, answers
    assert all(status < 400 or status == 404 for scope, status in answers.items()
               if scope in allowed), answers
    assert call(api, {}, more).status_code == 401
    assert call(api, basic("unknown", "x"), more).status_code == 401


def test_about_needs_no_credential(scoped):
    api, _, _ = scoped
    assert api.get("/xapi/about", auth=False, version=False).status_code == 200


# --- statements/read/mine --------------------------------------------------------------


def test_read_mine_sees_only_its_own_statements_everywhere(app, api):
    """Communication 4.2 statements/read/mine: single GET, voidedStatementId, lists, `more`
    pages, agent filters and attachments=true."""
    mine_write, _ = add_credential(app, ["statements/write", "statements/read/mine"])
    mine_read = Api(app.test_client(), mine_write)
    others = [_essay_statement() for _ in range(2)]
    body, content_type = _multipart(others, ESSAY)
    assert api.post("/xapi/statements", data=body, content_type=content_type).status_code == 200
    voided = statement()
    api.post_statements([voided, statement(
        verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
        object={"objectType": "StatementRef", "id": voided["id"]})])
    own = [statement(), statement()]
    assert mine_read.post_statements(own).status_code == 200

    for other in (others[0], voided):
        key = "voidedStatementId" if other is voided else "statementId"
        assert mine_read.get_statements(**{key: other["id"]}).status_code == 404
        assert api.get_statements(**{key: other["id"]}).status_code == 200
    seen, page = [], mine_read.get_statements(limit=1, attachments="false").json
    while True:
        seen += [s["id"] for s in page["statements"]]
        if not page["more"]:
            break
        page = mine_read.get(page["more"]).json
    assert sorted(seen) == sorted(s["id"] for s in own)
    filtered = mine_read.get_statements(agent=json.dumps(statement()["actor"])).json
    assert sorted(s["id"] for s in filtered["statements"]) == sorted(s["id"] for s in own)
    with_data = mine_read.get_statements(attachments="true")
    assert with_data.status_code == 200
    assert ESSAY not in with_data.get_data()


# --- tenant isolation ------------------------------------------------------------------


@pytest.fixture
def tenants(app: Flask, api: Api) -> tuple[Api, Api]:
    """Tenant A (`api`, default) and tenant B, both with `all` and `reidentify`."""
    other = Api(app.test_client(), add_credential(app, ["all", "reidentify"], "tenant-b")[0])
    return api, other


def test_tenants_never_see_each_others_statements(tenants):
    a, b = tenants
    sent, voided = statement(actor=CHILD), statement(actor=CHILD)
    voiding = statement(verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
                        object={"objectType": "StatementRef", "id": voided["id"]})
    assert a.post_statements([sent, voided, voiding, statement(actor=CHILD)]).status_code == 200
    more = a.get_statements(limit=1).json["more"]
    assert more

    assert b.get_statements(statementId=sent["id"]).status_code == 404
    assert b.get_statements(voidedStatementId=voided["id"]).status_code == 404
    assert b.get_statements().json["statements"] == []
    assert b.get_statements(agent=AGENT_PARAM).json["statements"] == []
    assert b.get_statements(activity=sent["object"]["id"]).json["statements"] == []
    assert b.get(more).json["statements"] == []  # A's cursor, B's tenant
    # B writing the same id is B's own statement: no 409 telling B that A has it.
    assert b.post_statements(statement(id=sent["id"], verb={"id": "http://x.org/v"})
                             ).status_code == 200
    # B voiding A's statement voids nothing of A's.
    assert b.post_statements(statement(verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
                                       object={"objectType": "StatementRef",
                                               "id": sent["id"]})).status_code == 200
    got = a.get_statements(statementId=sent["id"])
    assert got.status_code == 200
    assert got.json["verb"] == sent["verb"]


def test_tenants_never_share_attachment_data(tenants):
    a, b = tenants
    body, content_type = _multipart([_essay_statement()], ESSAY)
    assert a.post("/xapi/statements", data=body, content_type=content_type).status_code == 200
    # B names A's attachment by its hash with a fileUrl, hoping to be served A's data.
    probe = _essay_statement()
    probe["attachments"][0]["fileUrl"] = "http://example.com/essay.txt"
    assert b.post_statements(probe).status_code == 200
    for response in (b.get_statements(attachments="true"),
                     b.get_statements(statementId=probe["id"], attachments="true")):
        assert response.status_code == 200
        assert ESSAY not in response.get_data()
    assert ESSAY in a.get_statements(attachments="true").get_data()


@pytest.mark.parametrize("kind", sorted(DOC_PATHS))
def test_tenants_never_touch_each_others_documents(tenants, kind):
    a, b = tenants
    path, params = DOC_PATHS[kind], _doc_params(kind)
    id_param = "stateId" if kind == "state" else "profileId"
    listing = {k: v for k, v in params.items() if k != id_param}
    assert a.put(path, query_string=params, data=b'{"owner": "a"}',
                 content_type="application/json").status_code == 204
    assert b.get(path, query_string=params).status_code == 404
    assert b.get(path, query_string=listing).json == []
    assert b.request("DELETE", path, query_string=params).status_code in (204, 404)
    if kind == "state":
        assert b.request("DELETE", path, query_string=listing).status_code == 204
    assert b.post(path, query_string=params, data=b'{"owner": "b"}',
                  content_type="application/json").status_code == 204
    assert a.get(path, query_string=params).json == {"owner": "a"}


def test_tenants_never_see_each_others_activities_or_people(tenants):
    a, b = tenants
    defined = statement(actor={**CHILD, "name": "Child Name"}, object={
        "objectType": "Activity", "id": ACTIVITY,
        "definition": {"name": {"en-US": "Tenant A's course"}}})
    assert a.post_statements(defined).status_code == 200
    assert "definition" in a.get("/xapi/activities", query_string={"activityId": ACTIVITY}).json
    assert "definition" not in b.get("/xapi/activities",
                                     query_string={"activityId": ACTIVITY}).json
    person_a = a.get("/xapi/agents", query_string={"agent": AGENT_PARAM}).json
    person_b = b.get("/xapi/agents", query_string={"agent": AGENT_PARAM}).json
    assert "Child Name" in person_a["name"]
    assert "name" not in person_b  # B's vault holds nothing of A's learner
    assert person_b["account"] != person_a["account"]  # and the pseudonyms differ


# --- limits and hostile input: never a 500 ---------------------------------------------


def _chunked(api: Api, method: str, path: str, body: bytes, content_type: str, **kwargs):
    """A request as gunicorn hands a chunked upload over: no Content-Length, the stream
    terminated by the server."""
    return api.client.open(
        path, method=method, input_stream=io.BytesIO(body),
        headers={"X-Experience-API-Version": "1.0.3", **api.auth,
                 "Content-Type": content_type, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""}, **kwargs,
    )


@pytest.fixture
def small_app(storage_uri: str) -> Iterator[Flask]:
    app = create_app({"storage_uri": storage_uri, "authority_home_page": HOME_PAGE,
                      "master_key": encode_key(secrets.token_bytes(32)),
                      "max_body_bytes": 4096})
    yield app
    app.extensions[EXTENSION].close()


def test_chunked_bodies_over_the_limit_are_413_not_cut_short(small_app):
    """Werkzeug silently truncates a chunked body at MAX_CONTENT_LENGTH: a document was
    stored cut short (204) and a batch refused as broken JSON (400)."""
    api = Api(small_app.test_client(), add_credential(small_app, ["all"])[0])
    params = _doc_params("state")
    too_big = b'{"k": "' + b"x" * 5000 + b'"}'
    answers = [
        _chunked(api, "PUT", DOC_PATHS["state"], too_big, "application/json",
                 query_string=params),
        _chunked(api, "POST", "/xapi/statements", b"[" + b" " * 5000 + b"]",
                 "application/json"),
        _chunked(api, "POST", "/xapi/statements", _multipart([], b"y" * 5000)[0],
                 _multipart([], b"")[1]),
        _chunked(api, "POST", DOC_PATHS["state"] + "?method=PUT",
                 b"content=" + b"z" * 5000, "application/x-www-form-urlencoded"),
    ]
    assert [a.status_code for a in answers] == [413] * 4
    assert api.get(DOC_PATHS["state"], query_string=params).status_code == 404
    # Under the limit, a chunked body is read whole.
    fits = b'{"k": "' + b"x" * 4000 + b'"}'
    assert _chunked(api, "PUT", DOC_PATHS["state"], fits, "application/json",
                    query_string=params).status_code == 204
    assert api.get(DOC_PATHS["state"], query_string=params).get_data() == fits
    sent = statement()
    response = _chunked(api, "POST", "/xapi/statements", json.dumps(sent).encode(),
                        "application/json")
    assert response.json == [sent["id"]]


def test_the_alternate_syntax_refuses_a_negative_content_length():
    seen = []

    def app(environ, start_response):
        seen.append(environ.get("lrs.request_error"))
        return []

    middleware = AlternateSyntaxMiddleware(app, 100)
    middleware({"REQUEST_METHOD": "POST", "QUERY_STRING": "method=GET",
                "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": "-1",
                "wsgi.input": io.BytesIO(b"a=" + b"b" * 1000)}, None)
    assert seen[0] is not None
    assert seen[0].status == 400


def _deep(levels: int) -> object:
    value: object = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def test_deep_statements_are_400_and_the_deepest_storable_round_trips(api):
    """orjson reads 1024 levels but writes 254: a statement between the two was a 500."""
    too_deep = statement(result={"extensions": {"http://example.com/x": _deep(300)}})
    response = api.post_statements(too_deep)
    assert response.status_code == 400
    assert "nested too deeply" in response.json["error"]["fields"][""][0]
    batch = [statement(), too_deep]
    assert list(api.post_statements(batch).json["error"]["fields"]) == ["[1]"]
    deepest = statement(result={"extensions": {"http://example.com/x": _deep(251)}})
    assert api.post_statements(deepest).status_code == 200
    for fmt in ("exact", "canonical", "ids"):
        assert api.get_statements(statementId=deepest["id"], format=fmt).status_code == 200
    assert api.get_statements(format="canonical").status_code == 200


HOSTILE = {
    "json nested 2000 deep": ("POST", "/xapi/statements", {}, "[" * 2000 + "]" * 2000),
    "number beyond double": ("POST", "/xapi/statements", {},
                             '{"actor":{"mbox":"mailto:a@b.c"},"verb":{"id":"http://a.b/c"},'
                             '"object":{"id":"http://a.b/d"},"result":{"score":{"raw":1e400}}}'),
    "huge integer": ("POST", "/xapi/statements", {},
                     '{"actor":{"mbox":"mailto:a@b.c"},"verb":{"id":"http://a.b/c"},"object":'
                     '{"id":"http://a.b/d"},"result":{"extensions":{"http://a.b/e":1' + "0" * 400
                     + "}}}"),
    "limit beyond any integer": ("GET", "/xapi/statements", {"limit": "9" * 400}, None),
    "limit negative": ("GET", "/xapi/statements", {"limit": "-1"}, None),
    "limit not a number": ("GET", "/xapi/statements", {"limit": "1e3"}, None),
    "agent nested deep": ("GET", "/xapi/statements", {"agent": "[" * 2000 + "]" * 2000}, None),
    "agent a number": ("GET", "/xapi/statements", {"agent": "1e999"}, None),
    "agent with two ifis": ("GET", "/xapi/statements",
                            {"agent": '{"mbox":"mailto:a@b.c","openid":"http://a.b/c"}'}, None),
    "more token garbage": ("GET", "/xapi/statements/more/!!!", {}, None),
    "more token of a list": ("GET", "/xapi/statements/more/"
                             + base64.urlsafe_b64encode(b'{"q":[],"after":[1,2]}').decode(),
                             {}, None),
    "more token with bad query": ("GET", "/xapi/statements/more/" + base64.urlsafe_b64encode(
        b'{"q":{"limit":"x","agent":"{"},"after":["a","b"]}').decode(), {}, None),
    "since out of range": ("GET", "/xapi/statements", {"since": "99999-01-01T00:00:00Z"}, None),
    "document since absurd": ("GET", "/xapi/activities/state",
                              {"activityId": ACTIVITY, "agent": AGENT_PARAM,
                               "since": "0000-00-00T00:00:00Z"}, None),
    "document agent deep": ("GET", "/xapi/agents/profile",
                            {"agent": '{"a":' * 1100 + "1" + "}" * 1100}, None),
    "document merge of deep json": ("POST", "/xapi/activities/state",
                                    {"activityId": ACTIVITY, "agent": AGENT_PARAM,
                                     "stateId": "deep"}, '{"a":' * 1000 + "1" + "}" * 1000),
    "statement id with NUL": ("GET", "/xapi/statements", {"statementId": "\x00"}, None),
    "activityId with NUL": ("GET", "/xapi/activities", {"activityId": "http://a.b/\x00"}, None),
    "statements not JSON text": ("POST", "/xapi/statements", {}, "\xff\xfe"),
    "multipart without boundary": ("POST", "/xapi/statements", {"_ct": "multipart/mixed"}, "x"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_input_is_answered_without_a_500(api, case, caplog):
    method, path, params, body = HOSTILE[case]
    params = dict(params)
    content_type = params.pop("_ct", "application/json")
    response = api.request(method, path, query_string=params,
                           data=body.encode("utf-8", "surrogatepass") if body else None,
                           content_type=content_type)
    assert response.status_code < 500, response.get_data()
    assert "unexpected error" not in caplog.text


def test_limit_is_clamped_to_the_servers_maximum(app_config, monkeypatch):
    app = create_app({**app_config, "statements_limit_max": 3})
    try:
        api = Api(app.test_client(), add_credential(app, ["all"])[0])
        api.post_statements([statement() for _ in range(5)])
        for limit in ("0", "4", "9" * 40):
            page = api.get_statements(limit=limit).json
            assert len(page["statements"]) == 3
            assert page["more"]
    finally:
        app.extensions[EXTENSION].close()


# --- what reaches the log --------------------------------------------------------------


def test_an_unexpected_error_logs_a_traceback_without_any_message(app, api, caplog,
                                                                  monkeypatch):
    """A 500's log line shows where it failed, never the exception's text: it may quote a
    statement or an identifier."""
    store = app.extensions[EXTENSION].store

    def failing(*args, **kwargs):
        try:
            {}[CHILD_MBOX]
        except KeyError as exc:
            raise ValueError(f"cannot handle {CHILD_MBOX}") from exc

    monkeypatch.setattr(store, "query_statements", failing)
    caplog.set_level(logging.DEBUG)
    response = api.get_statements(agent=AGENT_PARAM)
    assert response.status_code == 500
    assert response.json == {"error": {"code": "internal_error", "message": "internal error"}}
    assert "child.sec" not in caplog.text
    assert "builtins.ValueError (message withheld)" in caplog.text
    assert "builtins.KeyError (message withheld)" in caplog.text
    assert "in failing" in caplog.text  # the frames are kept


def test_redacted_traceback_follows_context_and_suppression():
    quoted = [CHILD_MBOX, CHILD_MBOX.upper()]

    def raising() -> None:
        try:
            raise KeyError(quoted[0])
        except KeyError:
            raise RuntimeError(quoted[1]) from None

    try:
        raising()
    except RuntimeError as exc:
        text = redacted_traceback(exc)
    assert "child.sec" not in text.lower()
    assert "KeyError" not in text  # `from None` hides the context, as Python prints it
    assert text.endswith("builtins.RuntimeError (message withheld)")


def test_flask_debug_stays_off_whatever_the_environment(app_config, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_app(app_config)
    try:
        assert app.debug is False
    finally:
        app.extensions[EXTENSION].close()


# --- end to end: gunicorn with a small body limit --------------------------------------


@pytest.fixture(scope="module")
def small_live_lrs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, dict, Path]]:
    """`lrs serve` (gunicorn) with max_body_bytes 4096: its port, a credential's headers
    and its log file."""
    import os
    import signal
    import time
    import urllib.error
    import urllib.request

    directory = tmp_path_factory.mktemp("small-live")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LRS_", "FLASK_"))}
    env.update({"LRS_STORAGE_URI": f"sqlite:///{directory / 'lrs.db'}",
                "LRS_MASTER_KEY": encode_key(secrets.token_bytes(32)),
                "LRS_MAX_BODY_BYTES": "4096"})
    key, secret = create_credential(env, "all")
    port = free_port()
    log = directory / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*lrs_command(), "serve", "--host", HOST, "--port", str(port), "--workers", "1"],
            env=env, cwd=directory, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://{HOST}:{port}/xapi/about", timeout=1):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(f"lrs serve did not start:\n{log.read_text()}")
                time.sleep(0.1)
        headers = {"X-Experience-API-Version": "1.0.3",
                   "Authorization": basic(key, secret)["Authorization"]}
        yield port, headers, log
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _send_chunked(port: int, method: str, path: str, headers: dict, body: bytes):
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        chunks = (body[i:i + 1000] for i in range(0, len(body), 1000))
        connection.request(method, path, body=chunks, headers=headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, response.read()
    except (ConnectionResetError, BrokenPipeError):
        return None, b""  # the server may close before the whole body is sent
    finally:
        connection.close()


@pytest.mark.slow
@pytest.mark.e2e
def test_live_chunked_uploads_over_the_limit_are_413(small_live_lrs):
    port, headers, log = small_live_lrs
    state = ("/xapi/activities/state?activityId=" + ACTIVITY
             + "&agent=" + json.dumps(CHILD).replace(" ", "") + "&stateId=chunked")
    json_headers = {**headers, "Content-Type": "application/json"}
    status, _ = _send_chunked(port, "PUT", state, json_headers,
                              b'{"k": "' + b"x" * 6000 + b'"}')
    assert status in (413, None)
    status, body = _send_chunked(port, "GET", state, headers, b"")
    assert status == 404, body  # nothing stored, not even a cut-short document
    status, _ = _send_chunked(port, "POST", "/xapi/statements", json_headers,
                              b"[" + b" " * 6000 + b"]")
    assert status in (413, None)
    sent = statement(actor=CHILD)
    status, body = _send_chunked(port, "POST", "/xapi/statements", json_headers,
                                 json.dumps(sent).encode())
    assert (status, json.loads(body)) == (200, [sent["id"]])
    assert b"child.sec" not in log.read_bytes()

"""Rules every resource shares: version header (Communication 3.3), error shape (3.2), About
(2.8), HEAD (1.1), alternate request syntax (1.3), content types (1.5), CORS, 413, 405."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from lrs_testing import VERSION, statement


def test_about_needs_neither_credentials_nor_version(api):
    """Communication 2.8: About answers everyone, whatever the version header; it lists
    every version spoken (9274.1.1 4.1.6.7: 2.0.0 too)."""
    for headers in ({}, {"X-Experience-API-Version": "0.9"}):
        response = api.get("/xapi/about", auth=False, version=False, headers=headers)
        assert response.status_code == 200
        assert response.json == {"version": ["1.0.3", "2.0.0"], "extensions": {}}
        assert response.headers["X-Experience-API-Version"] == "1.0.3"


def test_about_rejects_unknown_parameters(api):
    assert api.get("/xapi/about", query_string={"x": "1"}).status_code == 400


@pytest.mark.parametrize("version", ["1.0", "1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.9"])
def test_accepted_versions(api, version):
    """Communication 3.3: 1.0 as 1.0.0, and any 1.0.x."""
    response = api.get("/xapi/statements", version=False,
                       headers={"X-Experience-API-Version": version})
    assert response.status_code == 200
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


@pytest.mark.parametrize(
    "version", [None, "0.9", "0.95", "1.1.0", "2.1.0", "3.0.0", "1", "2", "junk", ""]
)
def test_rejected_versions(api, version):
    """Communication 3.3: no header, pre-1.0.0 and 1.1.0+ are rejected with 400 (1.1.0 to
    2.0.x excepted since 2.0 is spoken too: xapi-2.0-notes.md section 1)."""
    headers = {} if version is None else {"X-Experience-API-Version": version}
    response = api.get("/xapi/statements", version=False, headers=headers)
    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] == "bad_version"
    assert "X-Experience-API-Version" in error["fields"]
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


def test_bad_version_changes_nothing(api):
    sent = statement()
    response = api.post_statements(sent, version=False,
                                   headers={"X-Experience-API-Version": "0.9"})
    assert response.status_code == 400
    assert api.get_statements(statementId=sent["id"]).status_code == 404


def test_unknown_path_is_json_404_with_version(api):
    response = api.get("/xapi/nothing-here")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


def test_unsupported_method_is_405(api):
    response = api.request("DELETE", "/xapi/statements")
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"


def test_error_shape(api):
    response = api.post_statements({"actor": {"mbox": "not-a-mailto"}})
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert set(error) == {"code", "message", "fields"}
    assert all(isinstance(v, list) for v in error["fields"].values())
    assert "Traceback" not in response.get_data(as_text=True)


def test_head_answers_headers_without_body(api):
    """Communication 1.1: HEAD is GET without a body."""
    sent = statement()
    api.post_statements(sent)
    for params in ({"statementId": sent["id"]}, {}):
        get = api.get("/xapi/statements", query_string=params)
        head = api.head("/xapi/statements", query_string=params)
        assert head.status_code == 200
        assert head.data == b""
        assert head.headers["Last-Modified"] == get.headers["Last-Modified"]
        assert "X-Experience-API-Consistent-Through" in head.headers
    assert api.head("/xapi/about").status_code == 200


def test_body_too_large_is_413(app_config, monkeypatch):
    from lrs import create_app

    app_config["max_body_bytes"] = 200
    small = create_app(app_config)
    from lrs_testing import Api, add_credential

    api = Api(small.test_client(), add_credential(small, ["all"])[0])
    big = statement(result={"response": "x" * 500})
    response = api.post_statements(big)
    assert response.status_code == 413
    assert response.json["error"]["code"] == "too_large"
    assert api.get_statements(statementId=big["id"]).status_code == 404
    # The alternate syntax is held to the same limit.
    form = {"content": json.dumps(big), "Content-Type": "application/json", **VERSION,
            **api.auth}
    response = api.client.post("/xapi/statements?method=POST", data=form)
    assert response.status_code == 413


# --- content types (Communication 1.5) -------------------------------------------------


def test_statements_need_json_content_type(api):
    sent = statement()
    response = api.post("/xapi/statements", data=json.dumps(sent),
                        headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert "Content-Type" in response.json["error"]["fields"]


def test_multipart_without_a_json_first_part_is_400(api):
    """Communication 1.5.2: the first part holds the statements, as application/json."""
    response = api.post("/xapi/statements", data=b"--x\r\n\r\n--x--",
                        headers={"Content-Type": "multipart/mixed; boundary=x"})
    assert response.status_code == 400
    assert "parts[0].Content-Type" in response.json["error"]["fields"]


def test_malformed_json_is_400(api):
    response = api.post("/xapi/statements", data=b"{not json",
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_json"


def test_repeated_parameter_is_400(api):
    response = api.get("/xapi/statements?verb=http://a.example/v&verb=http://a.example/w")
    assert response.status_code == 400
    assert "verb" in response.json["error"]["fields"]


# --- alternate request syntax (Communication 1.3) --------------------------------------


def _form_post(api, method, form, query=None):
    path = "/xapi/statements?" + urlencode({"method": method, **(query or {})})
    return api.client.post(path, data=urlencode(form),
                            content_type="application/x-www-form-urlencoded")


def test_alternate_put_with_headers_in_the_form(api):
    """Appendix C: method=PUT, statementId, Authorization and version as form fields."""
    sent = statement()
    form = {"statementId": sent["id"], **api.auth, **VERSION,
            "Content-Type": "application/json", "content": json.dumps(sent)}
    response = _form_post(api, "PUT", form)
    assert response.status_code == 204, response.data
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert api.get_statements(statementId=sent["id"]).json["id"] == sent["id"]


def test_alternate_get_and_post(api):
    sent = statement()
    form = {**api.auth, **VERSION, "Content-Type": "application/json",
            "content": json.dumps([sent])}
    response = _form_post(api, "POST", form)
    assert response.status_code == 200
    assert response.json == [sent["id"]]
    response = _form_post(api, "GET", {**api.auth, **VERSION, "statementId": sent["id"]})
    assert response.status_code == 200
    assert response.json["id"] == sent["id"]
    listing = _form_post(api, "GET", {**api.auth, **VERSION, "verb": sent["verb"]["id"]})
    assert [s["id"] for s in listing.json["statements"]] == [sent["id"]]


def test_alternate_head_has_no_body(api):
    response = _form_post(api, "HEAD", {**api.auth, **VERSION})
    assert response.status_code == 200
    assert response.data == b""


@pytest.mark.parametrize(
    ("form", "status"),
    [({}, 200), ({"bogus": "1"}, 400), ({"statementId": "0" * 8}, 400)],
)
def test_alternate_head_declares_the_empty_body_it_sends(api, form, status):
    """On the wire it is a POST: a Content-Length other than 0 with no body would make the
    client read the next response on the connection as this one's body (RFC 9112 6.3)."""
    response = _form_post(api, "HEAD", {**api.auth, **VERSION, **form})
    assert response.status_code == status
    assert response.data == b""
    assert response.headers["Content-Length"] == "0"


def test_alternate_form_version_is_checked(api):
    response = _form_post(api, "GET", {**api.auth, "X-Experience-API-Version": "0.8"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("method", "query"),
    [("PUT", {"statementId": "e8b5d6a4-6a3c-4b7e-9d1e-0a7c3e4f5b6a"}), ("FETCH", {}),
     ("CONNECT", {})],
)
def test_alternate_rejects_extra_query_parameters_and_unknown_methods(api, method, query):
    sent = statement()
    form = {**api.auth, **VERSION, "content": json.dumps(sent)}
    response = _form_post(api, method, form, query)
    assert response.status_code == 400
    assert response.json["error"]["fields"].keys() == {"method"}


def test_method_parameter_only_on_post(api):
    response = api.get("/xapi/statements", query_string={"method": "GET"})
    assert response.status_code == 400


def test_alternate_needs_a_form_body(api):
    response = api.post("/xapi/statements?method=GET", data=b"{}",
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_alternate_repeated_form_field_is_400(api):
    body = urlencode([("verb", "http://a.example/v"), ("verb", "http://a.example/w")])
    response = api.client.post("/xapi/statements?method=GET", data=body + "&" + urlencode(
        {**api.auth, **VERSION}), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400


# --- CORS --------------------------------------------------------------------------------


def test_cors_preflight(api):
    response = api.client.options(
        "/xapi/statements",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "PUT",
                 "Access-Control-Request-Headers": "authorization,x-experience-api-version"},
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "PUT" in response.headers["Access-Control-Allow-Methods"]
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    for header in ("authorization", "x-experience-api-version", "content-type", "if-match"):
        assert header in allowed


def test_cors_exposes_xapi_headers(api):
    response = api.get("/xapi/statements", headers={"Origin": "https://app.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    exposed = response.headers["Access-Control-Expose-Headers"]
    for header in ("X-Experience-API-Version", "X-Experience-API-Consistent-Through", "ETag",
                   "Last-Modified"):
        assert header in exposed


def test_cors_restricted_origins(app_config):
    from lrs import create_app

    app_config["cors_origins"] = ["https://good.example"]
    client = create_app(app_config).test_client()
    good = client.get("/xapi/about", headers={"Origin": "https://good.example"})
    assert good.headers["Access-Control-Allow-Origin"] == "https://good.example"
    assert "Origin" in good.headers["Vary"]
    bad = client.get("/xapi/about", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in bad.headers

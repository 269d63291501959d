"""Helpers shared by the service tests: statements, credentials, a test client wrapper."""

from __future__ import annotations

import base64
import copy
import uuid

from flask import Flask
from flask.testing import FlaskClient

from lrs.extension import EXTENSION
from lrs.service.credentials import new_credential

VERSION = {"X-Experience-API-Version": "1.0.3"}
HOME_PAGE = "https://lrs.test"

BASE_STATEMENT = {
    "actor": {"objectType": "Agent", "mbox": "mailto:learner@example.com", "name": "Learner"},
    "verb": {
        "id": "http://adlnet.gov/expapi/verbs/experienced",
        "display": {"en-US": "experienced"},
    },
    "object": {"objectType": "Activity", "id": "http://example.com/activities/course"},
}


def statement(**changes: object) -> dict:
    """A valid statement with a fresh id; keyword arguments replace top-level properties."""
    result = copy.deepcopy(BASE_STATEMENT)
    result["id"] = str(uuid.uuid4())
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = copy.deepcopy(value)
    return result


def basic(key: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{key}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class Api:
    """A test client that sends the version header and a credential unless told otherwise."""

    def __init__(self, client: FlaskClient, auth: dict[str, str]) -> None:
        self.client = client
        self.auth = auth

    def request(self, method: str, path: str, *, headers: dict | None = None, auth=True,
                version=True, **kwargs):
        sent = {}
        if version:
            sent.update(VERSION)
        if auth:
            sent.update(self.auth if auth is True else auth)
        sent.update(headers or {})
        return self.client.open(path, method=method, headers=sent, **kwargs)

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def head(self, path: str, **kwargs):
        return self.request("HEAD", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs):
        return self.request("PUT", path, **kwargs)

    def post_statements(self, data, **kwargs):
        return self.post("/xapi/statements", json=data, **kwargs)

    def get_statements(self, **params):
        return self.get("/xapi/statements", query_string=params)


def add_credential(
    app: Flask, scopes: list[str], tenant: str = "default"
) -> tuple[dict[str, str], str]:
    """Store a new credential: the Authorization header using it, and its key."""
    credential, secret = new_credential(scopes, home_page=HOME_PAGE, tenant=tenant)
    app.extensions[EXTENSION].store.put_credential(credential)
    return basic(credential.key, secret), credential.key

"""Fixtures for the privacy tests: the service with pseudonymization on, on every backend
(`storage_uri`), with credentials that may or may not re-identify; and the live server of
tests/e2e for the end-to-end checks."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from anonymize.keys import encode_key
from lrs import create_app
from lrs.extension import EXTENSION
from tests.e2e.conftest import live_lrs  # noqa: F401  (the same live server fixture)
from tests.lrs.lrs_testing import HOME_PAGE, Api, add_credential


@pytest.fixture
def master_key() -> str:
    return encode_key(secrets.token_bytes(32))


@pytest.fixture
def make_app(
    storage_uri: str, master_key: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Flask]]:
    """Build apps on the test's store, pseudonymization on by default; closed afterwards."""
    monkeypatch.delenv("LRS_CONFIG_FILE", raising=False)
    apps: list[Flask] = []

    def make(**settings: object) -> Flask:
        config = {"storage_uri": storage_uri, "authority_home_page": HOME_PAGE,
                  "master_key": master_key, **settings}
        app = create_app(config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions[EXTENSION].close()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def writer(app: Flask) -> Api:
    """A learning client: writes statements and documents, reads them (`all`)."""
    return Api(app.test_client(), add_credential(app, ["all"])[0])


@pytest.fixture
def auditor(app: Flask) -> Api:
    """A reader allowed to re-identify."""
    return Api(app.test_client(), add_credential(app, ["all/read", "reidentify"])[0])

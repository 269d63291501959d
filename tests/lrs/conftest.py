"""Flask test-client fixtures for the service, on every storage backend (`storage_uri`)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from flask import Flask
from lrs_testing import HOME_PAGE, Api, add_credential

from anonymize.keys import encode_key
from lrs import create_app
from lrs.extension import EXTENSION


@pytest.fixture
def pseudonymize() -> bool:
    """On, as by default; a test turns it off with
    `@pytest.mark.parametrize("pseudonymize", [False])`."""
    return True


@pytest.fixture
def app_config(storage_uri: str, pseudonymize: bool) -> dict:
    """A fresh master key per test (pseudonymization needs one)."""
    return {
        "storage_uri": storage_uri,
        "authority_home_page": HOME_PAGE,
        "pseudonymize": pseudonymize,
        "master_key": encode_key(secrets.token_bytes(32)),
    }


@pytest.fixture
def app(app_config: dict, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.delenv("LRS_CONFIG_FILE", raising=False)
    application = create_app(app_config)
    yield application
    application.extensions[EXTENSION].close()


@pytest.fixture
def api(app: Flask) -> Api:
    """`reidentify` too, so statements read back equal those sent: the service tests check
    xAPI behaviour; tests/privacy checks what a reader without it sees."""
    return Api(app.test_client(), add_credential(app, ["all", "reidentify"])[0])

"""Flask test-client fixtures for the service, on every storage backend (`storage_uri`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from lrs_testing import HOME_PAGE, Api, add_credential

from lrs import create_app
from lrs.state import EXTENSION


@pytest.fixture
def app_config(storage_uri: str) -> dict:
    return {"storage_uri": storage_uri, "authority_home_page": HOME_PAGE}


@pytest.fixture
def app(app_config: dict, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.delenv("LRS_CONFIG_FILE", raising=False)
    application = create_app(app_config)
    yield application
    application.extensions[EXTENSION].close()


@pytest.fixture
def api(app: Flask) -> Api:
    return Api(app.test_client(), add_credential(app, ["all"])[0])

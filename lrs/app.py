"""The application factory: configuration is read once here, the service core built here."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask

from lrs import (
    about,
    activities,
    admin,
    agents,
    dashboard,
    documents,
    exports,
    front,
    privacy_page,
    protocol,
    reports,
    statements,
    sync,
)
from lrs.auth import Authenticator
from lrs.config import load_config
from lrs.errors import register_error_handlers
from lrs.extension import EXTENSION, LrsExtension
from lrs.protocol import XAPI_PREFIX
from lrs.service import LearningRecordStore


def create_app(
    config: Mapping[str, Any] | None = None,
    *,
    run_blocking: Callable[[Callable[[], bool]], bool] | None = None,
) -> Flask:
    """A configured LRS app. `config` overrides the file and `LRS_*` environment settings;
    `run_blocking` runs slow CPU-bound calls (scrypt) off an event loop (`lrs serve`).
    Close it with `app.extensions["lrs"].close()` (`lrs serve` does when a worker exits)."""
    settings = load_config(config, os.environ)
    service = LearningRecordStore.open(settings)  # no key, no start: before anything else
    app = Flask("lrs")
    app.debug = False  # never from FLASK_DEBUG: debug mode shows more of a request in errors
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.url_map.strict_slashes = False
    authenticator = Authenticator(
        service.store, failure_limit=settings.auth_failure_limit,
        failure_window=settings.auth_failure_window, run_blocking=run_blocking,
        cache_seconds=settings.auth_cache_seconds,
    )
    app.extensions[EXTENSION] = LrsExtension(
        config=settings, service=service, authenticator=authenticator
    )
    register_error_handlers(app)
    protocol.init_app(app, max_body_bytes=settings.max_body_bytes)
    app.register_blueprint(about.bp, url_prefix=XAPI_PREFIX)
    app.register_blueprint(statements.bp, url_prefix=XAPI_PREFIX)
    app.register_blueprint(documents.bp, url_prefix=XAPI_PREFIX)
    app.register_blueprint(agents.bp, url_prefix=XAPI_PREFIX)
    app.register_blueprint(activities.bp, url_prefix=XAPI_PREFIX)
    app.register_blueprint(admin.bp, url_prefix="/admin")
    app.register_blueprint(privacy_page.bp, url_prefix="/privacy")
    app.register_blueprint(dashboard.bp, url_prefix="/dashboard")
    app.register_blueprint(front.bp)
    app.register_blueprint(exports.bp, url_prefix="/exports")
    app.register_blueprint(sync.bp, url_prefix="/sync")
    app.register_blueprint(reports.bp, url_prefix="/reports")
    return app

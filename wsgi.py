"""gunicorn entry point: `gunicorn wsgi:app` (configuration from LRS_* variables)."""

from __future__ import annotations

from lrs import create_app

app = create_app()

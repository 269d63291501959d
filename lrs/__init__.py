"""The LRS service: a Flask app factory, authentication, the xAPI resources and the CLI."""

from __future__ import annotations

from lrs.app import create_app

__all__ = ["create_app"]

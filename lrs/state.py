"""What one app instance holds: its configuration, its store and its authenticator."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from lrs.auth import Authenticator
from lrs.config import Config
from storage.base import Storage

EXTENSION = "lrs"


@dataclass(frozen=True, slots=True)
class LrsState:
    config: Config
    store: Storage
    authenticator: Authenticator

    def close(self) -> None:
        self.store.close()


def lrs_state() -> LrsState:
    """The state of the app handling the current request."""
    return current_app.extensions[EXTENSION]

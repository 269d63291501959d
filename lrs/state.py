"""What one app instance holds: its configuration, store, authenticator and privacy."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from lrs.auth import Authenticator
from lrs.config import Config
from lrs.privacy import Privacy
from storage.base import Storage

EXTENSION = "lrs"


@dataclass(frozen=True, slots=True)
class LrsState:
    config: Config
    store: Storage
    authenticator: Authenticator
    privacy: Privacy

    def close(self) -> None:
        self.store.close()


def lrs_state() -> LrsState:
    """The state of the app handling the current request."""
    return current_app.extensions[EXTENSION]

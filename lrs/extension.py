"""What one Flask app holds, as its extension `app.extensions["lrs"]`: the configuration,
the service core and the authenticator. Views reach it through `lrs_extension()`, never a
module global."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from lrs.auth import Authenticator
from lrs.config import Config
from lrs.service import LearningRecordStore
from storage import Storage

EXTENSION = "lrs"


@dataclass(frozen=True, slots=True)
class LrsExtension:
    config: Config
    service: LearningRecordStore
    authenticator: Authenticator

    @property
    def store(self) -> Storage:
        """The service's store (credentials are managed on it directly)."""
        return self.service.store

    def close(self) -> None:
        self.service.close()


def lrs_extension() -> LrsExtension:
    """The extension of the app handling the current request."""
    extension: LrsExtension = current_app.extensions[EXTENSION]
    return extension


def service() -> LearningRecordStore:
    """The service core of the app handling the current request."""
    return lrs_extension().service

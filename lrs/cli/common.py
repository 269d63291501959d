"""What every `lrs` subcommand shares: the configuration (as the app reads it), the service
core on the configured store, and the principal the command acts as."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import click

from lrs.config import Config, ConfigError, load_config
from lrs.service import SCOPES, LearningRecordStore, Principal
from storage import DEFAULT_TENANT, StorageError


def config() -> Config:
    try:
        return load_config(None, os.environ)
    except ConfigError as exc:
        raise click.UsageError(f"configuration: {exc}") from None


@contextmanager
def lrs_service() -> Iterator[LearningRecordStore]:
    """The service core on the configured store (its checks: keys, policies)."""
    try:
        opened = LearningRecordStore.open(config())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except StorageError as exc:
        raise click.ClickException(f"cannot open the store: {exc}") from None
    try:
        yield opened
    finally:
        opened.close()


def operator(tenant: str = DEFAULT_TENANT) -> Principal:
    """The principal of the person at the command line: the platform operator, with every
    scope (they hold the store and the keys anyway); the audit log records it as `cli`."""
    return Principal(
        key="cli", tenant=tenant, scopes=frozenset(SCOPES), authority={},
        request_id="cli-" + uuid.uuid4().hex,
    )

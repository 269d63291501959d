"""Persistence behind one interface, chosen by a URI (`open_storage`).

    StorageError
     +-- ConflictError            a write contradicts what is stored (xAPI 409)
     |    +-- DuplicateIdError    a statement id is already stored (insert race)
     +-- DocumentMergeError       a POSTed document cannot be merged: not JSON objects (400)
     +-- NotFoundError            the thing named does not exist
     +-- PreconditionFailedError  an If-Match / If-None-Match check failed (xAPI 412)
     +-- UnavailableError         the backend cannot be reached or opened
"""

from __future__ import annotations

from storage.base import (
    ACTIVITY_PROFILE,
    AGENT_PROFILE,
    DEFAULT_TENANT,
    STATE,
    ActivityStore,
    AttachmentStore,
    Credential,
    CredentialStore,
    Document,
    DocumentScope,
    DocumentStore,
    StatementFilter,
    StatementRecord,
    StatementStore,
    Storage,
    StoredStatement,
)
from storage.errors import (
    ConflictError,
    DocumentMergeError,
    DuplicateIdError,
    NotFoundError,
    PreconditionFailedError,
    StorageError,
    UnavailableError,
)
from storage.ingest import store_statements
from storage.records import build_record
from storage.uri import DEFAULT_STORAGE_URI, open_storage

__all__ = [
    "ACTIVITY_PROFILE",
    "AGENT_PROFILE",
    "DEFAULT_STORAGE_URI",
    "DEFAULT_TENANT",
    "STATE",
    "ActivityStore",
    "AttachmentStore",
    "ConflictError",
    "Credential",
    "CredentialStore",
    "Document",
    "DocumentMergeError",
    "DocumentScope",
    "DocumentStore",
    "DuplicateIdError",
    "NotFoundError",
    "PreconditionFailedError",
    "StatementFilter",
    "StatementRecord",
    "StatementStore",
    "Storage",
    "StorageError",
    "StoredStatement",
    "UnavailableError",
    "build_record",
    "open_storage",
    "store_statements",
]

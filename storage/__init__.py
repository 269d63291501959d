"""Persistence behind one interface (`storage.protocol`), chosen by a URI (`open_storage`).

Backends (`storage.sqlite`, `storage.mongo`) implement primitives; the xAPI rules of storing
are written once above them in `storage.commands`. Errors, one root::

    StorageError
     +-- ConflictError            a write contradicts what is stored (xAPI 409)
     |    +-- DuplicateIdError    a statement id is already stored (insert race)
     +-- ConcurrentUpdateError    a compare-and-set found the row changed since it was read
     +-- DocumentMergeError       a POSTed document cannot be merged: not JSON objects (400)
     +-- PreconditionFailedError  an If-Match / If-None-Match check failed (xAPI 412)
     +-- UnavailableError         the backend cannot be reached or opened
"""

from __future__ import annotations

from storage.errors import (
    ConcurrentUpdateError,
    ConflictError,
    DocumentMergeError,
    DuplicateIdError,
    PreconditionFailedError,
    StorageError,
    UnavailableError,
)
from storage.protocol import Storage, Transaction
from storage.records import (
    ACTIVITY_PROFILE,
    AGENT_PROFILE,
    DEFAULT_TENANT,
    INTERVALS,
    STATE,
    ActivityDefinitions,
    Agreement,
    AttachmentItems,
    AuditEntry,
    Credential,
    Document,
    DocumentRef,
    DocumentScope,
    Erasure,
    FeedPage,
    Identity,
    IndicatorCell,
    IndicatorQuery,
    ModuleRow,
    ProgressRow,
    ReportFilter,
    StatementFilter,
    StatementRecord,
    StoredStatement,
    SyncState,
    Tenant,
    build_record,
)
from storage.uri import DEFAULT_STORAGE_URI, open_storage

__all__ = [
    "ACTIVITY_PROFILE",
    "AGENT_PROFILE",
    "DEFAULT_STORAGE_URI",
    "DEFAULT_TENANT",
    "INTERVALS",
    "STATE",
    "ActivityDefinitions",
    "Agreement",
    "AttachmentItems",
    "AuditEntry",
    "ConcurrentUpdateError",
    "ConflictError",
    "Credential",
    "Document",
    "DocumentMergeError",
    "DocumentRef",
    "DocumentScope",
    "DuplicateIdError",
    "Erasure",
    "FeedPage",
    "Identity",
    "IndicatorCell",
    "IndicatorQuery",
    "ModuleRow",
    "PreconditionFailedError",
    "ProgressRow",
    "ReportFilter",
    "StatementFilter",
    "StatementRecord",
    "Storage",
    "StorageError",
    "StoredStatement",
    "SyncState",
    "Tenant",
    "Transaction",
    "UnavailableError",
    "build_record",
    "open_storage",
]

"""Storage errors; backends turn driver exceptions into these.

    StorageError
     +-- ConflictError            a write contradicts what is stored (xAPI 409)
     |    +-- DuplicateIdError    a statement id is already stored (insert race)
     +-- ConcurrentUpdateError    a compare-and-set found the row changed since it was read
     +-- DocumentMergeError       a POSTed document cannot be merged: not JSON objects (400)
     +-- PreconditionFailedError  an If-Match / If-None-Match check failed (xAPI 412)
     +-- UnavailableError         the backend cannot be reached or opened
"""

from __future__ import annotations


class StorageError(Exception):
    """Root of every error a storage backend raises."""


class ConflictError(StorageError):
    """A write contradicts what is already stored."""


class DuplicateIdError(ConflictError):
    """Statement ids that were already stored when the batch was written."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__(f"statement ids already stored: {', '.join(ids)}")
        self.ids = ids


class ConcurrentUpdateError(StorageError):
    """A compare-and-set write found the row changed (or created) by another writer since it
    was read. Only backends whose writers are not serialized raise it; the commands in
    `storage.commands` read again and retry."""


class DocumentMergeError(StorageError):
    """A document POST onto a stored document where either is not a JSON object."""


class PreconditionFailedError(StorageError):
    """A concurrency precondition did not hold."""


class UnavailableError(StorageError):
    """The backend cannot be reached or opened."""

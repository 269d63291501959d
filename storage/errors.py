"""Storage errors; backends turn driver exceptions into these.

    StorageError
     +-- ConflictError            a write contradicts what is stored (xAPI 409)
     |    +-- DuplicateIdError    a statement id is already stored (insert race)
     +-- DocumentMergeError       a POSTed document cannot be merged: not JSON objects (400)
     +-- NotFoundError            the thing named does not exist
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


class DocumentMergeError(StorageError):
    """A document POST onto a stored document where either is not a JSON object."""


class NotFoundError(StorageError):
    """The thing named does not exist."""


class PreconditionFailedError(StorageError):
    """A concurrency precondition did not hold."""


class UnavailableError(StorageError):
    """The backend cannot be reached or opened."""

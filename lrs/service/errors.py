"""Errors the service core raises for a request it refuses, beside the libraries' own
(`statements.StatementError` for invalid xAPI, `storage.StorageError` and its subclasses).

    ServiceError
     +-- InvalidRequestError    a parameter or body breaks a rule (xAPI 400)
     +-- ForbiddenError         the principal's scopes do not allow the operation (403)
     +-- NotFoundError          the thing named does not exist for this principal (404)
     +-- RequestConflictError   the request contradicts what is stored (409)
     +-- IdentityVaultError     a sealed vault entry cannot be opened (a server fault, 500)
     +-- SyncFailedError        an edge could not forward to its central LRS (it keeps
          |                     everything and tries again; never an HTTP answer)
          +-- SyncRefusedError  the central LRS refused what was sent (400, 409, 413):
                                the same statements sent again would be refused again

Each carries a short `code` and, where a field is to blame, `fields` (JSON path -> rules),
so that every interface renders the same answer; none knows of HTTP (`lrs.errors` maps
them to status codes).
"""

from __future__ import annotations

from collections.abc import Mapping


class ServiceError(Exception):
    """Root of the service core's errors."""

    default_code = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: Mapping[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.fields = dict(fields or {})


class InvalidRequestError(ServiceError):
    default_code = "bad_request"


class ForbiddenError(ServiceError):
    default_code = "forbidden"


class NotFoundError(ServiceError):
    default_code = "not_found"


class RequestConflictError(ServiceError):
    default_code = "conflict"


class IdentityVaultError(ServiceError):
    default_code = "vault_error"


class SyncFailedError(ServiceError):
    default_code = "sync_failed"


class SyncRefusedError(SyncFailedError):
    default_code = "sync_refused"


def invalid(
    message: str, *, field: str | None = None, code: str = "bad_request"
) -> InvalidRequestError:
    """A 400 naming the offending parameter when there is one."""
    return InvalidRequestError(message, code=code, fields={field: [message]} if field else None)

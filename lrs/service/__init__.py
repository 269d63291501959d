"""The HTTP-free service core: `LearningRecordStore` and what its callers need.

    from lrs.config import load_config
    from lrs.service import LearningRecordStore, Principal

    with LearningRecordStore.open(load_config()) as lrs:
        ids = lrs.post_statements(principal, [statement])

Importing it never imports Flask.
"""

from __future__ import annotations

from lrs.service.core import LearningRecordStore
from lrs.service.documents import (
    ACTIVITY_PROFILE_RESOURCE,
    AGENT_PROFILE_RESOURCE,
    STATE_RESOURCE,
    DocumentResource,
)
from lrs.service.errors import (
    ForbiddenError,
    IdentityVaultError,
    InvalidRequestError,
    NotFoundError,
    RequestConflictError,
    ServiceError,
)
from lrs.service.principal import SCOPES, Principal
from lrs.service.privacy import Privacy, load_privacy
from lrs.service.statements import StatementPage

__all__ = [
    "ACTIVITY_PROFILE_RESOURCE",
    "AGENT_PROFILE_RESOURCE",
    "SCOPES",
    "STATE_RESOURCE",
    "DocumentResource",
    "ForbiddenError",
    "IdentityVaultError",
    "InvalidRequestError",
    "LearningRecordStore",
    "NotFoundError",
    "Principal",
    "Privacy",
    "RequestConflictError",
    "ServiceError",
    "StatementPage",
    "load_privacy",
]

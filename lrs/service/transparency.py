"""What the LRS keeps for a tenant, in plain terms: the public transparency page
(`/privacy/<tenant>`), generated from the live policy and credentials so that it can never
disagree with what the LRS does."""

from __future__ import annotations

from typing import Any

from lrs.service.agreements import AgreementService
from lrs.service.errors import NotFoundError
from lrs.service.principal import REIDENTIFY
from lrs.service.privacy import Privacy
from lrs.service.tenants import Tenants
from storage import Storage

KEPT_PARTS = (
    "who did it (the learner, as a pseudonym when pseudonymization is on)",
    "what they did (the verb) and to which activity (course, module, question)",
    "when it happened and when the LRS stored it",
    "the result (score, success, completion, duration)",
    "the context (course structure, registration, instructor, team)",
    "attachments sent with a statement",
)


def transparency(
    store: Storage,
    tenants: Tenants,
    privacy: Privacy,
    agreements: AgreementService,
    tenant: str,
) -> dict[str, Any]:
    """The facts of the tenant's page; NotFoundError for an unknown tenant. The partners are
    those with an active agreement: a revoked or expired one leaves the page."""
    if not tenants.exists(tenant):
        raise NotFoundError(f"no tenant named {tenant}")
    view = tenants.get(tenant)
    policy = view.policy
    reidentifiers = [
        credential.name or credential.key
        for credential in store.list_credentials(tenant)
        if REIDENTIFY in credential.scopes and not credential.revoked
    ]
    return {
        "tenant": view.name,
        "display_name": view.display_name,
        "statements": {
            "kept": list(KEPT_PARTS),
            "dropped_fields": list(policy.drop_fields),
            "extensions": (
                "all" if policy.allowed_extensions is None else list(policy.allowed_extensions)
            ),
        },
        "dimensions": dict(policy.dimensions),
        "pseudonymization": {
            "on": privacy.pseudonymizes(view),
            "how": (
                "Every identifier (e-mail address, account, OpenID) is replaced by a keyed "
                "pseudonym (HMAC-SHA256 under a key of this tenant) before anything is stored; "
                "names are dropped. The original identifiers are kept only encrypted "
                "(AES-256-GCM) in an identity vault."
                if privacy.pseudonymizes(view)
                else "Identifiers are stored as the learning apps send them."
            ),
        },
        "retention_days": policy.retention_days,
        "reidentification": {
            "credentials": reidentifiers,
            "how": "Only credentials given the reidentify permission can read original "
                   "identities back, and every such read is recorded in the audit log.",
        },
        "partners": [
            {
                "partner": agreement.partner,
                "purpose": agreement.purpose,
                "fields": list(agreement.fields),
                "dimensions": [name for name, _ in agreement.dimensions],
                "learner_ids": agreement.learner_ids,
                "expires": agreement.expires,
            }
            for agreement in agreements.active(tenant)
        ],
        "reports": {"minimum_group": policy.k, "rounding": policy.rounding},
        "erasure": {
            "contact": policy.erasure_contact,
            "how": "A learner or a guardian can ask for the learner's data to be erased. The "
                   "LRS then deletes every statement, document and attachment of that learner "
                   "and their entries in the identity vault, and keeps a receipt without any "
                   "identifier.",
        },
        "notice_languages": list(policy.notice_languages),
    }

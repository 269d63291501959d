"""Who is asking, and what each scope allows.

Scopes are the xAPI list (Communication 4.2) plus ours: `reidentify` (original identities
back from the vault), `reports` (aggregates only), `export` (partner exports under one
agreement), `erase` (erasure), `admin` (the tenant's policy, credentials and audit log),
`platform` (the operator of the whole LRS: every tenant) and `sync` (an edge LRS forwarding
its statements: the only way to store already pseudonymized statements with their sealed
originals, and to read the erasure list). `all` is xAPI's: every xAPI
resource, none of ours. The groups below are the one statement of which scopes
allow which kind of operation; interfaces check them early (HTTP answers 403 before reading
a body) and the service core checks them again, for callers that are not HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lrs.service.errors import ForbiddenError

STATEMENTS_WRITE = "statements/write"
STATEMENTS_READ = "statements/read"
STATEMENTS_READ_MINE = "statements/read/mine"
ALL_READ = "all/read"
ALL = "all"
STATE = "state"
PROFILE = "profile"
DEFINE = "define"
REIDENTIFY = "reidentify"
REPORTS = "reports"
EXPORT = "export"
ERASE = "erase"
ADMIN = "admin"
PLATFORM = "platform"
SYNC = "sync"
XAPI_SCOPES = frozenset(
    {STATEMENTS_WRITE, STATEMENTS_READ, STATEMENTS_READ_MINE, ALL_READ, ALL, STATE, PROFILE, DEFINE}
)
SCOPES = XAPI_SCOPES | {REIDENTIFY, REPORTS, EXPORT, ERASE, ADMIN, PLATFORM, SYNC}

# Which scopes allow each kind of request. `all` allows everything; `all/read` every read.
STATEMENT_READ_SCOPES = (STATEMENTS_READ, STATEMENTS_READ_MINE, ALL_READ, ALL)
STATEMENT_WRITE_SCOPES = (STATEMENTS_WRITE, ALL)
STATE_READ_SCOPES = (STATE, ALL_READ, ALL)
STATE_WRITE_SCOPES = (STATE, ALL)
PROFILE_READ_SCOPES = (PROFILE, ALL_READ, ALL)
PROFILE_WRITE_SCOPES = (PROFILE, ALL)
# Definitions are metadata about content, not learners: any read scope, and the scopes of
# clients working with the same activities (Communication 2.5).
ACTIVITY_READ_SCOPES = (STATEMENTS_READ, STATEMENTS_READ_MINE, ALL_READ, ALL, DEFINE, STATE,
                        PROFILE)
# Statements written with these update canonical Activity definitions (Communication 4.2).
DEFINE_SCOPES = (DEFINE, ALL)
AGENT_READ_SCOPES = tuple(dict.fromkeys((*STATEMENT_READ_SCOPES, *PROFILE_READ_SCOPES)))
ADMIN_SCOPES = (ADMIN, PLATFORM)
# Erasure deletes a learner's records for good: only the scope made for it, never implied.
ERASE_SCOPES = (ERASE,)
PLATFORM_SCOPES = (PLATFORM,)
# An export credential holds `export` and nothing else, bound to one agreement.
EXPORT_SCOPES = (EXPORT,)
# Vault entries arrive from outside the LRS only this way (`lrs.service.sync`): no other
# scope, `all` included, may inject them.
SYNC_SCOPES = (SYNC,)
# What a scope lets its holder grant to a credential it creates: itself, and for `all` the
# xAPI scopes it stands for (`all/read` the read ones). `admin` and `platform` make the
# agreements, which decide what a partner receives; an export credential reaches nothing
# but its agreement's export, so they may give it.
_IMPLIED = {
    ALL: XAPI_SCOPES,
    ALL_READ: frozenset({ALL_READ, STATEMENTS_READ, STATEMENTS_READ_MINE}),
    STATEMENTS_READ: frozenset({STATEMENTS_READ, STATEMENTS_READ_MINE}),
    ADMIN: frozenset({ADMIN, EXPORT}),
    PLATFORM: frozenset({PLATFORM, EXPORT}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of an operation: the verified credential's key, tenant, scopes and the
    `authority` Agent written into its statements; for an export credential, the one
    agreement it is bound to."""

    key: str
    tenant: str
    scopes: frozenset[str]
    authority: dict[str, Any]
    # The request this principal makes, as the audit log records it.
    request_id: str = ""
    agreement: str | None = None

    def allows(self, allowed: Iterable[str]) -> bool:
        return not self.scopes.isdisjoint(allowed)

    def require(self, allowed: Iterable[str]) -> None:
        """ForbiddenError unless this principal holds one of `allowed`."""
        if not self.allows(allowed):
            raise ForbiddenError("this credential's scopes do not allow this request")

    @property
    def reads_only_own(self) -> bool:
        """Statement reads limited to what this credential wrote (`statements/read/mine`)."""
        return self.scopes.isdisjoint((STATEMENTS_READ, ALL_READ, ALL))

    def can_grant(self, scopes: Iterable[str]) -> bool:
        """Whether this principal may give `scopes` to a new credential: only what it holds
        itself (least privilege: nobody mints a credential stronger than their own)."""
        held: set[str] = set()
        for scope in self.scopes:
            held |= _IMPLIED.get(scope, frozenset({scope}))
        return set(scopes) <= held

    @property
    def reidentifies(self) -> bool:
        """Whether original identities may be returned to this principal."""
        return REIDENTIFY in self.scopes

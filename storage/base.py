"""The storage interface every backend implements, grouped by resource.

Commands (verbs that change state) are kept apart from queries. Rules that hold for every
backend (conflict checks, voiding rules, stamping) live above this interface in
`storage.ingest`; a backend only persists and finds, atomically.

Every row a backend writes carries the tenant id, and every query is scoped to one tenant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

DEFAULT_TENANT = "default"


@dataclass(frozen=True, slots=True)
class StatementRecord:
    """A statement ready to persist: its final JSON plus query fields computed once.

    `statement` is the serialized statement exactly as it will be returned (it already holds
    `id`, `stored`, `authority` and `version`). Agent keys are canonical IFI strings from
    `statements.agent_key`; `agents` holds the actor and an Agent/Group object, `related_agents`
    every agent position (xAPI Communication 2.1.3, `related_agents`); `activities` holds the
    object Activity id, `related_activities` every activity id in the statement.
    """

    id: str
    statement: bytes
    stored: str
    verb: str
    writer: str
    registration: str | None = None
    ref: str | None = None
    voids: str | None = None
    agents: frozenset[str] = field(default_factory=frozenset)
    related_agents: frozenset[str] = field(default_factory=frozenset)
    activities: frozenset[str] = field(default_factory=frozenset)
    related_activities: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class StoredStatement:
    """A statement as read back; `statement` is byte-for-byte what was written."""

    id: str
    statement: bytes
    stored: str
    voided: bool
    voids: str | None
    writer: str


@dataclass(frozen=True, slots=True)
class StatementFilter:
    """A list query in storage terms (agent keys already canonical, times in stored format).

    Filters other than `since`/`until` also match a statement whose StatementRef target
    (recursively) matches (Communication 2.1.3, Filter Conditions for StatementRefs). Voided
    statements never match. `after` is the keyset cursor: the (stored, id) of the last
    statement of the previous page.
    """

    agent: str | None = None
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    related_agents: bool = False
    related_activities: bool = False
    since: str | None = None
    until: str | None = None
    ascending: bool = False
    writer: str | None = None
    after: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Credential:
    """An API credential; only a hash of its secret is ever stored."""

    key: str
    secret_hash: str
    name: str
    scopes: tuple[str, ...]
    authority: str
    tenant: str = DEFAULT_TENANT
    created: str = ""
    revoked: bool = False


@runtime_checkable
class StatementStore(Protocol):
    def insert_statements(self, tenant: str, records: Sequence[StatementRecord]) -> None:
        """Store all records or none. Raises DuplicateIdError if any id is already stored.

        Marks stored statements named by a record's `voids` as voided, and a new record as
        voided when an already stored statement voids it.
        """

    def get_statements(self, tenant: str, ids: Sequence[str]) -> dict[str, StoredStatement]:
        """The stored statements among `ids`, voided or not, keyed by id."""

    def query_statements(
        self, tenant: str, query: StatementFilter, limit: int
    ) -> list[StoredStatement]:
        """Up to `limit` matching statements ordered by (stored, id), newest first unless
        `query.ascending`."""


@runtime_checkable
class CredentialStore(Protocol):
    def put_credential(self, credential: Credential) -> None:
        """Create or replace the credential with this key."""

    def get_credential(self, key: str) -> Credential | None:
        """The credential with this key, revoked or not."""

    def list_credentials(self, tenant: str | None = None) -> list[Credential]:
        """Every credential, or those of one tenant, oldest first."""


@runtime_checkable
class Storage(StatementStore, CredentialStore, Protocol):
    """Everything the service needs from a backend. Backends are context managers."""

    def close(self) -> None:
        """Release connections and files."""

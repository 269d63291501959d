"""The storage interface every backend implements, grouped by resource.

Commands (verbs that change state) are kept apart from queries. Rules that hold for every
backend (conflict checks, voiding rules, stamping) live above this interface in
`storage.ingest`; a backend only persists and finds, atomically.

Every row a backend writes carries the tenant id, and every query is scoped to one tenant.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from storage.errors import DocumentMergeError, PreconditionFailedError

DEFAULT_TENANT = "default"

# The three document resources (Communication 2.3, 2.6, 2.7).
STATE = "state"
ACTIVITY_PROFILE = "activity_profile"
AGENT_PROFILE = "agent_profile"

# Activity definition properties (Data 2.4.4.1): language maps merged per tag, and the
# interaction properties, which only make sense together (Data 2.4.4.1 Interaction Activities).
_DEFINITION_LANGUAGE_MAPS = frozenset({"name", "description"})
_INTERACTION_PROPERTIES = frozenset(
    {"interactionType", "correctResponsesPattern", "choices", "scale", "source", "target",
     "steps"}
)

# Activity id -> the definitions to merge into its canonical one, in arrival order; an empty
# sequence only records the id (see `ActivityStore`).
ActivityDefinitions = Mapping[str, Sequence[Mapping[str, Any]]]


@dataclass(frozen=True, slots=True)
class Identity:
    """One original agent behind a pseudonym, kept in the identity vault.

    `agent` is the pseudonym's agent key; `digest` tells apart the distinct originals of one
    pseudonym (a keyed digest: a plain hash of an identifier is an identifier too); `sealed`
    is the original agent, encrypted (`anonymize.seal`). Backends treat all three as opaque.
    """

    agent: str
    digest: str
    sealed: bytes


@dataclass(frozen=True, slots=True)
class StatementRecord:
    """A statement ready to persist: its final JSON plus query fields computed once.

    `statement` is the serialized statement exactly as it will be returned (it already holds
    `id`, `stored`, `authority` and `version`). Agent keys are canonical IFI strings from
    `statements.agent_key`; `agents` holds the actor and an Agent/Group object, `related_agents`
    every agent position (xAPI Communication 2.1.3, `related_agents`); `activities` holds the
    object Activity id, `related_activities` every activity id in the statement.

    Identity vault (pseudonymization on): `sealed` holds the statement's original agents,
    encrypted, returned with the statement; `identities` are stored once per (agent, digest).
    Both are written in the same atomic step as the statement.
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
    sealed: bytes | None = None
    identities: tuple[Identity, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredStatement:
    """A statement as read back; `statement` and `sealed` are byte-for-byte what was
    written."""

    id: str
    statement: bytes
    stored: str
    voided: bool
    voids: str | None
    writer: str
    sealed: bytes | None = None


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


@dataclass(frozen=True, slots=True)
class DocumentScope:
    """Where documents live: their resource and the parameters naming their context.

    State documents are scoped by activity, agent and registration, Activity Profile documents
    by activity, Agent Profile documents by agent (Communication 2.3, 2.6, 2.7); unused parts
    are empty strings. `agent` is an agent key (`statements.agent_key`), never agent JSON.
    For a single document, `registration=None` names the one stored without a registration;
    for `list_documents` and `delete_documents` it means any registration (Communication 2.3,
    "Activity + Agent [+ registration if specified]").
    """

    resource: str
    activity: str = ""
    agent: str = ""
    registration: str | None = None


@dataclass(frozen=True, slots=True)
class Document:
    """A stored document: the bytes exactly as sent with their Content-Type, the ETag (SHA-1
    hex of the bytes, unquoted) and when it last changed (in the `stored` timestamp format)."""

    id: str
    content: bytes
    content_type: str
    etag: str
    updated: str


def document_etag(content: bytes) -> str:
    """The ETag xAPI 1.0.3 prescribes: lowercase hex SHA-1 of the content (Communication 3.1)."""
    return hashlib.sha1(content, usedforsecurity=False).hexdigest()


def check_preconditions(
    current: Document | None,
    *,
    if_match: Sequence[str] | None = None,
    if_none_match: Sequence[str] | None = None,
) -> None:
    """Apply If-Match / If-None-Match (RFC 7232 section 3; ETags unquoted, "*" = any existing
    document) to the current document. Raises PreconditionFailedError (Communication 3.1)."""
    if if_match is not None:
        if current is None:
            raise PreconditionFailedError("If-Match given but there is no such document")
        if "*" not in if_match and current.etag not in if_match:
            raise PreconditionFailedError("the document changed: If-Match does not match its ETag")
    if (
        if_none_match is not None
        and current is not None
        and ("*" in if_none_match or current.etag in if_none_match)
    ):
        raise PreconditionFailedError("the document exists and If-None-Match rules that out")


def is_json_content_type(content_type: str) -> bool:
    """Whether a Content-Type header names application/json (parameters ignored)."""
    return content_type.partition(";")[0].strip().lower() == "application/json"


def merge_json_documents(current: Document, content: bytes, content_type: str) -> bytes:
    """Communication 2.2, JSON Procedure: set each top-level property of the posted object on
    the stored object. Raises DocumentMergeError unless both are application/json objects."""
    merged = _json_object(current.content, current.content_type, "the stored document")
    merged.update(_json_object(content, content_type, "the posted document"))
    return json.dumps(merged, ensure_ascii=False, separators=(",", ":")).encode()


def merge_definition(
    current: Mapping[str, Any], new: Mapping[str, Any]
) -> dict[str, Any]:
    """The canonical Activity definition once `new` arrives from a writer allowed to define
    it (Data 2.4.4.1 LRS Requirements; Communication 4.2 `define`).

    `name` and `description` are merged per language tag and `extensions` per key, the newer
    value winning; any other property is replaced by the newer value, the interaction
    properties (`interactionType`, `correctResponsesPattern`, components) as one group, so a
    new interaction type never keeps the components of the old one; what `new` lacks is
    kept. Merging the same definition twice changes nothing more than merging it once.
    """
    merged = dict(current)
    if not _INTERACTION_PROPERTIES.isdisjoint(new):
        for key in _INTERACTION_PROPERTIES:
            merged.pop(key, None)
    for key, value in new.items():
        old = merged.get(key)
        if key in _DEFINITION_LANGUAGE_MAPS and isinstance(old, dict):
            # RFC 5646 2.1.1: tags are case-insensitive; the newer spelling replaces the old.
            replaced = {tag.lower() for tag in value}
            merged[key] = {
                **{tag: text for tag, text in old.items() if tag.lower() not in replaced},
                **value,
            }
        elif key == "extensions" and isinstance(old, dict):
            merged[key] = {**old, **value}
        else:
            merged[key] = value
    return merged


def merge_definitions(
    current: Mapping[str, Any], definitions: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """`current` with each of `definitions` merged in order (`merge_definition`)."""
    merged = dict(current)
    for definition in definitions:
        merged = merge_definition(merged, definition)
    return merged


def _json_object(content: bytes, content_type: str, what: str) -> dict:
    if not is_json_content_type(content_type):
        raise DocumentMergeError(f"{what} is not application/json, so it cannot be merged")
    try:
        value = json.loads(content)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise DocumentMergeError(f"{what} is not a JSON object, so it cannot be merged")
    return value


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

    def get_identities(self, tenant: str, agent: str) -> list[Identity]:
        """The identities stored for the pseudonym with agent key `agent`, by digest."""


@runtime_checkable
class CredentialStore(Protocol):
    def put_credential(self, credential: Credential) -> None:
        """Create or replace the credential with this key."""

    def get_credential(self, key: str) -> Credential | None:
        """The credential with this key, revoked or not."""

    def list_credentials(self, tenant: str | None = None) -> list[Credential]:
        """Every credential, or those of one tenant, oldest first."""


@runtime_checkable
class DocumentStore(Protocol):
    """State, Activity Profile and Agent Profile documents (Communication 2.2 to 2.7)."""

    def put_document(
        self,
        tenant: str,
        scope: DocumentScope,
        doc_id: str,
        content: bytes,
        content_type: str,
        *,
        updated: str,
        if_match: Sequence[str] | None = None,
        if_none_match: Sequence[str] | None = None,
        merge: bool = False,
    ) -> Document:
        """Create or replace one document, or with `merge` merge a JSON object into it
        (`merge_json_documents`; a missing document is created). Preconditions are checked
        against the current document in the same atomic step as the write
        (`check_preconditions`). Raises PreconditionFailedError or DocumentMergeError and
        then changes nothing. Returns the document as stored."""

    def get_document(self, tenant: str, scope: DocumentScope, doc_id: str) -> Document | None:
        """The document, or None."""

    def list_documents(
        self, tenant: str, scope: DocumentScope, since: str | None = None
    ) -> dict[str, str]:
        """Ids of the documents in `scope` updated after `since` (exclusive), each mapped to
        its latest `updated`, in id order."""

    def delete_document(
        self,
        tenant: str,
        scope: DocumentScope,
        doc_id: str,
        *,
        if_match: Sequence[str] | None = None,
        if_none_match: Sequence[str] | None = None,
    ) -> bool:
        """Delete one document after checking preconditions atomically; whether it existed."""

    def delete_documents(self, tenant: str, scope: DocumentScope) -> int:
        """Delete every document in `scope` (State multiple-document DELETE); how many."""


@runtime_checkable
class AttachmentStore(Protocol):
    """Attachment data (Data 2.4.11), kept apart from statement rows and deduplicated per
    tenant by its SHA-2 (lowercase hex): statements refer to data only by that hash, and
    the same data sent with many statements is stored once (Communication 1.5.2)."""

    def put_attachments(self, tenant: str, items: Mapping[str, tuple[str, bytes]]) -> None:
        """Store `sha2 -> (content type, data)`, all or none. Idempotent: a hash already
        stored is left as it is (its data is the same by definition)."""

    def get_attachments(
        self, tenant: str, sha2s: Sequence[str]
    ) -> dict[str, tuple[str, bytes]]:
        """The stored data among `sha2s`, as `sha2 -> (content type, data)`."""


@runtime_checkable
class ActivityStore(Protocol):
    """The Activities the LRS knows and their canonical definitions (Data 2.4.4.1,
    Communication 2.5). `activities` arguments (`ActivityDefinitions`) map an activity id to
    the definitions to merge into its canonical one (`merge_definitions`); an empty sequence
    only records the id: without the `define` scope "ids will be saved" but the canonical
    representation is not updated (Communication 4.2)."""

    def insert_statements_with_activities(
        self, tenant: str, records: Sequence[StatementRecord], activities: ActivityDefinitions
    ) -> None:
        """`insert_statements`, then `put_activities`: in the same transaction where the
        backend has one, else right after the statements are stored. Raises as
        `insert_statements` does, and then changes no activity."""

    def put_activities(self, tenant: str, activities: ActivityDefinitions) -> None:
        """Record every id and merge its definitions into the canonical one, atomically per
        activity: concurrent writers lose no merge."""

    def get_activities(self, tenant: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The canonical definition of each known activity among `ids` (ids compare
        exactly); an empty dict for one known without a definition."""


@runtime_checkable
class Storage(
    StatementStore, DocumentStore, CredentialStore, AttachmentStore, ActivityStore, Protocol
):
    """Everything the service needs from a backend. Backends are context managers."""

    def close(self) -> None:
        """Release connections and files."""

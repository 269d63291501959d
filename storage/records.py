"""What the storage layer holds and returns: plain, frozen records shared by every backend.

Agent keys are canonical IFI strings (`statements.agent_key`), never agent JSON; times are
in the fixed-width `stored` format (`statements.stored_timestamp`), which sorts as text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from statements import ReportFields, attachment_hashes, report_fields, statement_index_fields

DEFAULT_TENANT = "default"

# The three document resources (Communication 2.3, 2.6, 2.7).
STATE = "state"
ACTIVITY_PROFILE = "activity_profile"
AGENT_PROFILE = "agent_profile"

# sha2 (lowercase hex) -> (content type, data): attachment data (Data 2.4.11).
AttachmentItems = Mapping[str, tuple[str, bytes]]

# Activity id -> the definitions to merge into its canonical one, in arrival order; an empty
# sequence only records the id (Communication 4.2: without `define`, "ids will be saved").
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
    `id`, `stored`, `authority` and `version`). `agents` holds the keys of the actor and of
    an Agent/Group object (members included), `related_agents` every other agent position
    (Communication 2.1.3 `related_agents`); `activities` holds the object Activity id,
    `related_activities` every other activity id in the statement. `ref` is the id of the
    statement the object refers to (StatementRef), `voids` that id again when the verb voids.
    `attachments` holds the sha2 of each of its attachments (Data 2.4.11): attachment data is
    kept while a statement refers to it, so that erasure and retention delete what no
    remaining statement needs.

    Identity vault (pseudonymization on): `sealed` holds the statement's original agents,
    encrypted, returned with the statement; `identities` are stored once per (agent, digest).
    Both are written in the same atomic step as the statement.

    `report` holds what the statement counts for in reports (`statements.report_fields`),
    None when it counts in none; backends keep it as the statement's report facts.
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
    attachments: frozenset[str] = field(default_factory=frozenset)
    sealed: bytes | None = None
    identities: tuple[Identity, ...] = ()
    report: ReportFields | None = None


@dataclass(frozen=True, slots=True)
class StoredStatement:
    """A statement as read back; `statement` and `sealed` are byte-for-byte what was
    written. `pending` is True while the statement's deferred writes (identities, activity
    definitions: `Storage.defers_shared_writes`) are not known to be done."""

    id: str
    statement: bytes
    stored: str
    voided: bool
    voids: str | None
    writer: str
    sealed: bytes | None = None
    pending: bool = False


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
    # The data-sharing agreement an `export` credential is bound to (its only use); None
    # for every other credential.
    agreement: str | None = None


@dataclass(frozen=True, slots=True)
class Agreement:
    """A data-sharing agreement of one tenant with one partner: the unit of sharing.

    `fields` are the statement fields the partner receives (the allow-list of
    `lrs.service.agreements`, its dimensions' paths included), `dimensions` the (name,
    extension IRI) pairs of the tenant's dimensions it may receive, as they were when it was
    made. `since`/`until` bound the statements by `stored` (exclusive, inclusive; None:
    open), `starts`/`expires` when exports are allowed; all times in the `stored` format.
    `revoked` is when it was revoked (None: it was not). Only `revoked` ever changes."""

    id: str
    tenant: str
    partner: str
    purpose: str
    fields: tuple[str, ...]
    dimensions: tuple[tuple[str, str], ...]
    since: str | None
    until: str | None
    starts: str
    expires: str
    learner_ids: bool
    created: str
    revoked: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentScope:
    """Where documents live: their resource and the parameters naming their context.

    State documents are scoped by activity, agent and registration, Activity Profile documents
    by activity, Agent Profile documents by agent (Communication 2.3, 2.6, 2.7); unused parts
    are empty strings. `agent` is an agent key (`statements.agent_key`), never agent JSON.
    For a single document, `registration=None` names the one stored without a registration;
    for listing and deleting a scope it means any registration (Communication 2.3,
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


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """A stored document named by where it is, with the ETag and time of its current
    version: what deleting it (a compare-and-set on the ETag) and judging its age need."""

    scope: DocumentScope
    id: str
    etag: str
    updated: str


@dataclass(frozen=True, slots=True)
class Tenant:
    """A tenant (one country or programme): its name (a slug, the key every row carries),
    a display name, and its policy as the JSON object of the settings explicitly given for
    it (what is not given follows the service's configuration; `lrs.service.tenants` reads
    and checks it). `revision` grows with every change, so each worker can tell that a
    policy it holds is stale."""

    name: str
    display_name: str
    policy: Mapping[str, Any]
    created: str
    updated: str
    revision: int = 0


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry of a tenant's append-only audit log: who (`credential` key) did what
    (`action`) to which `resource`, with which `filters` (a JSON object, agents as
    pseudonyms), how many records it returned or changed, in which request. `seq` numbers a
    tenant's entries from 1; `previous` is the hash of the entry before (empty for the
    first) and `hash` this entry's, so an edited or removed entry breaks the chain
    (`storage.commands.audit`)."""

    tenant: str
    seq: int
    time: str
    credential: str
    action: str
    resource: str
    filters: Mapping[str, Any]
    count: int
    request_id: str
    previous: str
    hash: str


@dataclass(frozen=True, slots=True)
class ReportFilter:
    """Which report facts a report reads, in storage terms: those of `course` (its
    modules' statements and its own, `statements.report`), with `since` <= time < `until`
    (µs since the epoch), one of `verbs`, of `registration` (lowercase), and every (IRI,
    value) of `dimensions`; None or empty: no condition."""

    course: str | None = None
    since: int | None = None
    until: int | None = None
    verbs: tuple[str, ...] = ()
    registration: str | None = None
    dimensions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ProgressRow:
    """One learner in a course (`Storage.report_progress`): first and last time (µs), how
    many statements, distinct modules attempted (any statement), completed and passed, the
    course completed and passed (a statement about the course itself), the best scaled
    score and the total duration in seconds (None when no statement had one)."""

    learner: str
    first: int
    last: int
    statements: int
    attempted: int
    completed: int
    passed: int
    course_completed: bool
    course_passed: bool
    best_score: float | None
    duration: float | None


@dataclass(frozen=True, slots=True)
class ModuleRow:
    """One module of a course (`Storage.report_modules`): distinct learners who attempted,
    completed and passed it; `scorers` learners with a score and the average scaled score
    of the scored statements; `timed` learners with a duration and the median of their
    total durations on the module (seconds)."""

    module: str
    attempted: int
    completed: int
    passed: int
    scorers: int
    average_score: float | None
    timed: int
    median_duration: float | None


INTERVALS = ("day", "week", "month")


@dataclass(frozen=True, slots=True)
class IndicatorQuery:
    """The buckets `first` to `last` (inclusive) of `interval` (numbered as in
    `statements.ReportFields`), grouped by course when `by_course` and by the values of the
    `by_dimensions` IRIs, of the facts `filter` selects (its `since`/`until` are not used:
    buckets are whole)."""

    interval: str
    first: int
    last: int
    by_course: bool = False
    by_dimensions: tuple[str, ...] = ()
    filter: ReportFilter = field(default_factory=ReportFilter)


@dataclass(frozen=True, slots=True)
class IndicatorCell:
    """One bucket and group (`Storage.report_indicators`): distinct active learners, new
    learners (whose first statement, in the course when grouped or filtered by course,
    falls in this bucket and group), statements, learners who completed a course (a
    completion of the course itself), learners with a score and the average scaled score.
    Without grouping by course each statement counts once; `course` is then None. A
    dimension value is None where it was not recorded."""

    bucket: int
    course: str | None
    dimensions: tuple[str | None, ...]
    active: int
    new: int
    statements: int
    completers: int
    scorers: int
    average_score: float | None


@dataclass(frozen=True, slots=True)
class FeedPage:
    """A page of a tenant's statement feed (`Storage.read_feed`): statements in the order
    they became readable, voided ones included, and the position to read on from. Positions
    are backend-defined text that sorts in feed order."""

    statements: tuple[StoredStatement, ...]
    position: str


@dataclass(frozen=True, slots=True)
class SyncState:
    """Where one tenant's forwarding to one central LRS (`target`, its sync URL) stands,
    kept in the edge's store so that it survives any interruption: the central LRS has
    acknowledged every statement of the feed up to `position` ("" = none yet), and the
    erasure list up to its entry `erasures_pulled`; the edge's own erasure list is applied
    locally up to entry `erasures_applied`. Times are in the `stored` format ("" = never);
    `last_error` is the latest failure's message, cleared by the next success. `revision`
    grows with every change (compare-and-set)."""

    tenant: str
    target: str
    position: str = ""
    erasures_pulled: int = 0
    erasures_applied: int = 0
    last_success: str = ""
    last_error: str = ""
    last_error_at: str = ""
    revision: int = 0


@dataclass(frozen=True, slots=True)
class Erasure:
    """One entry of a tenant's erasure list: the agent key of a pseudonym whose data was
    erased, numbered from 1 in the order listed, so that edge LRSs can pull the entries
    after the last one they applied."""

    tenant: str
    seq: int
    agent: str
    time: str


def build_record(
    statement: dict[str, Any],
    *,
    writer: str,
    sealed: bytes | None = None,
    identities: tuple[Identity, ...] = (),
    dimensions: Sequence[str] = (),
) -> StatementRecord:
    """The record of a statement that carries its final `id`, `stored` and `timestamp`:
    serialized once, with the query fields (Communication 2.1.3 filters) and the report
    fields (with the values of the `dimensions` extension IRIs) computed once. The record
    id is the lowercase UUID, the form every reference to it is looked up by."""
    fields = statement_index_fields(statement)
    serialized = orjson.dumps(statement)
    # The substring test first: most statements carry no attachment, and it costs nothing.
    hashes = attachment_hashes(statement) if b'"attachments"' in serialized else ()
    return StatementRecord(
        id=statement["id"].lower(),
        statement=serialized,
        stored=statement["stored"],
        verb=fields.verb,
        writer=writer,
        registration=fields.registration,
        ref=fields.ref,
        voids=fields.voids,
        agents=frozenset(fields.agents),
        related_agents=frozenset(fields.related_agents),
        activities=frozenset(fields.activities),
        related_activities=frozenset(fields.related_activities),
        attachments=frozenset(hashes),
        sealed=sealed,
        identities=identities,
        report=report_fields(statement, dimensions),
    )

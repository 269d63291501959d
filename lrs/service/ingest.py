"""Storing statements: the rules a client hears about (Data 2.3, 2.4.1, 2.4.7-2.4.10,
Communication 2.1.1-2.1.2), checked before anything is written.

A batch is all or nothing: every check runs before the single `storage.commands.
insert_statements` call, and any failure raises before anything is written. What keeps the
store's own fields right (voiding flags, StatementRef chains, activity merges) is
`storage.commands`; this module decides what to store.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from anonymize import withdraw_member
from statements import (
    VOIDED,
    StatementError,
    activity_position_tuples,
    agent_key,
    agent_position_tuples,
    statements_equal,
    stored_timestamp,
    version_family,
)
from storage import (
    AttachmentItems,
    DuplicateIdError,
    Identity,
    StatementRecord,
    Storage,
    StoredStatement,
    build_record,
)
from storage.commands import finish_statements, insert_statements, put_attachments
from storage.errors import ConflictError

# Data 2.4.10: a statement sent without `version` is stored with 1.0.0 (all of 1.0.x); one
# sent through a 2.0 request with 2.0.0 (xapi-2.0-notes.md section 1).
DEFAULT_VERSIONS = {"1.0": "1.0.0", "2.0": "2.0.0"}

_TICK = timedelta(microseconds=1)


class StoredClock:
    """Hands out `stored` instants strictly increasing within this process, so that the
    (stored, id) paging key orders even the statements of one batch by arrival."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = datetime.min.replace(tzinfo=UTC)

    def take(self, count: int, now: datetime) -> datetime:
        """Reserve `count` consecutive microseconds, the first no earlier than `now`."""
        with self._lock:
            first = max(now.astimezone(UTC), self._last + _TICK)
            self._last = first + _TICK * (count - 1)
        return first


_clock = StoredClock()


def voided_target(statement: Mapping[str, Any]) -> str | None:
    """The id a voiding statement voids (Data 2.3.2), or None for any other statement."""
    obj = statement.get("object")
    if (
        statement.get("verb", {}).get("id") == VOIDED
        and isinstance(obj, dict)
        and obj.get("objectType") == "StatementRef"
    ):
        return str(obj["id"]).lower()
    return None


# The authority a statement is stored with: the credential's Agent, or a function of the
# statement as received (forwarded statements keep their writer beside the forwarding link).
Authority = dict[str, Any] | Callable[[Mapping[str, Any]], dict[str, Any]]


def store_statements(
    store: Storage,
    tenant: str,
    statements: list[dict[str, Any]],
    *,
    authority: Authority,
    writer: str,
    now: datetime | None = None,
    attachments: AttachmentItems | None = None,
    sealed: Mapping[str, bytes] | None = None,
    identities: Mapping[str, Sequence[Identity]] | None = None,
    define_activities: bool = False,
    version: str = "1.0.3",
    dimensions: Sequence[str] = (),
) -> list[str]:
    """Store validated statements as one batch and return their ids in request order.

    Raises StatementError (400) for ids repeated in the batch or a voiding statement whose
    target is itself a voiding statement, and ConflictError (409) when an id is already
    stored with different content; a statement equal to the stored one is skipped.

    `attachments` (sha2 -> (content type, data), see `statements.match_attachments`) is
    written after every check passed and before the statements, idempotently: should the
    statement write still fail, what remains is data no statement refers to (never served,
    and stored once per hash anyway), never a statement missing its data. This holds on a
    backend without multi-document transactions too.

    `sealed` and `identities` (by lowercase statement id) are the identity vault entries of
    pseudonymized statements, written with their statement. Pseudonymized statements must
    carry their id already: the sealed entry is bound to it. A re-sent statement is compared
    in the form it is stored (pseudonymized, masked), so re-sending stays a no-op, except
    that a re-sent statement still `pending` (its batch's deferred step failed, see
    `storage.protocol`) gets that step finished with what the re-send carries.

    `authority` is the credential's Agent, or for forwarded statements a function giving
    each statement's from the statement as received.

    `define_activities` (the credential has the `define` or `all` scope) merges the Activity
    definitions of the stored statements into the canonical ones; without it their ids are
    only recorded (Communication 4.2). Either is written with the statements.

    `version` is the request's xAPI version, which decides the `version` a statement sent
    without one is stored with.

    `dimensions` are the extension IRIs of the tenant's report dimensions: their values are
    kept in the statements' report facts (`statements.report_fields`).
    """
    stamped = _stamp(
        statements, authority, now or datetime.now(UTC), DEFAULT_VERSIONS[version_family(version)]
    )
    ids = [s["id"].lower() for s in stamped]
    _check_repeated_ids(ids)
    targets = {i: t for i, t in enumerate(voided_target(s) for s in stamped) if t is not None}
    known = store.get_statements(tenant, list(dict.fromkeys([*ids, *targets.values()])))
    _check_voiding(stamped, targets, known)
    pending, resent = _new_statements(statements, stamped, known)
    sealed = sealed or {}
    identities = identities or {}

    def record(statement: dict[str, Any]) -> StatementRecord:
        key = statement["id"].lower()
        return build_record(
            statement,
            writer=writer,
            sealed=sealed.get(key),
            identities=tuple(identities.get(key, ())),
            dimensions=dimensions,
        )

    records = [record(statement) for statement in pending]
    if attachments and records:
        put_attachments(store, tenant, attachments, writer)
    try:
        insert_statements(
            store, tenant, records, statement_definitions(pending, define=define_activities)
        )
    except DuplicateIdError as exc:
        # Another writer stored some of these ids since our check: judge them as re-sends.
        raced = store.get_statements(tenant, exc.ids)
        _new_statements(statements, stamped, raced)
        left = [s for s in pending if s["id"].lower() not in raced]
        insert_statements(
            store,
            tenant,
            [r for r in records if r.id not in raced],
            statement_definitions(left, define=define_activities),
        )
    unfinished = [s for s in resent if known[s["id"].lower()].pending]
    if unfinished:
        finish_statements(
            store,
            tenant,
            [record(statement) for statement in unfinished],
            statement_definitions(unfinished, define=define_activities),
        )
    return ids


def statement_definitions(
    statements: Sequence[Mapping[str, Any]], *, define: bool
) -> dict[str, list[dict[str, Any]]]:
    """The `ActivityDefinitions` of statements: each activity id with, when `define`, its
    definitions in order of arrival (a definition equal to the one before it once)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for statement in statements:
        for _, activity, *_ in activity_position_tuples(statement):
            definitions = found.setdefault(activity["id"], [])
            if define:
                definition = activity.get("definition")
                if definition and (not definitions or definitions[-1] != definition):
                    definitions.append(definition)
    return found


def _stamp(
    statements: list[dict[str, Any]], authority: Authority, now: datetime, version: str
) -> list[dict[str, Any]]:
    """Copies with the properties the LRS assigns (Data 2.4.1, 2.4.7-2.4.10): `id` when
    missing, `stored`, `authority` (always the LRS's choice, never the client's, Data
    2.4.9), `version` and `timestamp` when missing."""
    first = _clock.take(len(statements), now)
    stamped = []
    for offset, statement in enumerate(statements):
        stored = stored_timestamp(first + _TICK * offset)
        copy = statement if "id" in statement else {"id": str(uuid.uuid4()), **statement}
        given = authority(statement) if callable(authority) else authority
        copy = {**copy, "stored": stored, "authority": given}
        copy.setdefault("version", version)
        copy.setdefault("timestamp", stored)
        stamped.append(copy)
    return stamped


def _check_repeated_ids(ids: list[str]) -> None:
    """Communication 2.1.2: a batch holding one id twice is rejected (400)."""
    first: dict[str, int] = {}
    errors: dict[str, list[str]] = {}
    for index, statement_id in enumerate(ids):
        if statement_id in first:
            errors[f"[{index}].id"] = [
                f"repeats the id of statement [{first[statement_id]}] in this batch"
            ]
        else:
            first[statement_id] = index
    if errors:
        raise StatementError(errors)


def _check_voiding(
    stamped: list[dict[str, Any]], targets: dict[int, str], known: dict[str, StoredStatement]
) -> None:
    """Data 2.3.2: a voiding statement cannot itself be voided, whether it is already stored
    or comes in the same batch. An unknown target is accepted (it may arrive later)."""
    batch_voiding = {stamped[i]["id"].lower() for i in targets}
    errors = {
        f"[{index}].object.id": ["must not target a voiding statement (Data 2.3.2)"]
        for index, target in targets.items()
        if target in batch_voiding or (target in known and known[target].voids is not None)
    }
    if errors:
        raise StatementError(errors)


def _same_statement(sent: dict[str, Any], stored: dict[str, Any]) -> bool:
    """Data 2.3.1 equality, where an erased learner taken out of a Group of the stored
    statement (`lrs.service.erasure`) is no difference: a client re-sending the statement
    as it once sent it is making a re-send, not a conflicting statement."""
    if statements_equal(sent, stored):
        return True
    remaining = {agent_key(node) for _, node, *_ in agent_position_tuples(stored)}
    withdrawn = withdraw_member(sent, {}, lambda node: agent_key(dict(node)) not in remaining)
    return withdrawn is not None and statements_equal(withdrawn.statement, stored)


def _new_statements(
    sent: list[dict[str, Any]],
    stamped: list[dict[str, Any]],
    known: dict[str, StoredStatement],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The stamped statements whose id is not stored yet, and those re-sent. A re-sent
    statement equal to the stored one is a no-op; a different one is a conflict
    (Communication 2.1.1-2.1.2). The statement as sent is compared, before stamping: what
    the LRS assigns is no difference (Data 2.3.1), nor are Group members erased from the
    stored one."""
    pending = []
    resent = []
    conflicts = []
    for original, statement in zip(sent, stamped, strict=True):
        existing = known.get(statement["id"].lower())
        if existing is None:
            pending.append(statement)
        elif _same_statement(original, orjson.loads(existing.statement)):
            resent.append(statement)
        else:
            conflicts.append(existing.id)
    if conflicts:
        raise ConflictError(
            f"statement ids already stored with different content: {', '.join(conflicts)}"
        )
    return pending, resent

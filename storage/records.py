"""Turning a statement ready to store into a `StatementRecord`: serialized once, with the
query fields (Communication 2.1.3 filters) computed once at write time."""

from __future__ import annotations

import orjson

from statements import statement_index_fields
from storage.base import Identity, StatementRecord


def build_record(
    statement: dict,
    *,
    writer: str,
    sealed: bytes | None = None,
    identities: tuple[Identity, ...] = (),
) -> StatementRecord:
    """`statement` must already carry its final `id` and `stored` (see `storage.ingest`).
    The record id is the lowercase UUID, the form every reference to it is looked up by.
    `sealed` and `identities` are its identity vault entries (see `StatementRecord`)."""
    fields = statement_index_fields(statement)
    return StatementRecord(
        id=statement["id"].lower(),
        statement=orjson.dumps(statement),
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
        sealed=sealed,
        identities=identities,
    )

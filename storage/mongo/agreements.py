"""Data-sharing agreements in MongoDB (collection `agreements`): `{t, id, partner, purpose,
fields, dimensions, since, until, starts, expires, learner_ids, created, revoked}`,
`dimensions` a list of [name, IRI] pairs (IRIs are values here, never keys); `(t, id)` is
unique."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING

from storage.mongo.database import Database
from storage.records import Agreement

_FIELDS = {"_id": 0}


def put(db: Database, agreement: Agreement) -> None:
    fields = {
        "partner": agreement.partner, "purpose": agreement.purpose,
        "fields": list(agreement.fields),
        "dimensions": [list(pair) for pair in agreement.dimensions],
        "since": agreement.since, "until": agreement.until, "starts": agreement.starts,
        "expires": agreement.expires, "learner_ids": agreement.learner_ids,
        "created": agreement.created, "revoked": agreement.revoked,
    }
    db.agreements.update_one(
        {"t": agreement.tenant, "id": agreement.id}, {"$set": fields}, upsert=True
    )


def get(db: Database, tenant: str, agreement_id: str) -> Agreement | None:
    doc = db.agreements.find_one({"t": tenant, "id": agreement_id}, _FIELDS)
    return None if doc is None else _agreement(doc)


def list_all(db: Database, tenant: str) -> list[Agreement]:
    docs = db.agreements.find({"t": tenant}, _FIELDS).sort(
        [("created", ASCENDING), ("id", ASCENDING)]
    )
    return [_agreement(doc) for doc in docs]


def _agreement(doc: dict[str, Any]) -> Agreement:
    return Agreement(
        id=doc["id"], tenant=doc["t"], partner=doc["partner"], purpose=doc["purpose"],
        fields=tuple(doc["fields"]),
        dimensions=tuple((name, iri) for name, iri in doc["dimensions"]),
        since=doc["since"], until=doc["until"], starts=doc["starts"], expires=doc["expires"],
        learner_ids=doc["learner_ids"], created=doc["created"], revoked=doc["revoked"],
    )

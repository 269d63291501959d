"""Dashboard sessions in MongoDB (collection `sessions`): `{id_hash, tenant, credential,
csrf, created, expires}`, one per login, keyed by the hash of its id."""

from __future__ import annotations

from typing import Any

from storage.mongo.database import Database
from storage.records import Session


def put(db: Database, session: Session) -> None:
    db.sessions.insert_one({
        "id_hash": session.id_hash, "tenant": session.tenant,
        "credential": session.credential, "csrf": session.csrf, "created": session.created,
        "expires": session.expires,
    })


def get(db: Database, id_hash: str) -> Session | None:
    doc = db.sessions.find_one({"id_hash": id_hash}, {"_id": 0})
    return None if doc is None else _session(doc)


def delete(db: Database, id_hash: str) -> None:
    db.sessions.delete_one({"id_hash": id_hash})


def delete_expired(db: Database, now: str) -> int:
    return db.sessions.delete_many({"expires": {"$lt": now}}).deleted_count


def _session(doc: dict[str, Any]) -> Session:
    return Session(
        doc["id_hash"], doc["tenant"], doc["credential"], doc["csrf"], doc["created"],
        doc["expires"],
    )

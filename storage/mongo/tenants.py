"""Tenants in MongoDB (collection `tenants`): `{name, display_name, policy, created,
updated, revision}`, the policy a JSON object stored as BSON binary (its extension IRIs hold
"."). Writes are compare-and-set on `revision` (`storage.records.Tenant`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from bson import Binary
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from storage.errors import ConcurrentUpdateError
from storage.mongo.database import Database
from storage.records import Tenant

if TYPE_CHECKING:
    from pymongo.client_session import ClientSession


def get(db: Database, session: ClientSession | None, name: str) -> Tenant | None:
    doc = db.tenants.find_one({"name": name}, {"_id": 0}, session=session)
    return None if doc is None else _tenant(doc)


def list_all(db: Database) -> list[Tenant]:
    return [_tenant(doc) for doc in db.tenants.find({}, {"_id": 0}).sort("name", ASCENDING)]


def write(
    db: Database, session: ClientSession | None, tenant: Tenant, replaces: int | None
) -> None:
    fields = {
        "display_name": tenant.display_name, "policy": Binary(orjson.dumps(tenant.policy)),
        "updated": tenant.updated, "revision": tenant.revision,
    }
    if replaces is None:
        try:
            db.tenants.insert_one(
                {"name": tenant.name, "created": tenant.created, **fields}, session=session
            )
        except DuplicateKeyError as exc:
            raise ConcurrentUpdateError(f"a tenant named {tenant.name} exists") from exc
        return
    done = db.tenants.update_one(
        {"name": tenant.name, "revision": replaces}, {"$set": fields}, session=session
    )
    if done.matched_count != 1:
        raise ConcurrentUpdateError(f"tenant {tenant.name} changed since it was read")


def _tenant(doc: dict[str, Any]) -> Tenant:
    return Tenant(
        doc["name"], doc["display_name"], orjson.loads(doc["policy"]), doc["created"],
        doc["updated"], doc["revision"],
    )

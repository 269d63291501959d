"""API credentials in MongoDB (collection `credentials`): `{key, secret_hash, name, scopes,
authority, tenant, created, revoked, agreement}`. Only the secret's hash is stored; keys are
unique across tenants because a request names its key before its tenant is known. A
credential stored before agreements existed has no `agreement` field: it is bound to none."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING

from storage.mongo.database import Database
from storage.records import Credential


def put(db: Database, credential: Credential) -> None:
    fields = {
        "secret_hash": credential.secret_hash, "name": credential.name,
        "scopes": list(credential.scopes), "authority": credential.authority,
        "tenant": credential.tenant, "created": credential.created,
        "revoked": credential.revoked, "agreement": credential.agreement,
    }
    db.credentials.update_one({"key": credential.key}, {"$set": fields}, upsert=True)


def get(db: Database, key: str) -> Credential | None:
    doc = db.credentials.find_one({"key": key})
    return None if doc is None else _credential(doc)


def list_all(db: Database, tenant: str | None) -> list[Credential]:
    flt = {} if tenant is None else {"tenant": tenant}
    docs = db.credentials.find(flt).sort([("created", ASCENDING), ("_id", ASCENDING)])
    return [_credential(doc) for doc in docs]


def _credential(doc: dict[str, Any]) -> Credential:
    return Credential(
        key=doc["key"], secret_hash=doc["secret_hash"], name=doc["name"],
        scopes=tuple(doc["scopes"]), authority=doc["authority"], tenant=doc["tenant"],
        created=doc["created"], revoked=doc["revoked"], agreement=doc.get("agreement"),
    )

"""Every byte a store holds, and checks that no raw identifier is among them.

`store_bytes(uri)` dispatches on the URI scheme through `SCANNERS`, the one place to extend
when a backend (or a new kind of file) is added:

* SQLite: the database file and its `-wal` and `-shm` files, read raw (a committed write may
  still live only in the WAL);
* MongoDB: every document of every collection of the database (documents, statements,
  identities, attachments, credentials...), dumped as raw BSON.

`find_identifiers(blob, identifiers)` looks for each identifier as UTF-8, case-insensitively,
and in its JSON-escaped forms (`\\/`, `\\uXXXX`), so an encoder's choice cannot hide it.
A signed statement's JWS (Data 2.6) carries the identities base64url-encoded, where no
identifier shows: `jws_forms(token)` are the forms to look for besides them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from pathlib import Path


def _sqlite_bytes(uri: str) -> bytes:
    path = Path(uri[len("sqlite:///") :])
    chunks = []
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            chunks.append(candidate.read_bytes())
    assert chunks, f"no SQLite file at {path}"
    return b"\n".join(chunks)


def _mongo_bytes(uri: str) -> bytes:
    from bson.raw_bson import RawBSONDocument
    from pymongo import MongoClient

    client: MongoClient = MongoClient(uri, document_class=RawBSONDocument)
    try:
        database = client.get_default_database("lrs")
        chunks = []
        for name in database.list_collection_names():
            chunks.append(name.encode())
            chunks.extend(doc.raw for doc in database[name].find())
        return b"\n".join(chunks)
    finally:
        client.close()


SCANNERS: dict[str, Callable[[str], bytes]] = {
    "sqlite:///": _sqlite_bytes,
    "mongodb://": _mongo_bytes,
}


def store_bytes(uri: str) -> bytes:
    """Every byte the store named by `uri` holds."""
    for prefix, scanner in SCANNERS.items():
        if uri.startswith(prefix):
            return scanner(uri)
    raise ValueError(f"no scanner for {uri.split(':', 1)[0]} stores: add one to SCANNERS")


def _forms(identifier: str) -> set[bytes]:
    escaped = json.dumps(identifier)[1:-1]
    ascii_escaped = json.dumps(identifier, ensure_ascii=True)[1:-1]
    return {
        form.lower().encode("utf-8")
        for form in (identifier, escaped, ascii_escaped, escaped.replace("/", "\\/"))
    }


def find_identifiers(blob: bytes | str, identifiers: Iterable[str]) -> list[str]:
    """The identifiers present in `blob` (empty when none is)."""
    data = (blob.encode("utf-8") if isinstance(blob, str) else blob).lower()
    return [i for i in identifiers if any(form in data for form in _forms(i))]


def jws_forms(token: bytes, piece: int = 48) -> list[str]:
    """What would show a JWS stored in clear: its payload segment (the signed statement,
    base64url) and the token in standard base64 (as data is encoded in a JSON document), in
    pieces of `piece` characters, since a store may split a long value across pages."""
    payload = token.split(b".")[1].decode()
    encoded = base64.b64encode(token).decode()
    # Whole pieces only: a short one could turn up anywhere by chance.
    return [
        text[i : i + piece]
        for text in (payload, encoded)
        for i in range(0, len(text) - piece + 1, piece)
    ]

"""The MongoDB backend (pymongo), selected by `LRS_STORAGE_URI=mongodb://...`.

`database` owns the client, the collections with their indexes (each listed with the queries
it serves), the write transaction and the driver-error mapping; one module per resource
holds its collection's layout and queries; `backend` composes them into the `Storage` of
`storage.protocol`. pymongo is imported only when this package is, which `storage.uri` does
only for a mongodb:// URI.
"""

from __future__ import annotations

from storage.mongo.backend import MongoStorage, MongoTransaction
from storage.mongo.statements import paging_key, statement_pipeline

__all__ = ["MongoStorage", "MongoTransaction", "paging_key", "statement_pipeline"]

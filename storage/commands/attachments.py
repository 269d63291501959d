"""Attachment data (Data 2.4.11): stored once per tenant and sha2, apart from statements."""

from __future__ import annotations

from storage.commands.retry import retrying
from storage.protocol import Storage
from storage.records import AttachmentItems


def put_attachments(store: Storage, tenant: str, items: AttachmentItems, writer: str) -> None:
    """Store `sha2 -> (content type, data)` sent by `writer`, all or none; idempotent. Two
    writers storing the same new hash at once: the loser finds it stored on its retry. Who
    sent which data is kept, so that a reader limited to its own statements is served only
    data it sent itself, never data another writer sent that it merely names by hash."""
    if items:
        retrying(
            store, lambda tx: tx.put_attachments(tenant, items, writer=writer),
            "store attachments",
        )

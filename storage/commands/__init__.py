"""The xAPI rules of storing, written once above the backends' primitives
(`storage.protocol`): every backend gets the same voiding, StatementRef chains, document
preconditions and merge, activity definition merge, erasure of a learner and retention,
because no backend implements them.

Each command takes the `Storage` to write to; the service core (`lrs.service`) calls them,
and so can any other tool writing an LRS store.
"""

from __future__ import annotations

from storage.commands.activities import (
    merge_activities,
    merge_definition,
    merge_definitions,
    put_activities,
)
from storage.commands.attachments import put_attachments
from storage.commands.audit import AuditKey, BrokenLink, append_audit, entry_hash, verify_audit
from storage.commands.documents import (
    check_preconditions,
    delete_document,
    delete_documents,
    document_etag,
    is_json_content_type,
    merge_json_documents,
    put_document,
)
from storage.commands.erasure import Erasure, ErasureCounts, erase_agent, stands_in
from storage.commands.retention import Retention, delete_before
from storage.commands.statements import (
    apply_voiding,
    finish_statements,
    insert_statements,
    link_references,
)
from storage.commands.sync import record_erasure, update_sync_state
from storage.commands.tenants import create_tenant, update_tenant

__all__ = [
    "AuditKey",
    "BrokenLink",
    "Erasure",
    "ErasureCounts",
    "Retention",
    "append_audit",
    "apply_voiding",
    "check_preconditions",
    "create_tenant",
    "delete_before",
    "delete_document",
    "delete_documents",
    "document_etag",
    "entry_hash",
    "erase_agent",
    "finish_statements",
    "insert_statements",
    "is_json_content_type",
    "link_references",
    "merge_activities",
    "merge_definition",
    "merge_definitions",
    "merge_json_documents",
    "put_activities",
    "put_attachments",
    "put_document",
    "record_erasure",
    "stands_in",
    "update_sync_state",
    "update_tenant",
    "verify_audit",
]

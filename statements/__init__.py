"""The xAPI 1.0.3 data model: validation with precise error paths, and query fields.

    >>> from statements import validate
    >>> validate({"actor": {"mbox": "mailto:a@example.com"},
    ...           "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
    ...           "object": {"id": "http://example.com/course"}})["object"]
    {'id': 'http://example.com/course'}
"""

from __future__ import annotations

from statements.agent import agent_key, validate_agent
from statements.compare import statements_equal
from statements.errors import QueryError, StatementError
from statements.formatting import (
    best_language,
    format_canonical,
    format_ids,
    parse_accept_language,
)
from statements.index import IndexFields, statement_index_fields
from statements.multipart import (
    AttachmentData,
    AttachmentPart,
    attachment_hashes,
    build_multipart,
    match_attachments,
    parse_statement_parts,
)
from statements.query import StatementQuery, parse_statement_query
from statements.signature import is_signature_attachment, verify_signature
from statements.statement import validate, validate_statements
from statements.timestamps import parse_timestamp, stored_timestamp

__all__ = [
    "AttachmentData",
    "AttachmentPart",
    "IndexFields",
    "QueryError",
    "StatementError",
    "StatementQuery",
    "agent_key",
    "attachment_hashes",
    "best_language",
    "build_multipart",
    "format_canonical",
    "format_ids",
    "is_signature_attachment",
    "match_attachments",
    "parse_accept_language",
    "parse_statement_parts",
    "parse_statement_query",
    "parse_timestamp",
    "statement_index_fields",
    "statements_equal",
    "stored_timestamp",
    "validate",
    "validate_agent",
    "validate_statements",
    "verify_signature",
]

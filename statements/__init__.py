"""The xAPI data model, 1.0.3 and 2.0 (9274.1.1) side by side: validation with precise error
paths under the rules of a request's version, and query fields.

    >>> from statements import validate
    >>> validate({"actor": {"mbox": "mailto:a@example.com"},
    ...           "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
    ...           "object": {"id": "http://example.com/course"}})["object"]
    {'id': 'http://example.com/course'}

The names below are loaded on first use (PEP 562), except the walker's (`statements.walk`,
standard library only): importing `statements.walk`, as `anonymize` does, then loads nothing
else of this package, marshmallow included.
"""

from __future__ import annotations

import importlib
import typing

from statements.walk import (
    CONTEXT_ACTIVITY_KINDS,
    CONTEXT_AGENT_LISTS,
    IFI_FIELDS,
    VOIDED,
    Position,
    PositionTuple,
    activity_position_tuples,
    activity_positions,
    agent_position_tuples,
    agent_positions,
    map_activities,
    map_agents,
    normalize_mbox,
)

if typing.TYPE_CHECKING:
    from statements.agent import agent_key, validate_agent
    from statements.compare import statements_equal
    from statements.errors import QueryError, StatementError
    from statements.index import IndexFields, statement_index_fields
    from statements.multipart import (
        AttachmentData,
        AttachmentPart,
        attachment_hashes,
        build_multipart,
        match_attachments,
        parse_statement_parts,
    )
    from statements.output_formats import (
        best_language,
        format_canonical,
        format_ids,
        parse_accept_language,
        without_2_0_properties,
    )
    from statements.query import StatementQuery, parse_statement_query
    from statements.report import (
        ReportFields,
        bucket_bounds,
        bucket_of,
        bucket_start,
        report_fields,
        stored_report_fields,
        week_of_day,
    )
    from statements.signature import is_signature_attachment, verify_signature
    from statements.statement import validate, validate_statements
    from statements.timestamps import parse_timestamp, stored_timestamp, utc_timestamp
    from statements.values import (
        IRI_ERROR,
        MEDIA_TYPE_ERROR,
        TIMESTAMP_ERROR,
        UUID_ERROR,
        check_media_type,
        is_iri,
        is_language_tag,
        is_uuid,
        safe_media_type,
    )
    from statements.versions import XAPI_VERSIONS, negotiate_version, version_family

__all__ = [
    "CONTEXT_ACTIVITY_KINDS",
    "CONTEXT_AGENT_LISTS",
    "IFI_FIELDS",
    "IRI_ERROR",
    "MEDIA_TYPE_ERROR",
    "TIMESTAMP_ERROR",
    "UUID_ERROR",
    "VOIDED",
    "XAPI_VERSIONS",
    "AttachmentData",
    "AttachmentPart",
    "IndexFields",
    "Position",
    "PositionTuple",
    "QueryError",
    "ReportFields",
    "StatementError",
    "StatementQuery",
    "activity_position_tuples",
    "activity_positions",
    "agent_key",
    "agent_position_tuples",
    "agent_positions",
    "attachment_hashes",
    "best_language",
    "bucket_bounds",
    "bucket_of",
    "bucket_start",
    "build_multipart",
    "check_media_type",
    "format_canonical",
    "format_ids",
    "is_iri",
    "is_language_tag",
    "is_signature_attachment",
    "is_uuid",
    "map_activities",
    "map_agents",
    "match_attachments",
    "negotiate_version",
    "normalize_mbox",
    "parse_accept_language",
    "parse_statement_parts",
    "parse_statement_query",
    "parse_timestamp",
    "report_fields",
    "safe_media_type",
    "statement_index_fields",
    "statements_equal",
    "stored_report_fields",
    "stored_timestamp",
    "utc_timestamp",
    "validate",
    "validate_agent",
    "validate_statements",
    "verify_signature",
    "version_family",
    "week_of_day",
    "without_2_0_properties",
]

# Where each lazily loaded name lives (tests hold this, the imports above and __all__ equal).
_LAZY = {
    "agent_key": "agent",
    "validate_agent": "agent",
    "statements_equal": "compare",
    "QueryError": "errors",
    "StatementError": "errors",
    "IndexFields": "index",
    "statement_index_fields": "index",
    "AttachmentData": "multipart",
    "AttachmentPart": "multipart",
    "attachment_hashes": "multipart",
    "build_multipart": "multipart",
    "match_attachments": "multipart",
    "parse_statement_parts": "multipart",
    "best_language": "output_formats",
    "format_canonical": "output_formats",
    "format_ids": "output_formats",
    "parse_accept_language": "output_formats",
    "without_2_0_properties": "output_formats",
    "StatementQuery": "query",
    "parse_statement_query": "query",
    "ReportFields": "report",
    "report_fields": "report",
    "stored_report_fields": "report",
    "bucket_bounds": "report",
    "bucket_of": "report",
    "bucket_start": "report",
    "week_of_day": "report",
    "is_signature_attachment": "signature",
    "verify_signature": "signature",
    "validate": "statement",
    "validate_statements": "statement",
    "parse_timestamp": "timestamps",
    "stored_timestamp": "timestamps",
    "utc_timestamp": "timestamps",
    "IRI_ERROR": "values",
    "MEDIA_TYPE_ERROR": "values",
    "TIMESTAMP_ERROR": "values",
    "UUID_ERROR": "values",
    "check_media_type": "values",
    "is_iri": "values",
    "is_language_tag": "values",
    "is_uuid": "values",
    "safe_media_type": "values",
    "XAPI_VERSIONS": "versions",
    "negotiate_version": "versions",
    "version_family": "versions",
}


if not typing.TYPE_CHECKING:  # type checkers read the imports above instead

    def __getattr__(name: str) -> object:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        globals()[name] = value  # later lookups are plain attribute reads
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})

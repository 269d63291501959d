"""The xAPI 1.0.3 data model: validation with precise error paths, and query fields.

    >>> from statements import validate
    >>> validate({"actor": {"mbox": "mailto:a@example.com"},
    ...           "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
    ...           "object": {"id": "http://example.com/course"}})["object"]
    {'id': 'http://example.com/course'}
"""

from __future__ import annotations

from statements.agent import agent_key, validate_agent
from statements.errors import QueryError, StatementError
from statements.index import IndexFields, statement_index_fields
from statements.statement import validate, validate_statements

__all__ = [
    "IndexFields",
    "QueryError",
    "StatementError",
    "agent_key",
    "statement_index_fields",
    "validate",
    "validate_agent",
    "validate_statements",
]

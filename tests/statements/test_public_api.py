"""The `statements` package exports exactly its sorted `__all__` (STYLE.md practice 9)."""

from __future__ import annotations

import types

import statements


def test_all_is_sorted():
    assert statements.__all__ == sorted(statements.__all__)


def test_all_matches_the_exported_names():
    exported = {
        name
        for name, value in vars(statements).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
    }
    assert set(statements.__all__) == exported


def test_core_api_is_exported():
    for name in ("validate", "validate_statements", "validate_agent", "agent_key"):
        assert name in statements.__all__
    assert {"statement_index_fields", "IndexFields", "StatementError", "QueryError"} <= set(
        statements.__all__
    )

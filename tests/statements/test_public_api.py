"""The `statements` package exports exactly its sorted `__all__` (STYLE.md practice 9)."""

from __future__ import annotations

import ast
import subprocess
import sys
import types
from pathlib import Path

import statements

INIT = Path(statements.__file__)


def _isort_key(name: str) -> tuple[int, str]:
    """The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted():
    assert statements.__all__ == sorted(statements.__all__, key=_isort_key)


def test_all_matches_the_exported_names():
    for name in statements.__all__:  # most names load on first use (PEP 562)
        assert getattr(statements, name) is not None
    exported = {
        name
        for name, value in vars(statements).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
    }
    assert set(statements.__all__) == exported
    assert set(statements.__all__) <= set(dir(statements))


def test_lazy_table_and_type_checking_imports_match_all():
    """Three lists name the exports: `__all__`, the lazy table, and the imports type checkers
    read (plus the eager walker imports); they must agree."""
    tree = ast.parse(INIT.read_text())
    imported: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("statements."):
            for alias in node.names:
                imported[alias.name] = node.module.removeprefix("statements.")
    lazy = statements._LAZY
    assert set(imported) == set(statements.__all__)
    assert {name: imported[name] for name in lazy} == lazy
    assert {name for name, module in imported.items() if module == "walk"} == (
        set(statements.__all__) - set(lazy)
    )
    for name, module in lazy.items():
        assert getattr(statements, name) is getattr(
            __import__(f"statements.{module}", fromlist=[name]), name
        )


def test_core_api_is_exported():
    for name in ("validate", "validate_statements", "validate_agent", "agent_key"):
        assert name in statements.__all__
    assert {"statement_index_fields", "IndexFields", "StatementError", "QueryError"} <= set(
        statements.__all__
    )


def test_service_names_are_exported():
    """What the service used to reach into modules for."""
    assert {
        "is_iri",
        "is_uuid",
        "is_language_tag",
        "check_media_type",
        "IRI_ERROR",
        "UUID_ERROR",
        "TIMESTAMP_ERROR",
        "VOIDED",
        "IFI_FIELDS",
        "CONTEXT_ACTIVITY_KINDS",
        "CONTEXT_AGENT_LISTS",
        "Position",
        "agent_positions",
        "activity_positions",
        "map_agents",
        "map_activities",
        "normalize_mbox",
    } <= set(statements.__all__)


def test_unknown_name_is_an_attribute_error():
    try:
        statements.no_such_name  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("expected AttributeError")


def test_walker_loads_nothing_else():
    """`statements.walk` is standard library only, and importing it (as `anonymize` does)
    loads no other module of the package and no marshmallow."""
    code = (
        "import sys, statements.walk; "
        "print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('statements', 'marshmallow', 'orjson')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=INIT.parent.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "['statements', 'statements.walk']"

"""Every package exports exactly its sorted `__all__` (STYLE.md practice 9): what other
tools may import is a decision, never an accident of what a module happens to import."""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = [
    "anonymize",
    "lrs",
    "lrs.service",
    "statements",
    "storage",
    "storage.commands",
    "storage.mongo",
    "storage.sqlite",
]


def _isort_order(name: str) -> tuple[int, str]:
    """Constants, then classes, then functions (ruff's RUF022 order)."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_matches_the_exported_names(name):
    package = importlib.import_module(name)
    assert package.__all__ == sorted(package.__all__, key=_isort_order)
    exported = {
        attribute
        for attribute, value in vars(package).items()
        if not attribute.startswith("_")
        and not isinstance(value, types.ModuleType)
        and attribute != "annotations"
    }
    # Lazily imported names (lrs.create_app) are in __all__ before their first use.
    assert exported <= set(package.__all__)
    for attribute in package.__all__:
        assert getattr(package, attribute) is not None

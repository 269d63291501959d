"""Helpers for the data model tests: edit a copy of an example at a JSON path, and collect
the errors validation reports for it."""

from __future__ import annotations

import copy
import re
from typing import Any

from statements import StatementError, validate

DELETE = object()
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    return [name if name else int(index) for name, index in _STEP.findall(path)]


def changed(base: Any, path: str, value: Any = DELETE) -> Any:
    """A deep copy of `base` with `value` set at `path` (`a.b[0].c`), or the key removed."""
    data = copy.deepcopy(base)
    *parents, last = _steps(path)
    node = data
    for step in parents:
        node = node[step]
    if value is DELETE:
        del node[last]
    else:
        node[last] = copy.deepcopy(value)
    return data


def errors(statement: Any, **kwargs: Any) -> dict[str, list[str]]:
    """The errors `validate` reports, {} when the statement is valid."""
    try:
        validate(statement, **kwargs)
    except StatementError as error:
        return error.errors
    return {}

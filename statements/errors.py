"""The one error type of the `statements` package.

    StatementError        every problem found in one input, each under its JSON path
     +-- QueryError       a Statement resource query parameter problem
"""

from __future__ import annotations

from collections.abc import Mapping


class StatementError(ValueError):
    """Invalid xAPI input. `errors` maps a JSON path (`context.contextActivities.parent[0].id`,
    `[2].actor.mbox` inside a batch, `""` for the document itself) to the rules it breaks."""

    code = "invalid_statement"

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors: dict[str, list[str]] = {path: list(msgs) for path, msgs in errors.items()}
        super().__init__(self._summary())

    def _summary(self) -> str:
        return "; ".join(
            f"{path or '(document)'}: {msg}" for path, msgs in self.errors.items() for msg in msgs
        )


class QueryError(StatementError):
    """A Statement resource query parameter is invalid or not allowed with another."""

    code = "invalid_query"

"""Data minimization before storage: extension allow-lists and dropped free-text fields.

Extensions (Data 4.1) are where clients put whatever they like, so a deployment can keep only the
extension IRIs it has reviewed. Free text such as `result.response` (what a child typed) can be
dropped altogether.

Rule for empty containers: an `extensions` map, `result`, `context` or activity `definition`
that masking leaves empty is removed, so nothing in a stored statement hints at what was there;
containers that were already empty in the input are left as they were.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from anonymize.errors import MaskingError
from statements.walk import map_activities

__all__ = ["SUPPORTED_DROP_FIELDS", "MaskingPolicy"]

# Field name -> (container, key). Applied in the statement and in a SubStatement alike.
_DROPPABLE: dict[str, tuple[str, str]] = {
    "result.response": ("result", "response"),
}
SUPPORTED_DROP_FIELDS = frozenset(_DROPPABLE)
_REMOVE = object()

Statement = dict[str, Any]


class MaskingPolicy:
    """What to strip from statements before they are stored.

    `allowed_extensions`: extension IRIs to keep in context, result and activity definition
    extensions (SubStatements included); every other key is dropped. The default, None, keeps
    all extensions. `drop_fields`: field names from `SUPPORTED_DROP_FIELDS` to remove. Both
    accept any iterable of strings, as read from configuration.
    """

    __slots__ = ("_drop_context", "_drop_result", "allowed_extensions", "drop_fields")

    def __init__(
        self,
        allowed_extensions: Iterable[str] | None = None,
        drop_fields: Iterable[str] = frozenset(),
    ) -> None:
        self.allowed_extensions = (
            None if allowed_extensions is None else _names(allowed_extensions, "allowed_extensions")
        )
        self.drop_fields = _names(drop_fields, "drop_fields")
        unknown = self.drop_fields - SUPPORTED_DROP_FIELDS
        if unknown:
            raise MaskingError(
                f"drop_fields: unsupported {sorted(unknown)}; supported: "
                f"{sorted(SUPPORTED_DROP_FIELDS)}"
            )
        fields = [_DROPPABLE[name] for name in sorted(self.drop_fields)]
        self._drop_result = tuple(key for container, key in fields if container == "result")
        self._drop_context = tuple(key for container, key in fields if container == "context")

    def __repr__(self) -> str:
        allowed = None if self.allowed_extensions is None else sorted(self.allowed_extensions)
        return (
            f"MaskingPolicy(allowed_extensions={allowed!r}, "
            f"drop_fields={sorted(self.drop_fields)!r})"
        )

    @property
    def masks_nothing(self) -> bool:
        """True when `apply` can never change a statement."""
        return self.allowed_extensions is None and not self.drop_fields

    def apply(self, statement: Mapping[str, Any]) -> Statement:
        """The statement with the policy applied. Copy on write: the input is never modified,
        and it is returned itself when nothing in it is masked."""
        if self.masks_nothing:
            return statement  # type: ignore[return-value]  # a Mapping only if one came in
        if self.allowed_extensions is not None:
            statement = self._activities(statement)
        result: Statement = self._containers(statement)
        return result

    def _activities(self, statement: Mapping[str, Any]) -> Mapping[str, Any]:
        """Activity definitions, wherever `statements.walk` finds Activities (SubStatement
        included); the statement itself when none changed."""
        masked = map_activities(statement, self._activity)
        # The walker shares what it leaves alone, and every Activity is under these two keys.
        obj, context = statement.get("object"), statement.get("context")
        if masked.get("object") is obj and masked.get("context") is context:
            return statement
        return masked

    def _containers(self, statement: Mapping[str, Any]) -> Any:
        """Result and context, in the statement and in a SubStatement."""
        changes: dict[str, Any] = {}
        _child(statement, "result", self._result, changes)
        _child(statement, "context", self._context, changes)
        obj = statement.get("object")
        if isinstance(obj, dict) and obj.get("objectType") == "SubStatement":
            _child(statement, "object", self._containers, changes)
        return _with(statement, changes)

    def _result(self, result: Mapping[str, Any]) -> Any:
        changes: dict[str, Any] = {key: _REMOVE for key in self._drop_result if key in result}
        _child(result, "extensions", self._extensions, changes)
        return _with(result, changes)

    def _context(self, context: Mapping[str, Any]) -> Any:
        changes: dict[str, Any] = {key: _REMOVE for key in self._drop_context if key in context}
        if self.allowed_extensions is not None:
            _child(context, "extensions", self._extensions, changes)
        return _with(context, changes)

    def _activity(self, activity: dict[str, Any], path: str = "") -> Any:
        definition = activity.get("definition")
        if not isinstance(definition, dict) or "extensions" not in definition:
            return activity  # the common case (context activities): nothing to look at
        changes: dict[str, Any] = {}
        _child(activity, "definition", self._definition, changes)
        return _with(activity, changes)

    def _definition(self, definition: Mapping[str, Any]) -> Any:
        changes: dict[str, Any] = {}
        _child(definition, "extensions", self._extensions, changes)
        return _with(definition, changes)

    def _extensions(self, extensions: Mapping[str, Any]) -> Any:
        allowed = self.allowed_extensions
        if allowed is None:
            return extensions
        kept = {iri: value for iri, value in extensions.items() if iri in allowed}
        return extensions if len(kept) == len(extensions) else kept


def _names(values: Iterable[str], label: str) -> frozenset[str]:
    if isinstance(values, str | bytes):
        raise MaskingError(f"{label}: expected a list of strings, not one string")
    names = frozenset(values)
    if not all(isinstance(name, str) for name in names):
        raise MaskingError(f"{label}: every entry must be a string")
    return names


def _child(
    parent: Mapping[str, Any],
    key: str,
    mask: Callable[[Mapping[str, Any]], Any],
    changes: dict[str, Any],
) -> None:
    """Mask `parent[key]` if it is an object; note a change, or a removal if masking emptied
    it."""
    value = parent.get(key)
    if not isinstance(value, dict):
        return
    masked = mask(value)
    if masked is not value:
        changes[key] = masked if masked else _REMOVE


def _with(obj: Mapping[str, Any], changes: Mapping[str, Any]) -> Any:
    if not changes:
        return obj
    out = dict(obj)
    for key, value in changes.items():
        if value is _REMOVE:
            del out[key]
        else:
            out[key] = value
    return out

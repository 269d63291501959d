"""The marshmallow groundwork every model module builds on.

Every schema is strict (Data 2.2: unknown keys, wrong types and nulls are rejected) and
returns values exactly as sent, so a validated statement is stored as it arrived. Error
messages are short rule texts keyed by wire name; `flatten_errors` turns marshmallow's
nested error dict into `{json_path: [rule, ...]}`.

Sub-objects that repeat across a batch (the same verb, course activity, context) are
validated once: `CachedObject` remembers the serialization of every sub-object that
passed, in a bounded per-field cache.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson
from marshmallow import RAISE, Schema, ValidationError, fields

from statements.compiled import field_errors, schema_errors

UNKNOWN = "unknown property"
NOT_OBJECT = "must be an object"
NOT_ARRAY = "must be an array"
REQUIRED = "is required"
NULL = "must not be null"

# Sub-objects larger than this are validated every time rather than remembered, which
# bounds the cache's memory to CACHE_SIZE * _MAX_CACHED_BYTES per field.
_MAX_CACHED_BYTES = 4096
CACHE_SIZE = 2048
# A cache is worth its keys when more than one lookup in _WORTH_IT hits; one that is not
# is bypassed for _BYPASS times its size.
_WORTH_IT = 16
_BYPASS = 8


class StrictSchema(Schema):
    """A schema that rejects unknown keys and non-object input (Data 2.2)."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": UNKNOWN, "type": NOT_OBJECT}


class ModelField(fields.Field[Any]):
    """A field of the model: its value is checked, never converted, and the rule texts
    for a missing or null value are the package's."""

    default_error_messages = {"required": REQUIRED, "null": NULL}


class Strict(ModelField):
    """A field whose value is checked by `check` and returned unchanged.

    `check(value)` returns None when the value is valid, else the rule message. Nulls are
    rejected (Data 2.2) because `allow_none` stays False.
    """

    def __init__(self, check: Callable[[Any], str | None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._check = check

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        message = self._check(value)
        if message is not None:
            raise ValidationError(message)
        return value


class BoundedCache(dict[bytes, None]):
    """Keys of sub-objects already found valid, forgotten all at once when full.

    Emptying is O(1) amortized: a batch that repeats sub-objects refills the cache at
    once. Membership is the plain dict test. A cache that filled up with (almost) no hit,
    a field whose values never repeat (a result with its score, a context with its
    registration), is not consulted for the next `_BYPASS` times `size` values
    (`bypass`), since building the keys would cost more than it saves; then it tries again.
    """

    __slots__ = ("bypass", "hits", "size")

    def __init__(self, size: int = CACHE_SIZE) -> None:
        super().__init__()
        self.size = size
        self.hits = 0
        self.bypass = 0

    def add(self, key: bytes) -> None:
        if len(self) >= self.size:
            if self.hits * _WORTH_IT < self.size:
                self.bypass = self.size * _BYPASS
            self.hits = 0
            self.clear()
        self[key] = None


def cache_key(value: Any) -> bytes | None:
    """The serialization identifying `value` in a cache, or None when it must not be cached.

    orjson writes NaN and infinities as `null`, so a serialization containing `null` could
    stand for a non-JSON value: such objects are always validated in full.
    """
    try:
        key = orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError included: not plain JSON
        return None
    if len(key) > _MAX_CACHED_BYTES or b"null" in key:
        return None
    return key


class Object(ModelField):
    """A nested object validated by `schema` (inside an object that is itself cached)."""

    def __init__(self, schema: Schema, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.schema = schema

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if type(value) is not dict:
            raise ValidationError(NOT_OBJECT)
        errors = schema_errors(self.schema, value)
        if errors:
            raise ValidationError(errors)
        return value


class CachedObject(ModelField):
    """A nested object validated by `schema`, remembered once it passed."""

    def __init__(self, schema: Schema, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.schema = schema
        self.cache = BoundedCache()

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        return check_cached(self.schema, self.cache, value)


def check_cached(schema: Schema, cache: BoundedCache, value: Any) -> Any:
    """Validate `value` with `schema` unless its serialization already passed."""
    if type(value) is not dict:
        raise ValidationError(NOT_OBJECT)
    if cache.bypass:
        cache.bypass -= 1
        errors = schema_errors(schema, value)
        if errors:
            raise ValidationError(errors)
        return value
    key = cache_key(value)
    if key is not None and key in cache:
        cache.hits += 1
        return value
    errors = schema_errors(schema, value)
    if errors:
        raise ValidationError(errors)
    if key is not None:
        cache.add(key)
    return value


class ArrayOf(ModelField):
    """A JSON array whose items are each checked by `item` (errors keyed by index)."""

    def __init__(self, item: fields.Field[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.item = item

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, list):
            raise ValidationError(NOT_ARRAY)
        errors: dict[int, Any] = {}
        item_field = self.item
        for index, item in enumerate(value):
            messages = field_errors(item_field, item)
            if messages is not None:
                errors[index] = messages
        if errors:
            raise ValidationError(errors)
        return value


def join_path(prefix: str, key: str | int) -> str:
    """`prefix` extended by an object key (`a.b`) or an array index (`a[0]`)."""
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    if key == "_schema":
        return prefix
    return f"{prefix}.{key}" if prefix else key


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into `{json_path: [rule, ...]}`."""
    flat: dict[str, list[str]] = {}
    _flatten(messages, prefix, flat)
    return flat


def _flatten(messages: Any, path: str, flat: dict[str, list[str]]) -> None:
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            _flatten(value, join_path(path, key), flat)
    elif isinstance(messages, list):
        for message in messages:
            _flatten(message, path, flat)
    else:
        flat.setdefault(path, []).append(str(messages))

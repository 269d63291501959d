"""A fast executor for this package's strict marshmallow schemas.

marshmallow's generic load path (partial loading, processors, error stores, per-field
closures) costs about a microsecond per field, which alone would use most of the ingest
budget (DESIGN.md "Performance notes"). The schemas stay the one definition of the rules;
`schema_errors` walks a schema's fields directly and returns exactly what
`Schema.validate` returns for them (tests hold the two equal). It supports only what the
package's schemas use, and refuses at compile time a schema using anything else.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields
from marshmallow.decorators import VALIDATES, VALIDATES_SCHEMA
from marshmallow.error_store import merge_errors

_SCHEMA = "_schema"


class _Plan:
    """A schema's fields by wire name, its required keys and its schema validators."""

    __slots__ = ("fields", "required", "type_error", "unknown_error", "validators")

    # wire name -> (attribute, the field's _deserialize, its null message)
    fields: dict[str, tuple[str, Any, Any]]

    def __init__(self, schema: Schema) -> None:
        if schema.unknown != RAISE or schema.many or schema._hooks[VALIDATES]:
            raise TypeError(f"{type(schema).__name__}: unsupported schema option")
        self.fields = {}
        self.required: list[tuple[str, Any]] = []  # (wire name, required message)
        for attr, field in schema.load_fields.items():
            if field.validators or field.pre_load or field.post_load or field.allow_none:
                raise TypeError(f"{type(schema).__name__}.{attr}: unsupported field option")
            key = field.data_key if field.data_key is not None else attr
            self.fields[key] = (attr, field._deserialize, field.error_messages["null"])
            if field.required:
                self.required.append((key, field.error_messages["required"]))
        self.validators: list[tuple[Any, bool, bool, dict[str, str]]] = []
        for name, many, options in schema._hooks[VALIDATES_SCHEMA]:
            if many:
                raise TypeError(f"{type(schema).__name__}.{name}: unsupported validator")
            self.validators.append(
                (
                    getattr(schema, name),
                    options.get("pass_original", False),
                    options["skip_on_field_errors"],
                    {attr: key for key, (attr, _, _) in self.fields.items()},
                )
            )
        self.type_error = schema.error_messages["type"]
        self.unknown_error = schema.error_messages["unknown"]


def _plan(schema: Schema) -> _Plan:
    plan = _Plan(schema)
    schema._compiled_plan = plan  # type: ignore[attr-defined]
    return plan


def field_errors(field: fields.Field[Any], value: Any) -> Any:
    """The messages `field` gives for a present `value` (None when it is valid)."""
    if value is None:
        return [field.error_messages["null"]]
    try:
        field._deserialize(value, None, None)
    except ValidationError as error:
        return error.messages
    return None


def schema_errors(schema: Schema, data: Any) -> dict[str, Any]:
    """What `schema.validate(data)` returns, computed without marshmallow's load path."""
    plan = schema.__dict__.get("_compiled_plan") or _plan(schema)
    if type(data) is not dict:
        return {_SCHEMA: [plan.type_error]}
    errors: dict[str, Any] = {}
    output: dict[str, Any] = {}
    known = plan.fields
    for key, value in data.items():
        entry = known.get(key)
        if entry is None:
            errors[key] = [plan.unknown_error]
            continue
        attr, deserialize, null_error = entry
        if value is None:
            errors[key] = [null_error]
            continue
        try:
            output[attr] = deserialize(value, key, data)
        except ValidationError as error:
            errors[key] = error.messages
    for key, message in plan.required:
        if key not in data:
            errors[key] = [message]
    if plan.validators:
        had_errors = bool(errors)
        for validator, pass_original, skip_on_errors, wire_names in plan.validators:
            if had_errors and skip_on_errors:
                continue
            try:
                if pass_original:
                    validator(output, data, partial=None, many=False, unknown=RAISE)
                else:
                    validator(output, partial=None, many=False, unknown=RAISE)
            except ValidationError as error:
                # As marshmallow's ErrorStore.store_error: a dict raised for the whole
                # schema merges at the top, anything else goes under its key.
                name = error.field_name
                key = _SCHEMA if name == _SCHEMA else wire_names.get(name, name)
                messages = error.messages
                if key != _SCHEMA or not isinstance(messages, dict):
                    messages = {key: messages}
                # marshmallow's merge_errors carries no annotations.
                errors = merge_errors(errors, messages)  # type: ignore[no-untyped-call]
    return errors

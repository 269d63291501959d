"""The Result and its Score (Data 2.4.5)."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, validates_schema

from statements.base import Object, Strict, StrictSchema
from statements.values import (
    check_boolean,
    check_duration,
    check_extensions,
    check_number,
    check_string,
)


class ScoreSchema(StrictSchema):
    """Data 2.4.5.1: scaled within -1..1, raw within min..max, min below max."""

    scaled = Strict(check_number)
    raw = Strict(check_number)
    min = Strict(check_number)
    max = Strict(check_number)

    @validates_schema(skip_on_field_errors=True)
    def _ranges(self, data: Any, **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        scaled, raw = data.get("scaled"), data.get("raw")
        low, high = data.get("min"), data.get("max")
        if scaled is not None and not -1 <= scaled <= 1:
            errors["scaled"] = ["must be between -1 and 1"]
        if low is not None and high is not None and low >= high:
            errors["min"] = ["must be less than max"]
        if raw is not None:
            if low is not None and raw < low:
                errors["raw"] = ["must not be less than min"]
            elif high is not None and raw > high:
                errors["raw"] = ["must not be greater than max"]
        if errors:
            raise ValidationError(errors)


class ResultSchema(StrictSchema):
    """A measured outcome."""

    score = Object(ScoreSchema())
    success = Strict(check_boolean)
    completion = Strict(check_boolean)
    response = Strict(check_string)
    duration = Strict(check_duration)
    extensions = Strict(check_extensions)

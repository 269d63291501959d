"""The Statement Reference (Data 2.4.4.3)."""

from __future__ import annotations

from statements.agent import equals
from statements.base import Strict, StrictSchema
from statements.values import check_uuid


class StatementRefSchema(StrictSchema):
    """A pointer to another statement: objectType StatementRef and a UUID."""

    object_type = Strict(equals("StatementRef"), required=True, data_key="objectType")
    id = Strict(check_uuid, required=True)

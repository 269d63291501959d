"""Statements and SubStatements (Data 2.4), and the validation entry points.

One schema per xAPI version family: the 2.0 schemas (9274.1.1, xapi-2.0-notes.md section 2)
are the 1.0.3 ones with the 2.0 Context (contextAgents, contextGroups), RFC 3339 timestamps
with a space for the `T`, and a version property of either family. A 2.0 statement's
timestamps are converted to UTC (`utc_timestamp`) in the copy validation returns.
"""

from __future__ import annotations

from typing import Any

import orjson
from marshmallow import Schema, ValidationError, validates_schema

from statements.activity import check_activity
from statements.agent import (
    AgentOrGroup,
    check_agent,
    check_agent_or_group,
    check_group,
    equals,
)
from statements.attachment import AttachmentSchema
from statements.base import (
    NOT_OBJECT,
    NULL,
    ArrayOf,
    BoundedCache,
    CachedObject,
    ModelField,
    Strict,
    StrictSchema,
    check_cached,
    flatten_errors,
)
from statements.compiled import schema_errors
from statements.context import ContextSchema, ContextSchema2, normalize_context
from statements.errors import StatementError
from statements.reference import StatementRefSchema
from statements.result import ResultSchema
from statements.timestamps import utc_timestamp
from statements.values import (
    check_timestamp,
    check_timestamp_2_0,
    check_uuid,
    check_version,
    check_version_2_0,
)
from statements.verb import VerbSchema
from statements.versions import version_family
from statements.walk import IFI_FIELDS, VOIDED

OBJECT_TYPES = "must be Activity, Agent, Group, StatementRef or SubStatement"
NESTED_SUBSTATEMENT = "must not be SubStatement: a SubStatement cannot contain another"
AGENT_OBJECT_TYPE = "is required when the object is an Agent or a Group"
ACTIVITY_ONLY = "must only be used when the object is an Activity"
NOT_IN_SUBSTATEMENT = "must not be used in a SubStatement"
AUTHORITY_GROUP = "must list exactly two Agents in an authority Group (3-legged OAuth)"
AUTHORITY_CONSUMER = (
    "must include the OAuth consumer, an Agent identified by account, in an authority Group"
)
AUTHORITY_IDENTIFIED = (
    "must not be given: an authority Group is anonymous, identified by its two Agents"
)
VOIDING_OBJECT = "must be StatementRef: the verb voids a statement (Data 2.3.2)"
ROOT_ERROR = "must be a statement object or an array of statements"
TOO_DEEP = "is nested too deeply (at most 254 levels of objects and arrays)"

_REF_SCHEMA = StatementRefSchema()
_REF_CACHE = BoundedCache()


class StatementObject(ModelField):
    """The object position: Activity by default, else the kind objectType names."""

    def __init__(self, *, substatement: Schema | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.substatement = substatement

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if type(value) is not dict:
            raise ValidationError(NOT_OBJECT)
        kind = value.get("objectType", "Activity")
        if kind == "Activity":
            if "objectType" not in value and "id" not in value and _looks_like_agent(value):
                # Data 2.4.4.2: without objectType this reads as an Activity; say why.
                raise ValidationError({"objectType": [AGENT_OBJECT_TYPE]})
            return check_activity(value)
        if kind == "Agent":
            return check_agent(value)
        if kind == "Group":
            return check_group(value)
        if kind == "StatementRef":
            return check_cached(_REF_SCHEMA, _REF_CACHE, value)
        if kind == "SubStatement":
            if self.substatement is None:
                raise ValidationError({"objectType": [NESTED_SUBSTATEMENT]})
            errors = schema_errors(self.substatement, value)
            if errors:
                raise ValidationError(errors)
            return value
        if kind is None:
            raise ValidationError({"objectType": [NULL]})
        raise ValidationError({"objectType": [OBJECT_TYPES]})


def _looks_like_agent(value: dict[str, Any]) -> bool:
    return "member" in value or any(key in value for key in IFI_FIELDS)


class Authority(ModelField):
    """Data 2.4.9: an Agent, or a Group of exactly two Agents (3-legged OAuth), one of them
    the OAuth consumer, identified by account ("OAuth Credentials as Authority"). Such a
    Group stands for the pair, so it is anonymous: an identifier of its own is refused."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        check_agent_or_group(value)
        if value.get("objectType") == "Group":
            errors: dict[str, list[str]] = {
                key: [AUTHORITY_IDENTIFIED] for key in IFI_FIELDS if key in value
            }
            members = value.get("member")
            if type(members) is not list or len(members) != 2:
                errors["member"] = [AUTHORITY_GROUP]
            elif not any("account" in member for member in members):
                errors["member"] = [AUTHORITY_CONSUMER]
            if errors:
                raise ValidationError(errors)
        return value


def _forbidden(value: Any) -> str:
    return NOT_IN_SUBSTATEMENT


class _StatementBase(StrictSchema):
    """What Statements and SubStatements share (Data 2.4, 2.4.4.3 SubStatements)."""

    actor = AgentOrGroup(required=True)
    verb = CachedObject(VerbSchema(), required=True)
    result = CachedObject(ResultSchema())
    context = CachedObject(ContextSchema())
    timestamp = Strict(check_timestamp)
    attachments = ArrayOf(CachedObject(AttachmentSchema()))

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _activity_context(self, data: Any, original: Any, **kwargs: Any) -> None:
        """Data 2.4.6: revision and platform only when the object is an Activity."""
        if type(original) is not dict:  # already reported as not an object
            return
        context, target = original.get("context"), original.get("object")
        if type(context) is not dict or type(target) is not dict:
            return
        if target.get("objectType", "Activity") == "Activity":
            return
        errors = {key: [ACTIVITY_ONLY] for key in ("revision", "platform") if key in context}
        if errors:
            raise ValidationError(errors, "context")


class SubStatementSchema(_StatementBase):
    """A SubStatement: a statement without id, stored, version, authority or nesting."""

    object_type = Strict(equals("SubStatement"), required=True, data_key="objectType")
    object = StatementObject(required=True)
    id = Strict(_forbidden)
    stored = Strict(_forbidden)
    version = Strict(_forbidden)
    authority = Strict(_forbidden)


class StatementSchema(_StatementBase):
    """A Statement as a Learning Record Provider sends it (Data 2.4)."""

    id = Strict(check_uuid)
    object = StatementObject(required=True, substatement=SubStatementSchema())
    stored = Strict(check_timestamp)
    authority = Authority()
    version = Strict(check_version)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _voiding_object(self, data: Any, original: Any, **kwargs: Any) -> None:
        """Data 2.3.2: the object of a voiding statement is a StatementRef. (A SubStatement
        voids nothing, whatever its verb: the rule is the statement's.)"""
        if type(original) is not dict:  # already reported as not an object
            return
        verb, target = original.get("verb"), original.get("object")
        if type(verb) is not dict or verb.get("id") != VOIDED or type(target) is not dict:
            return
        if target.get("objectType") != "StatementRef":
            raise ValidationError({"objectType": [VOIDING_OBJECT]}, "object")


class SubStatementSchema2(SubStatementSchema):
    """An xAPI 2.0 SubStatement."""

    context = CachedObject(ContextSchema2())
    timestamp = Strict(check_timestamp_2_0)


class StatementSchema2(StatementSchema):
    """An xAPI 2.0 Statement (9274.1.1): see the module docstring for what differs."""

    context = CachedObject(ContextSchema2())
    timestamp = Strict(check_timestamp_2_0)
    object = StatementObject(required=True, substatement=SubStatementSchema2())
    version = Strict(check_version_2_0)


# One schema per version family; `_schema` picks it from the request's version.
_SCHEMAS: dict[str, Schema] = {"1.0": StatementSchema(), "2.0": StatementSchema2()}


def _schema(version: str) -> Schema:
    return _SCHEMAS[version_family(version)]


def _errors(schema: Schema, data: Any, prefix: str) -> dict[str, list[str]]:
    if type(data) is not dict:
        return {prefix: [NOT_OBJECT]}
    messages = schema_errors(schema, data)
    return flatten_errors(messages, prefix) if messages else {}


def _normalized(data: dict[str, Any], prefix: str = "", *, utc: bool = False) -> dict[str, Any]:
    """A fresh copy with every contextActivities value as an array (Data 2.4.6.2), and with
    `utc` (xAPI 2.0) the statement's and its SubStatement's timestamps in UTC."""
    try:
        statement: dict[str, Any] = orjson.loads(orjson.dumps(data))
    except orjson.JSONEncodeError:
        # orjson reads 1024 levels of nesting but writes 254: such a statement (deep
        # extensions) could never be stored or returned.
        raise StatementError({prefix: [TOO_DEEP]}) from None
    parts = [statement]
    if statement["object"].get("objectType") == "SubStatement":
        parts.append(statement["object"])
    for part in parts:
        context = part.get("context")
        if context:
            normalize_context(context)
        if utc and "timestamp" in part:
            part["timestamp"] = utc_timestamp(part["timestamp"], allow_space=True)
    return statement


def validate(data: Any, *, version: str = "1.0.3") -> dict[str, Any]:
    """Validate one parsed statement under the rules of xAPI `version`.

    Returns a new, normalized statement (the input is left unchanged); raises
    StatementError listing every problem by JSON path. `version` is the request's xAPI
    version (`1.0`, `1.0.x`, `2.0` or `2.0.x`); any other raises ValueError, since the
    service negotiates the version before validating (Communication 3.3).
    """
    errors = _errors(_schema(version), data, "")
    if errors:
        raise StatementError(errors)
    return _normalized(data, utc=version_family(version) == "2.0")


def validate_statements(data: Any, *, version: str = "1.0.3") -> list[dict[str, Any]]:
    """Validate a statement or a batch (an array): all or nothing.

    Paths inside a batch start with the index (`[2].actor.mbox`).
    """
    schema = _schema(version)
    utc = version_family(version) == "2.0"
    if type(data) is dict:
        batch, prefixes = [data], [""]
    elif type(data) is list:
        batch, prefixes = data, [f"[{index}]" for index in range(len(data))]
    else:
        raise StatementError({"": [ROOT_ERROR]})
    errors: dict[str, list[str]] = {}
    for statement, prefix in zip(batch, prefixes, strict=True):
        errors.update(_errors(schema, statement, prefix))
    if errors:
        raise StatementError(errors)
    return [
        _normalized(statement, prefix, utc=utc)
        for statement, prefix in zip(batch, prefixes, strict=True)
    ]

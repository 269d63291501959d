"""Agents, Groups, Accounts and Inverse Functional Identifiers (Data 2.4.2)."""

from __future__ import annotations

from typing import Any

import orjson
from marshmallow import ValidationError, validates_schema

from statements.base import (
    NOT_OBJECT,
    NULL,
    ArrayOf,
    BoundedCache,
    ModelField,
    Object,
    Strict,
    StrictSchema,
    check_cached,
    flatten_errors,
)
from statements.errors import StatementError
from statements.values import check_irl, check_mailto, check_sha1, check_string, check_uri
from statements.walk import IFI_FIELDS, normalize_mbox

_IFI_LIST = ", ".join(IFI_FIELDS)
EXACTLY_ONE_IFI = f"exactly one of {_IFI_LIST} is required"
MEMBER_REQUIRED = f"is required in an anonymous Group (no {_IFI_LIST})"
MEMBER_EMPTY = "must list at least one Agent in an anonymous Group"
GROUP_MEMBER = "must be Agent: a Group cannot be a member of a Group"
AGENT_OR_GROUP = "must be Agent or Group"


def _ifi_count(data: dict[str, Any]) -> int:
    return sum(map(data.__contains__, IFI_FIELDS))


def equals(expected: str) -> Any:
    """A check accepting exactly the string `expected` (enumerations are case-sensitive)."""
    message = f"must be {expected}"

    def check(value: Any) -> str | None:
        return None if type(value) is str and value == expected else message

    return check


class AccountSchema(StrictSchema):
    """Data 2.4.2.4: both properties are required."""

    home_page = Strict(check_irl, required=True, data_key="homePage")
    name = Strict(check_string, required=True)


class _IdentifiedSchema(StrictSchema):
    """What Agents and Groups share: a name and the four IFIs (Data 2.4.2.3)."""

    name = Strict(check_string)
    mbox = Strict(check_mailto)
    mbox_sha1sum = Strict(check_sha1)
    openid = Strict(check_uri)
    account = Object(AccountSchema())


class AgentSchema(_IdentifiedSchema):
    """Data 2.4.2.1: an Agent has exactly one IFI."""

    object_type = Strict(equals("Agent"), data_key="objectType")

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _one_ifi(self, data: Any, original: Any, **kwargs: Any) -> None:
        if type(original) is not dict:  # already reported as not an object
            return
        if _ifi_count(original) != 1:
            raise ValidationError(EXACTLY_ONE_IFI)


AGENT_SCHEMA = AgentSchema()
AGENT_CACHE = BoundedCache()


def _object_type(value: dict[str, Any], default: str) -> Any:
    kind = value.get("objectType", default)
    if kind is None:
        raise ValidationError({"objectType": [NULL]})
    return kind


def check_agent(value: Any) -> Any:
    """Validate an Agent (raises marshmallow's ValidationError)."""
    return check_cached(AGENT_SCHEMA, AGENT_CACHE, value)


class Member(ModelField):
    """A Group member: Agents only (Data 2.4.2.2)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if type(value) is not dict:
            raise ValidationError(NOT_OBJECT)
        kind = _object_type(value, "Agent")
        if kind == "Group":
            raise ValidationError({"objectType": [GROUP_MEMBER]})
        if kind != "Agent":
            raise ValidationError({"objectType": ["must be Agent"]})
        return check_agent(value)


class GroupSchema(_IdentifiedSchema):
    """Data 2.4.2.2: an identified Group has exactly one IFI, an anonymous one members."""

    object_type = Strict(equals("Group"), required=True, data_key="objectType")
    member = ArrayOf(Member())

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _identity(self, data: Any, original: Any, **kwargs: Any) -> None:
        if type(original) is not dict:  # already reported as not an object
            return
        count = _ifi_count(original)
        if count > 1:
            raise ValidationError(EXACTLY_ONE_IFI)
        if count == 0:
            if "member" not in original:
                raise ValidationError(MEMBER_REQUIRED, "member")
            if original["member"] == []:
                raise ValidationError(MEMBER_EMPTY, "member")


GROUP_SCHEMA = GroupSchema()
GROUP_CACHE = BoundedCache()


def check_group(value: Any) -> Any:
    """Validate a Group, identified or anonymous (raises marshmallow's ValidationError)."""
    return check_cached(GROUP_SCHEMA, GROUP_CACHE, value)


def check_agent_or_group(value: Any) -> Any:
    """Validate an Agent or a Group, told apart by objectType (Agent when absent)."""
    if type(value) is not dict:
        raise ValidationError(NOT_OBJECT)
    kind = _object_type(value, "Agent")
    if kind == "Agent":
        return check_agent(value)
    if kind == "Group":
        return check_group(value)
    raise ValidationError({"objectType": [AGENT_OR_GROUP]})


class AgentOrGroup(ModelField):
    """An actor, authority or instructor position: an Agent or a Group (Data 2.4.2)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        return check_agent_or_group(value)


class AgentOnly(ModelField):
    """A position only an Agent may fill: an xAPI 2.0 contextAgent's `agent`."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if type(value) is not dict:
            raise ValidationError(NOT_OBJECT)
        if _object_type(value, "Agent") != "Agent":
            raise ValidationError({"objectType": ["must be Agent"]})
        return check_agent(value)


class GroupOnly(ModelField):
    """A position only a Group may fill: context team (Data 2.4.6)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if type(value) is not dict:
            raise ValidationError(NOT_OBJECT)
        if _object_type(value, "") != "Group":
            raise ValidationError({"objectType": ["must be Group"]})
        return check_group(value)


def validate_agent(data: Any, *, path: str = "agent") -> dict[str, Any]:
    """Validate an Agent or Group given outside a statement (a query or document parameter).

    Returns a copy; raises StatementError with every problem under `path`.
    """
    try:
        check_agent_or_group(data)
    except ValidationError as error:
        raise StatementError(flatten_errors(error.messages, path)) from None
    copy: dict[str, Any] = orjson.loads(orjson.dumps(data))
    return copy


def agent_key(agent: dict[str, Any]) -> str | None:
    """The canonical IFI of a validated Agent or identified Group; None for an anonymous Group.

    Forms: `mbox:mailto:local@domain` (scheme and domain lowercased: both are case
    insensitive, Data 2.4.2.3), `mbox_sha1sum:<lowercase hex>`, `openid:<uri>`,
    `account:<homePage>|<name>` (an IRI cannot contain `|`, so the split is unambiguous).
    """
    mbox: str | None = agent.get("mbox")
    if mbox is not None:
        normalized = normalize_mbox(mbox)
        if normalized[:7] == "mailto:" and "@" in normalized:
            return "mbox:" + normalized
        # Not a mailto IRI with a domain, which validation refuses: the form this function
        # has always given such input (the first 7 characters taken as the scheme).
        local, _, domain = mbox[7:].rpartition("@")
        return f"mbox:mailto:{local}@{domain.lower()}"
    sha1: str | None = agent.get("mbox_sha1sum")
    if sha1 is not None:
        return "mbox_sha1sum:" + sha1.lower()
    openid: str | None = agent.get("openid")
    if openid is not None:
        return "openid:" + openid
    account = agent.get("account")
    if account is not None:
        return f"account:{account['homePage']}|{account['name']}"
    return None

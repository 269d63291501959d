"""The compiled walker gives exactly marshmallow's `Schema.validate` results, and the
sub-object cache never lets an invalid object through."""

from __future__ import annotations

import copy

import pytest
import xapi_examples as ex
from marshmallow import Schema, ValidationError, fields, validates_schema
from model_testing import changed, errors

from statements import validate
from statements.activity import ACTIVITY_CACHE, ActivityDefinitionSchema, ActivitySchema
from statements.agent import AGENT_SCHEMA, GROUP_SCHEMA
from statements.attachment import AttachmentSchema
from statements.base import BoundedCache, StrictSchema, cache_key, check_cached
from statements.compiled import schema_errors
from statements.context import ContextSchema, ContextSchema2
from statements.result import ResultSchema, ScoreSchema
from statements.statement import StatementSchema, StatementSchema2, SubStatementSchema
from statements.verb import VerbSchema
from statements.walk import VOIDED

CASES = [
    (StatementSchema(), ex.LONG),
    (StatementSchema(), changed(ex.LONG, "actor.member[0].objectType", "Group")),
    (StatementSchema(), changed(ex.SIMPLEST, "verb")),
    (StatementSchema(), changed(ex.STATEMENT_REF, "context", {"revision": "1", "language": "?"})),
    (StatementSchema(), {"extra": None, "actor": None, "verb": 1}),
    (StatementSchema(), "not an object"),
    (SubStatementSchema(), changed(ex.OBJECT_SUBSTATEMENT, "id", "x")),
    (AGENT_SCHEMA, {"mbox": "mailto:a@example.com", "openid": "x", "Name": 1}),
    (AGENT_SCHEMA, {}),
    (GROUP_SCHEMA, {"objectType": "Group"}),
    (GROUP_SCHEMA, {"objectType": "Group", "member": []}),
    (GROUP_SCHEMA, ex.OBJECT_GROUP),
    (ActivitySchema(), {"id": "x", "definition": {"choices": [{"id": "a"}, {"id": "a"}]}}),
    (ActivityDefinitionSchema(), {**ex.INTERACTIONS["likert"], "steps": [], "choices": 1}),
    (VerbSchema(), {"display": {"en US": 1}}),
    (ResultSchema(), {"score": {"scaled": 2, "raw": "1"}, "duration": "P"}),
    (ScoreSchema(), {"raw": 11, "min": 10, "max": 5}),
    (ContextSchema(), {"team": {"mbox": "mailto:a@b.c"}, "contextActivities": {"x": []}}),
    (AttachmentSchema(), {"length": -1}),
    (StatementSchema(), changed(ex.SIMPLEST, "verb", {"id": VOIDED})),
    (StatementSchema2(), changed(ex.LONG, "timestamp", "2013-05-18 05:32:34Z")),
    (ContextSchema2(), {"contextAgents": [{"objectType": "x", "agent": {}, "relevantTypes": []}],
                        "contextGroups": [None, {"objectType": "contextGroup"}]}),
]


@pytest.mark.parametrize(("schema", "data"), CASES)
def test_compiled_equals_marshmallow(schema, data):
    assert schema_errors(schema, data) == schema.validate(data)


def test_unsupported_schema_options_are_refused():
    class Loose(StrictSchema):
        name = fields.String(validate=lambda value: value != "")

    with pytest.raises(TypeError, match="unsupported field option"):
        schema_errors(Loose(), {"name": "x"})


def test_validator_errors_merge_like_marshmallow():
    class Pair(StrictSchema):
        low = fields.Integer()
        high = fields.Integer()

        @validates_schema(skip_on_field_errors=False)
        def _order(self, data, **kwargs):
            raise ValidationError({"low": ["must be lower"], "other": ["x"]})

    schema = Pair()
    data = {"low": "a", "high": 1}
    assert schema_errors(schema, data) == schema.validate(data)


def test_cache_is_bounded():
    cache = BoundedCache(size=2)
    for key in (b"a", b"b", b"c"):
        cache.add(key)
    assert len(cache) <= 2
    assert b"c" in cache


def test_cache_that_never_hits_is_bypassed_then_tried_again():
    cache = BoundedCache(size=4)
    schema = ResultSchema()
    for raw in range(5):  # fills with no hit: the next 4 * 8 lookups skip the cache
        check_cached(schema, cache, {"score": {"raw": raw}})
    assert cache.bypass == 32 and len(cache) == 1
    with pytest.raises(ValidationError):  # still validated in full while bypassed
        check_cached(schema, cache, {"score": {"raw": "1"}})
    for raw in range(31):
        check_cached(schema, cache, {"score": {"raw": raw}})
    assert cache.bypass == 0
    check_cached(schema, cache, {"score": {"raw": 1}})
    assert len(cache) == 2


def test_cache_that_hits_is_kept():
    cache = BoundedCache(size=4)
    schema = ResultSchema()
    for raw in (1, 1, 1, 2, 3, 4, 5):
        check_cached(schema, cache, {"score": {"raw": raw}})
    assert cache.bypass == 0


@pytest.mark.parametrize(
    ("value", "cached"),
    [({"id": "http://example.com"}, True), ({"x": None}, False), ({"x": "y" * 5000}, False)],
)
def test_cache_key(value, cached):
    assert (cache_key(value) is not None) is cached


def test_cached_valid_object_does_not_hide_an_invalid_variant():
    statement = copy.deepcopy(ex.SIMPLE)
    validate(statement)
    key = cache_key(statement["object"])
    assert key in ACTIVITY_CACHE
    bad = changed(statement, "object.definition.name", {"en US": "x"})
    assert errors(bad) == {"object.definition.name.en US": ["must be an RFC 5646 language tag"]}


def test_nan_never_rides_on_a_cached_null():
    """orjson writes NaN as null: objects containing null are never cached, so a NaN cannot
    be accepted as a previously validated null extension value."""
    with_null = changed(ex.SIMPLEST, "object.definition", {"extensions": {"http://e.x/a": None}})
    assert errors(with_null) == {}
    with_nan = changed(with_null, "object.definition.extensions", {"http://e.x/a": float("nan")})
    assert list(errors(with_nan)) == ["object.definition.extensions.http://e.x/a"]


def test_schemas_are_marshmallow_schemas():
    """Developers can use the model schemas with marshmallow directly."""
    assert isinstance(StatementSchema(), Schema)
    assert StatementSchema().validate(ex.LONG) == {}

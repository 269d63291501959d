"""Report facts in MongoDB (collection `report_facts`) and the aggregation pipelines that
compute the reports from them (`Storage.report_*`): `$match`, `$sort` and `$group` stages a
sharded cluster runs on its shards before merging, nothing computed in Python but the
fields of a fact.

One document per statement and course it counts for (`statements.report`): `t` tenant,
`s` statement id, `st` its `stored` (modules in the order first seen), `c` course, `l`
learner (agent key), `o` object activity, `v` verb, `r` registration (when given), `ts` time
(µs since the epoch), `d`/`w`/`mo` its day, week and month numbers, `fc` true on the
statement's first course (tenant-wide figures count each statement once), `cp` completed,
`ps` passed, `sc` scaled score and `du` duration in seconds (when given), `x` the dimension
values by `dimension_field(IRI)` (IRIs hold "." and cannot be field names).

Exactness: a statement's facts are inserted with it, in its write (and deleted again with
it when a write without a transaction fails); `delete_facts` deletes them. Voiding calls it
(`Transaction.delete_report_facts`), and so must every deletion of statements (erasure,
retention). Indexes (`storage.mongo.database`): `report_facts_course` (t, c, l) for a
course's learners and modules, `report_facts_time` (t, ts) for indicator windows and first
statements, `report_facts_statement` (t, s) for deleting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson
from bson import ObjectId

from statements import ReportFields, bucket_bounds, stored_report_fields
from storage.records import (
    IndicatorCell,
    IndicatorQuery,
    ModuleRow,
    ProgressRow,
    ReportFilter,
    StatementRecord,
)

if TYPE_CHECKING:
    from pymongo.client_session import ClientSession

    from storage.mongo.database import Database

_BUCKET_FIELDS = {"day": "d", "week": "w", "month": "mo"}


def dimension_field(iri: str) -> str:
    """The field of `x` holding a dimension's value: a digest of its IRI."""
    return "x" + hashlib.sha256(iri.encode()).hexdigest()[:20]


def _present(field: str) -> dict[str, Any]:
    """1 when the fact has `field` (a number), else 0: missing sorts below any number."""
    return {"$cond": [{"$gt": [f"${field}", None]}, 1, 0]}


def _documents(
    tenant: str, statement_id: str, stored: str, fields: ReportFields
) -> list[dict[str, Any]]:
    docs = []
    for index, course in enumerate(fields.courses):
        doc: dict[str, Any] = {
            "_id": ObjectId(), "t": tenant, "s": statement_id, "st": stored, "c": course,
            "l": fields.learner, "o": fields.activity, "v": fields.verb, "ts": fields.time,
            "d": fields.day, "w": fields.week, "mo": fields.month, "fc": index == 0,
            "cp": fields.completed, "ps": fields.passed,
            "x": {dimension_field(iri): value for iri, value in fields.dimensions},
        }
        if fields.registration is not None:
            doc["r"] = fields.registration
        if fields.score is not None:
            doc["sc"] = fields.score
        if fields.duration is not None:
            doc["du"] = fields.duration
        docs.append(doc)
    return docs


def insert_facts(
    db: Database,
    session: ClientSession | None,
    tenant: str,
    records: Sequence[StatementRecord],
    *,
    inserted: list[ObjectId],
) -> None:
    """Insert the report facts of statements being stored; their `_id`s are added to
    `inserted` first, so that a failed write without a transaction can delete them."""
    docs = [
        doc
        for record in records
        if record.report is not None
        for doc in _documents(tenant, record.id, record.stored, record.report)
    ]
    if docs:
        inserted.extend(doc["_id"] for doc in docs)
        db.report_facts.insert_many(docs, ordered=False, session=session)


def delete_facts(
    db: Database, session: ClientSession | None, tenant: str, ids: Sequence[str]
) -> None:
    """Delete the report facts of the statements among `ids`
    (`Transaction.delete_report_facts`); statement deletions (erasure, retention) call it
    too."""
    if ids:
        db.report_facts.delete_many({"t": tenant, "s": {"$in": list(ids)}}, session=session)


def backfill(db: Database) -> None:
    """Layout 2 -> 3: `rebuild` every tenant with the dimensions its stored policy names (a
    tenant whose dimensions follow the configuration gets none kept until
    `Storage.rebuild_report_facts` runs for it). Running it again, after an interruption,
    gives the same facts."""
    dimensions = {
        doc["name"]: list(orjson.loads(bytes(doc["policy"])).get("dimensions", {}).values())
        for doc in db.tenants.find({}, {"_id": 0, "name": 1, "policy": 1})
    }
    for tenant in db.statements.distinct("t"):
        rebuild(db, tenant, dimensions.get(tenant, ()))


def rebuild(db: Database, tenant: str, dimensions: Sequence[str], *, chunk: int = 2000) -> int:
    """`Storage.rebuild_report_facts`: delete the tenant's facts and compute them again
    from its live statements, a chunk at a time (each chunk's facts deleted, then
    inserted, so a second run gives the same facts); how many statements count. Not one
    transaction: run it while the tenant's ingest is stopped."""
    db.report_facts.delete_many({"t": tenant})
    last = None
    counted = 0
    while True:
        query: dict[str, Any] = {"t": tenant, "voided": False}
        if last is not None:
            query["_id"] = {"$gt": last}
        docs = list(
            db.statements.find(query, {"id": 1, "stored": 1, "b": 1}).sort("_id", 1).limit(chunk)
        )
        if not docs:
            return counted
        last = docs[-1]["_id"]
        facts = []
        for doc in docs:
            fields = stored_report_fields(bytes(doc["b"]), dimensions)
            if fields is not None:
                counted += 1
                facts += _documents(tenant, doc["id"], doc["stored"], fields)
        delete_facts(db, None, tenant, [doc["id"] for doc in docs])
        if facts:
            db.report_facts.insert_many(facts, ordered=False)


# -- queries --------------------------------------------------------------------------------


def _match(
    tenant: str, query: ReportFilter, *, times: bool = True, dims: bool = True
) -> dict[str, Any]:
    match: dict[str, Any] = {"t": tenant}
    if query.course is not None:
        match["c"] = query.course
    if times and (query.since is not None or query.until is not None):
        match["ts"] = {}
        if query.since is not None:
            match["ts"]["$gte"] = query.since
        if query.until is not None:
            match["ts"]["$lt"] = query.until
    if query.verbs:
        match["v"] = {"$in": list(query.verbs)}
    if query.registration is not None:
        match["r"] = query.registration
    if dims:
        match.update(
            {f"x.{dimension_field(iri)}": value for iri, value in query.dimensions}
        )
    return match


def _aggregate(db: Database, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(db.report_facts.aggregate(pipeline, allowDiskUse=True))


def progress(
    db: Database, tenant: str, query: ReportFilter, after: str | None, limit: int
) -> tuple[int, list[ProgressRow]]:
    """`Storage.report_progress`: learners in the order of their keys."""
    assert query.course is not None
    if limit <= 0:
        return 0, []
    counted = _aggregate(db, [
        {"$match": {"t": tenant, "c": query.course, "o": {"$ne": query.course}}},
        {"$group": {"_id": "$o"}},
        {"$count": "n"},
    ])
    match = _match(tenant, query)
    if after is not None:
        match["l"] = {"$gt": after}
    module = {"$ne": ["$o", "$c"]}
    course = {"$eq": ["$o", "$c"]}
    rows = _aggregate(db, [
        {"$match": match},
        {"$group": {
            "_id": "$l", "first": {"$min": "$ts"}, "last": {"$max": "$ts"},
            "n": {"$sum": 1},
            "attempted": {"$addToSet": {"$cond": [module, "$o", None]}},
            "completed": {"$addToSet": {"$cond": [{"$and": [module, "$cp"]}, "$o", None]}},
            "passed": {"$addToSet": {"$cond": [{"$and": [module, "$ps"]}, "$o", None]}},
            "course_completed": {"$max": {"$and": [course, "$cp"]}},
            "course_passed": {"$max": {"$and": [course, "$ps"]}},
            "best": {"$max": "$sc"}, "duration": {"$sum": "$du"},
            "timed": {"$sum": _present("du")},
        }},
        {"$sort": {"_id": 1}},
        {"$limit": limit},
        {"$project": {
            "first": 1, "last": 1, "n": 1, "course_completed": 1, "course_passed": 1,
            "best": 1, "duration": 1, "timed": 1,
            **{
                name: {"$size": {"$setDifference": [f"${name}", [None]]}}
                for name in ("attempted", "completed", "passed")
            },
        }},
    ])
    return (counted[0]["n"] if counted else 0), [
        ProgressRow(
            learner=row["_id"], first=row["first"], last=row["last"], statements=row["n"],
            attempted=row["attempted"], completed=row["completed"], passed=row["passed"],
            course_completed=bool(row["course_completed"]),
            course_passed=bool(row["course_passed"]), best_score=row.get("best"),
            duration=float(row["duration"]) if row["timed"] else None,
        )
        for row in rows
    ]


def modules(db: Database, tenant: str, query: ReportFilter) -> list[ModuleRow]:
    """`Storage.report_modules`: the median is the middle one of the learners' total
    durations on the module (the mean of the middle two for an even number)."""
    assert query.course is not None
    match = _match(tenant, query)
    match["o"] = {"$ne": query.course}
    timed = {"$filter": {"input": "$durations", "cond": {"$ne": ["$$this", None]}}}
    rows = _aggregate(db, [
        {"$match": match},
        {"$group": {
            "_id": {"o": "$o", "l": "$l"}, "first": {"$min": "$st"}, "cp": {"$max": "$cp"},
            "ps": {"$max": "$ps"}, "ss": {"$sum": "$sc"}, "sn": {"$sum": _present("sc")},
            "du": {"$sum": "$du"}, "dn": {"$sum": _present("du")},
        }},
        {"$group": {
            "_id": "$_id.o", "first": {"$min": "$first"}, "attempted": {"$sum": 1},
            "completed": {"$sum": {"$cond": ["$cp", 1, 0]}},
            "passed": {"$sum": {"$cond": ["$ps", 1, 0]}},
            "scorers": {"$sum": {"$cond": [{"$gt": ["$sn", 0]}, 1, 0]}},
            "ss": {"$sum": "$ss"}, "sn": {"$sum": "$sn"},
            "durations": {"$push": {"$cond": [{"$gt": ["$dn", 0]}, "$du", None]}},
        }},
        {"$sort": {"first": 1, "_id": 1}},
        {"$project": {
            "attempted": 1, "completed": 1, "passed": 1, "scorers": 1, "ss": 1, "sn": 1,
            "sorted": {"$sortArray": {"input": timed, "sortBy": 1}},
        }},
        {"$project": {
            "attempted": 1, "completed": 1, "passed": 1, "scorers": 1, "ss": 1, "sn": 1,
            "timed": {"$size": "$sorted"},
            "median": {"$cond": [
                {"$eq": [{"$size": "$sorted"}, 0]}, None,
                {"$avg": [
                    {"$arrayElemAt": [
                        "$sorted", {"$floor": {"$divide": [{"$subtract": [
                            {"$size": "$sorted"}, 1]}, 2]}}]},
                    {"$arrayElemAt": [
                        "$sorted", {"$floor": {"$divide": [{"$size": "$sorted"}, 2]}}]},
                ]},
            ]},
        }},
    ])
    return [
        ModuleRow(
            module=row["_id"], attempted=row["attempted"], completed=row["completed"],
            passed=row["passed"], scorers=row["scorers"],
            average_score=row["ss"] / row["sn"] if row["sn"] else None,
            timed=row["timed"], median_duration=row["median"],
        )
        for row in rows
    ]


def indicators(db: Database, tenant: str, query: IndicatorQuery) -> list[IndicatorCell]:
    """`Storage.report_indicators`: per learner and cell, then per cell."""
    per_course = query.by_course or query.filter.course is not None
    start, end = bucket_bounds(query.interval, query.first, query.last)
    group = _cell_group(query, "$" + _BUCKET_FIELDS[query.interval], "$c")
    match = _match(tenant, query.filter, times=False)
    match["ts"] = {"$gte": start, "$lt": end}
    if not per_course:
        match["fc"] = True
    cells = _aggregate(db, [
        {"$match": match},
        {"$group": {
            "_id": {**group, "l": "$l"}, "n": {"$sum": 1},
            "cp": {"$max": {"$cond": [{"$and": [{"$eq": ["$o", "$c"]}, "$cp"]}, 1, 0]}},
            "sn": {"$sum": _present("sc")}, "ss": {"$sum": "$sc"},
        }},
        {"$group": {
            "_id": {name: f"$_id.{name}" for name in group}, "active": {"$sum": 1},
            "statements": {"$sum": "$n"}, "completers": {"$sum": "$cp"},
            "scorers": {"$sum": {"$cond": [{"$gt": ["$sn", 0]}, 1, 0]}},
            "sn": {"$sum": "$sn"}, "ss": {"$sum": "$ss"},
        }},
    ])
    names = [f"d{i}" for i in range(len(query.by_dimensions))]

    def cell(found: dict[str, Any]) -> tuple[Any, ...]:
        return (found["b"], found.get("c"), *(found.get(name) for name in names))

    new = {cell(row["_id"]): row["n"] for row in _new_learners(db, tenant, query, start, end)}
    return [
        IndicatorCell(
            bucket=row["_id"]["b"], course=row["_id"].get("c"),
            dimensions=tuple(row["_id"].get(name) for name in names),
            active=row["active"], new=new.get(cell(row["_id"]), 0),
            statements=row["statements"], completers=row["completers"],
            scorers=row["scorers"],
            average_score=row["ss"] / row["sn"] if row["sn"] else None,
        )
        for row in cells
    ]


def _cell_group(query: IndicatorQuery, bucket: str, course: str) -> dict[str, Any]:
    """The `_id` of a cell: bucket, course when grouped by it, a value per dimension
    (missing where not recorded)."""
    group: dict[str, Any] = {"b": bucket}
    if query.by_course:
        group["c"] = course
    for index, iri in enumerate(query.by_dimensions):
        group[f"d{index}"] = "$x." + dimension_field(iri)
    return group


def _new_learners(
    db: Database, tenant: str, query: IndicatorQuery, start: int, end: int
) -> list[dict[str, Any]]:
    """Per cell, the learners whose first fact (per course when grouped or filtered by
    course, else tenant-wide; ties in time to the one stored first) falls in it; dimension
    conditions apply to that first fact's values."""
    per_course = query.by_course or query.filter.course is not None
    match = _match(tenant, query.filter, times=False, dims=False)
    match["ts"] = {"$lt": end}
    if not per_course:
        match["fc"] = True
    learner: dict[str, Any] = {"l": "$l"}
    if query.by_course:
        learner["c"] = "$c"
    return _aggregate(db, [
        {"$match": match},
        {"$sort": {"ts": 1, "st": 1}},
        {"$group": {
            "_id": learner, "ts": {"$first": "$ts"},
            "b": {"$first": "$" + _BUCKET_FIELDS[query.interval]}, "x": {"$first": "$x"},
        }},
        {"$match": {
            "ts": {"$gte": start},
            **{f"x.{dimension_field(iri)}": value for iri, value in query.filter.dimensions},
        }},
        {"$group": {"_id": _cell_group(query, "$b", "$_id.c"), "n": {"$sum": 1}}},
    ])

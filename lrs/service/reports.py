"""Progress reports and strategic indicators (README "Reports"): a typed request in, a typed
`Report` out, computed by the store (`Storage.report_*`) and made safe to publish here.

    request = parse_indicators(params, policy)        # or IndicatorsRequest(...) directly
    report = lrs.reports.indicators(principal, request)
    for row in report.rows:
        row.keys["period"], row.cells["active"].value, row.cells["active"].suppressed

- `progress` (one row per pseudonymous learner of a course; statement read scopes, not
  `statements/read/mine`): individual rows, so nothing is suppressed or rounded; only for
  a tenant that pseudonymizes, and the learner is always the pseudonym, whatever the
  caller's scopes (a `reidentify` credential gets no names here).
- `modules` and `indicators` (scope `reports`): every count of learners below the tenant's
  `k` (but not zero) is suppressed, and so is every figure computed from fewer than `k`
  learners (statements of a cell with fewer than `k` active learners, an average over
  fewer than `k` scored learners, a median over fewer than `k` timed learners);
  complementary suppression (`anonymize.suppression`) then hides further cells of each
  count so that none can be worked out from the published ones and the totals: for the
  modules report per count over the modules; for the indicators per bucket and count over
  the table of groups (first grouping key x the others). A rate is suppressed when a count
  it comes from is. Published counts are rounded to the policy's `rounding`; rates and
  averages come from the exact counts.

Every report request is audited (`reports.progress`, `reports.modules`,
`reports.indicators`) with its parameters and the number of rows. The facts a report reads
keep the dimension values the tenant's policy named when each statement was stored: after
the dimensions change, `rebuild` (`lrs reports rebuild`) computes them again.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import orjson

from anonymize.suppression import hidden_cells, protect
from lrs.service.audit import Auditor
from lrs.service.errors import NotFoundError, RequestConflictError, invalid
from lrs.service.principal import (
    ADMIN_SCOPES,
    ALL,
    ALL_READ,
    PLATFORM_SCOPES,
    REPORTS,
    STATEMENTS_READ,
    Principal,
)
from lrs.service.privacy import Privacy
from lrs.service.tenants import TenantPolicy, Tenants
from statements import bucket_of, bucket_start, is_iri, parse_timestamp, stored_timestamp
from storage import INTERVALS, IndicatorCell, IndicatorQuery, ReportFilter, Storage

PROGRESS_SCOPES = (STATEMENTS_READ, ALL_READ, ALL)
REPORT_SCOPES = (REPORTS,)
PROGRESS_LIMIT = 1000
MAX_BUCKETS = 1000
MAX_VERBS = 50
# Published rates and averages: to 9 decimal places, so a sum's order (which differs
# between backends and runs) never shows as 0.7500000000000001.
DECIMALS = 9

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COMMON = ("since", "until", "course", "verb")
PROGRESS_PARAMS = (*_COMMON, "registration", "limit", "more")
MODULES_PARAMS = _COMMON
INDICATORS_PARAMS = (*_COMMON, "interval", "group_by")

Value = int | float | str | bool | None


@dataclass(frozen=True, slots=True)
class Filters:
    """The filters every report takes: the time window [since, until), a course, verbs
    (any of), and dimension values by dimension name (all of)."""

    since: datetime | None = None
    until: datetime | None = None
    course: str | None = None
    verbs: tuple[str, ...] = ()
    dimensions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ProgressRequest:
    """One page of a course's learners (`course`, whatever `filters.course` says): `after`
    is the cursor of the previous page."""

    course: str
    filters: Filters = field(default_factory=Filters)
    registration: str | None = None
    limit: int = 100
    after: str | None = None


@dataclass(frozen=True, slots=True)
class ModulesRequest:
    """A course's modules; `course` is the course (whatever `filters.course` says)."""

    course: str
    filters: Filters = field(default_factory=Filters)


@dataclass(frozen=True, slots=True)
class IndicatorsRequest:
    """Buckets of `interval` covering [since, until), grouped by `group_by` ("course"
    and dimension names, in that order of columns)."""

    interval: str
    since: datetime
    until: datetime
    group_by: tuple[str, ...] = ()
    filters: Filters = field(default_factory=Filters)


class Cell(NamedTuple):
    """One figure: its value (None when suppressed, or when there is nothing to average)
    and whether it was suppressed. A named tuple: a year of weekly indicators by course and
    region builds about 38,000."""

    value: Value
    suppressed: bool = False


_SUPPRESSED = Cell(None, True)
_NOTHING = Cell(None)


@dataclass(frozen=True, slots=True)
class ReportRow:
    keys: dict[str, str | None]
    cells: dict[str, Cell]


@dataclass(frozen=True, slots=True)
class Report:
    """A report: its rows (`keys` then `measures` name their fields), the `k` and
    `rounding` applied (None and 1 for the per-learner progress report), the cursor of the
    next page ("" when none) and report-wide facts (`modules`: a course's module count)."""

    name: str
    keys: tuple[str, ...]
    measures: tuple[str, ...]
    rows: list[ReportRow]
    k: int | None
    rounding: int
    more: str = ""
    facts: dict[str, Value] = field(default_factory=dict)


# -- parameters ---------------------------------------------------------------------------


def _single(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise invalid(f"parameter {name} given more than once", field=name)
    return values[0]


def _time(params: Mapping[str, Sequence[str]], name: str) -> datetime | None:
    text = _single(params, name)
    if text is None:
        return None
    try:
        return parse_timestamp(text)
    except ValueError:
        raise invalid(f"{name} must be an ISO 8601 timestamp", field=name) from None


def _iri(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    text = _single(params, name)
    if text is not None and not is_iri(text):
        raise invalid(f"{name} must be an absolute IRI", field=name)
    return text


def _check_names(
    params: Mapping[str, Sequence[str]], allowed: Sequence[str], policy: TenantPolicy
) -> None:
    dimensions = policy.dimension_iris
    for name in params:
        if name not in allowed and name not in dimensions:
            known = ", ".join([*allowed, *dimensions])
            raise invalid(f"unknown parameter {name} (known: {known})", field=name)


def _filters(
    params: Mapping[str, Sequence[str]], policy: TenantPolicy, *, course: bool
) -> Filters:
    since, until = _time(params, "since"), _time(params, "until")
    if since is not None and until is not None and since >= until:
        raise invalid("since must be before until", field="since")
    verbs = tuple(dict.fromkeys(params.get("verb", ())))
    if len(verbs) > MAX_VERBS:
        raise invalid(f"at most {MAX_VERBS} verb parameters", field="verb")
    for verb in verbs:
        if not is_iri(verb):
            raise invalid("verb must be an absolute IRI", field="verb")
    chosen = _iri(params, "course")
    if course and chosen is None:
        raise invalid("course parameter is required", field="course")
    dimensions = []
    for name in policy.dimension_iris:
        value = _single(params, name)
        if value is not None:
            dimensions.append((name, value))
    return Filters(since, until, chosen, verbs, tuple(dimensions))


def parse_progress(params: Mapping[str, Sequence[str]], policy: TenantPolicy) -> ProgressRequest:
    """A progress request from query parameters (a `more` cursor alone continues a page);
    InvalidRequestError naming the parameter for anything unknown or bad."""
    _check_names(params, PROGRESS_PARAMS, policy)
    token = _single(params, "more")
    after = None
    if token is not None:
        if len(params) > 1:
            raise invalid("more takes no other parameter", field="more")
        params, after = _decode_cursor(token)
        _check_names(params, PROGRESS_PARAMS, policy)
    registration = _single(params, "registration")
    if registration is not None:
        registration = registration.lower()
        if len(registration) != 36 or registration.count("-") != 4:
            raise invalid("registration must be a UUID", field="registration")
    limit_text = _single(params, "limit")
    limit = 100
    if limit_text is not None:
        if not (limit_text.isascii() and limit_text.isdigit()) or len(limit_text) > 9:
            raise invalid("limit must be a non-negative integer", field="limit")
        limit = min(int(limit_text) or PROGRESS_LIMIT, PROGRESS_LIMIT)
    filters = _filters(params, policy, course=True)
    assert filters.course is not None
    return ProgressRequest(filters.course, filters, registration, limit, after)


def parse_modules(params: Mapping[str, Sequence[str]], policy: TenantPolicy) -> ModulesRequest:
    _check_names(params, MODULES_PARAMS, policy)
    filters = _filters(params, policy, course=True)
    assert filters.course is not None
    return ModulesRequest(filters.course, filters)


def parse_indicators(
    params: Mapping[str, Sequence[str]], policy: TenantPolicy
) -> IndicatorsRequest:
    _check_names(params, INDICATORS_PARAMS, policy)
    filters = _filters(params, policy, course=False)
    if filters.since is None:
        raise invalid("since parameter is required", field="since")
    if filters.until is None:
        raise invalid("until parameter is required", field="until")
    interval = _single(params, "interval") or "week"
    if interval not in INTERVALS:
        raise invalid(f"interval must be one of {', '.join(INTERVALS)}", field="interval")
    group_by: list[str] = []
    for text in params.get("group_by", ()):
        for name in text.split(","):
            name = name.strip()
            if name != "course" and name not in policy.dimension_iris:
                known = ", ".join(["course", *policy.dimension_iris])
                raise invalid(f"cannot group by {name!r} (known: {known})", field="group_by")
            if name in group_by:
                raise invalid(f"group_by names {name} twice", field="group_by")
            group_by.append(name)
    if "course" in group_by:  # the course column comes first
        group_by.remove("course")
        group_by.insert(0, "course")
    request = IndicatorsRequest(interval, filters.since, filters.until, tuple(group_by), filters)
    first, last = _buckets(request)
    if last - first + 1 > MAX_BUCKETS:
        raise invalid(f"the window spans more than {MAX_BUCKETS} {interval}s", field="interval")
    return request


def _buckets(request: IndicatorsRequest) -> tuple[int, int]:
    last_moment = request.until - timedelta(microseconds=1)
    return bucket_of(request.interval, request.since), bucket_of(request.interval, last_moment)


# -- the cursor of progress pages -------------------------------------------------------------


def _encode_cursor(params: Mapping[str, Sequence[str]], after: str) -> str:
    payload = orjson.dumps({"q": {k: list(v) for k, v in params.items()}, "after": after})
    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode()


def _decode_cursor(token: str) -> tuple[dict[str, list[str]], str]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        params, after = data["q"], data["after"]
        if not (
            isinstance(params, dict)
            and isinstance(after, str)
            and all(
                isinstance(v, list) and all(isinstance(x, str) for x in v)
                for v in params.values()
            )
        ) or "more" in params:
            raise ValueError
    except (ValueError, TypeError, KeyError, binascii.Error, orjson.JSONDecodeError):
        raise NotFoundError("no such page of the progress report") from None
    return params, after


# -- the service ----------------------------------------------------------------------------


def _micros(moment: datetime | None) -> int | None:
    return None if moment is None else (moment - _EPOCH) // timedelta(microseconds=1)


def _iso(micros: int) -> str:
    return stored_timestamp(_EPOCH + timedelta(microseconds=micros))


def _rounded(value: int, rounding: int) -> int:
    """`value` to the nearest multiple of `rounding` (halves up)."""
    return value if rounding == 1 else (value + rounding // 2) // rounding * rounding


class ReportService:
    """The three reports over one store."""

    def __init__(self, store: Storage, privacy: Privacy, tenants: Tenants, audit: Auditor) -> None:
        self.store = store
        self.privacy = privacy
        self.tenants = tenants
        self.audit = audit

    def _storage_filter(
        self, policy: TenantPolicy, filters: Filters, registration: str | None = None
    ) -> ReportFilter:
        iris = policy.dimension_iris
        return ReportFilter(
            course=filters.course,
            since=_micros(filters.since),
            until=_micros(filters.until),
            verbs=filters.verbs,
            registration=registration,
            dimensions=tuple((iris[name], value) for name, value in filters.dimensions),
        )

    def _audit(
        self, principal: Principal, action: str, params: Mapping[str, list[str]], count: int
    ) -> None:
        """One entry per request: its parameters (dimension values, never a learner)."""
        filters = {name: ",".join(values) for name, values in params.items()}
        self.audit.record(principal, action, "reports", filters=filters, count=count)

    def rebuild(self, principal: Principal, tenant: str | None = None) -> int:
        """Compute the report facts of `tenant` (default: the principal's) again with its
        policy's current dimensions, after they changed (`admin`; another tenant needs
        `platform`); how many statements count. Audited as `reports.rebuild`."""
        target = tenant or principal.tenant
        principal.require(ADMIN_SCOPES if target == principal.tenant else PLATFORM_SCOPES)
        if not self.tenants.exists(target):
            raise NotFoundError(f"no tenant named {target}")
        iris = list(self.tenants.get(target).policy.dimension_iris.values())
        counted = self.store.rebuild_report_facts(target, iris)
        self.audit.record(principal, "reports.rebuild", "reports", count=counted, tenant=target)
        return counted

    def progress(self, principal: Principal, request: ProgressRequest) -> Report:
        """A page of the course's learners (`more`: the cursor of the next one)."""
        principal.require(PROGRESS_SCOPES)
        view = self.tenants.get(principal.tenant)
        if not self.privacy.pseudonymizes(view):
            raise RequestConflictError(
                f"tenant {view.name} does not pseudonymize identities, and reports run on "
                "pseudonymous data only", code="not_pseudonymous",
            )
        filters = dataclasses.replace(request.filters, course=request.course)
        query = self._storage_filter(view.policy, filters, request.registration)
        modules, found = self.store.report_progress(
            principal.tenant, query, after=request.after, limit=request.limit + 1
        )
        more = ""
        if len(found) > request.limit:
            found = found[: request.limit]
            more = _encode_cursor(_request_params(request), found[-1].learner)
        rows = [
            ReportRow(
                keys={"learner": row.learner},
                cells={
                    "first": Cell(_iso(row.first)),
                    "last": Cell(_iso(row.last)),
                    "statements": Cell(row.statements),
                    "modules_attempted": Cell(row.attempted),
                    "modules_completed": Cell(row.completed),
                    "modules_passed": Cell(row.passed),
                    "course_completed": Cell(row.course_completed),
                    "course_passed": Cell(row.course_passed),
                    "best_score": Cell(row.best_score),
                    "duration": Cell(row.duration),
                },
            )
            for row in found
        ]
        self._audit(principal, "reports.progress", _request_params(request), len(rows))
        return Report(
            "progress", ("learner",), PROGRESS_MEASURES, rows, None, 1, more,
            {"course": request.course, "modules": modules},
        )

    def modules(self, principal: Principal, request: ModulesRequest) -> Report:
        """The course's modules in the order first seen, suppressed and rounded."""
        principal.require(REPORT_SCOPES)
        policy = self.tenants.get(principal.tenant).policy
        found = self.store.report_modules(
            principal.tenant,
            self._storage_filter(
                policy, dataclasses.replace(request.filters, course=request.course)
            ),
        )
        k, rounding = policy.k, policy.rounding
        hidden: dict[str, set[tuple[str, str]]] = {}
        for measure in ("attempted", "completed", "passed"):
            counts = {(row.module, ""): getattr(row, measure) for row in found}
            hidden[measure] = hidden_cells(counts, counts, k)
        rows = []
        for row in found:
            cells = {
                measure: _count(getattr(row, measure), (row.module, "") in hidden[measure],
                                rounding)
                for measure in ("attempted", "completed", "passed")
            }
            cells["average_score"] = _average(row.average_score, row.scorers, k)
            cells["median_duration"] = _average(row.median_duration, row.timed, k)
            rows.append(ReportRow({"module": row.module}, cells))
        self._audit(principal, "reports.modules", _request_params(request), len(rows))
        return Report("modules", ("module",), MODULE_MEASURES, rows, k, rounding,
                      facts={"course": request.course})

    def indicators(self, principal: Principal, request: IndicatorsRequest) -> Report:
        """Per bucket and group: the indicators, suppressed and rounded."""
        principal.require(REPORT_SCOPES)
        policy = self.tenants.get(principal.tenant).policy
        iris = policy.dimension_iris
        first, last = _buckets(request)
        dimensions = tuple(name for name in request.group_by if name != "course")
        by_course = "course" in request.group_by
        found = self.store.report_indicators(principal.tenant, IndicatorQuery(
            interval=request.interval, first=first, last=last, by_course=by_course,
            by_dimensions=tuple(iris[name] for name in dimensions),
            filter=self._storage_filter(policy, request.filters),
        ))
        rows = _indicator_rows(found, request, by_course, dimensions, policy)
        self._audit(principal, "reports.indicators", _request_params(request), len(rows))
        return Report(
            "indicators", ("period", *request.group_by), INDICATOR_MEASURES, rows, policy.k,
            policy.rounding, facts={"interval": request.interval},
        )


PROGRESS_MEASURES = (
    "first", "last", "statements", "modules_attempted", "modules_completed",
    "modules_passed", "course_completed", "course_passed", "best_score", "duration",
)
MODULE_MEASURES = ("attempted", "completed", "passed", "average_score", "median_duration")
INDICATOR_MEASURES = (
    "active", "new", "statements", "completers", "completion_rate", "average_score",
)
_COUNTS = ("active", "new", "statements", "completers")


def _count(value: int, hidden: bool, rounding: int) -> Cell:
    return _SUPPRESSED if hidden else Cell(_rounded(value, rounding))


def _average(value: float | None, base: int, k: int) -> Cell:
    """An average over `base` learners: suppressed below `k` (None: nothing to average)."""
    if base == 0 or value is None:
        return _NOTHING
    return _SUPPRESSED if base < k else Cell(round(value, DECIMALS))


def _indicator_rows(
    found: list[IndicatorCell],
    request: IndicatorsRequest,
    by_course: bool,
    dimensions: tuple[str, ...],
    policy: TenantPolicy,
) -> list[ReportRow]:
    """The cells as rows, suppressed per bucket and count (module docstring). Run for
    thousands of cells (a year of weekly indicators by course and region: 6,360), so each
    group's key columns and sort key are worked out once, not once per bucket."""
    k, rounding = policy.k, policy.rounding
    by_bucket: dict[int, dict[tuple[Any, Any], IndicatorCell]] = defaultdict(dict)
    for item in found:
        group = ((item.course,) if by_course else ()) + item.dimensions
        by_bucket[item.bucket][(group[:1], group[1:])] = item
    columns: dict[tuple[Any, Any], dict[str, str | None]] = {}
    order: dict[tuple[Any, Any], tuple[Any, ...]] = {}
    rows = []
    for bucket in sorted(by_bucket):
        cells = by_bucket[bucket]
        active = {key: cell.active for key, cell in cells.items()}
        hidden = []
        for measure in _COUNTS:
            values = active if measure == "active" else {
                key: getattr(cell, measure) for key, cell in cells.items()
            }
            base = active if measure == "statements" else values
            hidden.append(protect(values, [key for key, n in base.items() if 0 < n < k]))
        everything = set(cells).union(*hidden)
        for key in everything.difference(order):
            order[key] = _sortable(key)
            columns[key] = dict(zip(request.group_by, key[0] + key[1], strict=True))
        hidden_active, hidden_new, hidden_statements, hidden_completers = hidden
        period = bucket_start(request.interval, bucket).date().isoformat()
        for key in sorted(everything, key=order.__getitem__):
            cell = cells.get(key)
            learners, completers = (0, 0) if cell is None else (cell.active, cell.completers)
            active_cell = _count(learners, key in hidden_active, rounding)
            completers_cell = _count(completers, key in hidden_completers, rounding)
            if completers_cell.suppressed or active_cell.suppressed:
                rate = _SUPPRESSED
            elif learners == 0:
                rate = _NOTHING
            else:
                rate = Cell(round(completers / learners, DECIMALS))
            rows.append(ReportRow({"period": period, **columns[key]}, {
                "active": active_cell,
                "new": _count(0 if cell is None else cell.new, key in hidden_new, rounding),
                "statements": _count(
                    0 if cell is None else cell.statements, key in hidden_statements, rounding
                ),
                "completers": completers_cell,
                "completion_rate": rate,
                "average_score": (
                    _NOTHING if cell is None else _average(cell.average_score, cell.scorers, k)
                ),
            }))
    return rows


def _sortable(key: tuple[Any, Any]) -> tuple[Any, ...]:
    """Groups in order, a value not recorded (None) last."""
    return tuple((value is None, value or "") for value in key[0] + key[1])


def _request_params(
    request: ProgressRequest | ModulesRequest | IndicatorsRequest,
) -> dict[str, list[str]]:
    """The query parameters a request stands for (for callers that built it directly)."""
    filters = request.filters
    params: dict[str, list[str]] = {}
    if filters.since is not None:
        params["since"] = [stored_timestamp(filters.since)]
    if filters.until is not None:
        params["until"] = [stored_timestamp(filters.until)]
    course = (
        request.course if isinstance(request, ProgressRequest | ModulesRequest)
        else filters.course
    )
    if course is not None:
        params["course"] = [course]
    if filters.verbs:
        params["verb"] = list(filters.verbs)
    for name, value in filters.dimensions:
        params[name] = [value]
    if isinstance(request, ProgressRequest):
        if request.registration is not None:
            params["registration"] = [request.registration]
        params["limit"] = [str(request.limit)]
    if isinstance(request, IndicatorsRequest):
        params["interval"] = [request.interval]
        if request.group_by:
            params["group_by"] = [",".join(request.group_by)]
    return params

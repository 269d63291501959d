"""What the dashboard shows, built from the report operations of the service core
(`lrs.service.reports`): the same rules, suppression and rounding as `/reports/`, so the page
can never show a figure the API would hide. A suppressed cell stays suppressed here: in a
table it reads "suppressed", in a chart it is a gap or a dashed outline, never a zero.

The page's filters are a time window of whole days, an interval, a course and one of the
tenant's dimensions; `parse_filters` checks them and says what was wrong in the reader's
language (the page is then shown with the defaults, and a 400).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from markupsafe import Markup

from lrs.charts import bar_chart, line_chart
from lrs.i18n import Catalogue
from lrs.service.core import LearningRecordStore
from lrs.service.principal import Principal
from lrs.service.reports import (
    Cell,
    Filters,
    IndicatorsRequest,
    ModulesRequest,
    Report,
)
from lrs.service.tenants import TenantPolicy
from statements import is_iri

INTERVALS = ("day", "week", "month")
DEFAULT_DAYS = 84  # twelve weeks
MAX_DAYS = 3 * 366
PARAMS = ("since", "until", "interval", "course", "dimension", "lang")
SERIES_SHOWN = 6  # lines per chart (the colours); the table has every group
TABLES = ("activity", "groups", "modules")


@dataclass(frozen=True, slots=True)
class DashboardFilters:
    """The chosen window [since, until] (whole UTC days, both shown), interval, course
    IRI and dimension name ("" for none)."""

    since: date
    until: date
    interval: str = "week"
    course: str = ""
    dimension: str = ""

    @property
    def query(self) -> dict[str, str]:
        """The filters as query parameters (for links: the CSV downloads)."""
        params = {"since": self.since.isoformat(), "until": self.until.isoformat(),
                  "interval": self.interval}
        if self.course:
            params["course"] = self.course
        if self.dimension:
            params["dimension"] = self.dimension
        return params

    def window(self) -> tuple[datetime, datetime]:
        start = datetime(self.since.year, self.since.month, self.since.day, tzinfo=UTC)
        end = datetime(self.until.year, self.until.month, self.until.day, tzinfo=UTC)
        return start, end + timedelta(days=1)


def default_filters(today: date) -> DashboardFilters:
    return DashboardFilters(since=today - timedelta(days=DEFAULT_DAYS - 1), until=today)


def parse_filters(
    params: Mapping[str, str], policy: TenantPolicy, t: Catalogue, today: date,
) -> tuple[DashboardFilters, list[str]]:
    """The filters of the page's query, and the messages for what was wrong (the defaults
    then stand in for the wrong ones)."""
    defaults = default_filters(today)
    errors = [t("filter.unknown", name=name) for name in params if name not in PARAMS]
    since, until = defaults.since, defaults.until
    for name in ("since", "until"):
        text = params.get(name, "")
        if not text:
            continue
        try:
            value = date.fromisoformat(text)
        except ValueError:
            errors.append(t("filter.date", field=t(f"dashboard.{name}")))
            continue
        if name == "since":
            since = value
        else:
            until = value
    if since > until:
        errors.append(t("filter.order"))
        since, until = defaults.since, defaults.until
    elif (until - since).days >= MAX_DAYS:
        errors.append(t("filter.too_long", days=MAX_DAYS))
        since, until = defaults.since, defaults.until
    interval = params.get("interval") or defaults.interval
    if interval not in INTERVALS:
        errors.append(t("filter.interval"))
        interval = defaults.interval
    course = params.get("course", "")
    if course and not is_iri(course):
        errors.append(t("filter.course"))
        course = ""
    dimension = params.get("dimension", "")
    if dimension and dimension not in policy.dimension_iris:
        errors.append(t("filter.dimension", name=dimension))
        dimension = ""
    return DashboardFilters(since, until, interval, course, dimension), errors


@dataclass(frozen=True, slots=True)
class CellView:
    text: str
    suppressed: bool = False


@dataclass(frozen=True, slots=True)
class RowView:
    label: str
    cells: list[CellView]


@dataclass(slots=True)
class TableView:
    """A table (its first column the row labels) with the chart drawn from it."""

    columns: list[str]
    rows: list[RowView] = field(default_factory=list)
    chart: Markup = field(default_factory=Markup)
    legend: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Course:
    iri: str
    label: str


class DashboardReports:
    """The page's three reports for one reader (a `reports` principal) and language."""

    def __init__(self, lrs: LearningRecordStore, principal: Principal, t: Catalogue) -> None:
        self.lrs, self.principal, self.t = lrs, principal, t

    # -- the reports, as the service computes them (also what the CSV downloads hold) ------

    def activity_report(self, filters: DashboardFilters) -> Report:
        since, until = filters.window()
        return self.lrs.reports.indicators(self.principal, IndicatorsRequest(
            interval=filters.interval, since=since, until=until,
            filters=Filters(course=filters.course or None),
        ))

    def groups_report(self, filters: DashboardFilters) -> Report:
        """By the chosen dimension; without one, by course (when no course is chosen)."""
        since, until = filters.window()
        group_by: tuple[str, ...] = (
            (filters.dimension,) if filters.dimension
            else () if filters.course else ("course",)
        )
        return self.lrs.reports.indicators(self.principal, IndicatorsRequest(
            interval=filters.interval, since=since, until=until, group_by=group_by,
            filters=Filters(course=filters.course or None),
        ))

    def modules_report(self, filters: DashboardFilters) -> Report | None:
        if not filters.course:
            return None
        since, until = filters.window()
        return self.lrs.reports.modules(self.principal, ModulesRequest(
            course=filters.course, filters=Filters(since=since, until=until),
        ))

    def report(self, table: str, filters: DashboardFilters) -> Report | None:
        if table == "activity":
            return self.activity_report(filters)
        if table == "groups":
            return self.groups_report(filters)
        return self.modules_report(filters)

    # -- what the page shows -----------------------------------------------------------------

    def courses(self, filters: DashboardFilters) -> list[Course]:
        """The courses with records in the window (and the chosen one), by name."""
        since, until = filters.window()
        found = self.lrs.reports.indicators(self.principal, IndicatorsRequest(
            interval="month", since=since, until=until, group_by=("course",),
        ))
        iris = {row.keys["course"] for row in found.rows if row.keys.get("course")}
        if filters.course:
            iris.add(filters.course)
        names = self.names(sorted(i for i in iris if i))
        return sorted((Course(iri, names[iri]) for iri in names), key=lambda c: c.label)

    def names(self, iris: Sequence[str]) -> dict[str, str]:
        """Each activity's name in the reader's language (else English, else any), or its
        IRI when its definition has none."""
        known = self.lrs.store.get_activities(self.principal.tenant, list(iris))
        return {iri: _name(known.get(iri), self.t.language) or iri for iri in iris}

    def activity(self, filters: DashboardFilters) -> TableView:
        t = self.t
        report = self.activity_report(filters)
        measures = ("active", "new", "statements", "completers")
        view = TableView(
            columns=[t("column.bucket"), *(t(f"column.{m}") for m in measures)],
            legend=[t("column.active"), t("column.completers")],
        )
        labels = []
        for row in report.rows:
            label = self._period(row.keys["period"], filters.interval)
            labels.append(label)
            view.rows.append(RowView(label, [self._cell(row.cells[m], m) for m in measures]))
        if view.rows:
            view.chart = line_chart(labels, [
                (t("column.active"), [_number(r.cells["active"]) for r in report.rows]),
                (t("column.completers"), [_number(r.cells["completers"]) for r in report.rows]),
            ], number=t.number, title=t("dashboard.activity"))
        return view

    def groups(self, filters: DashboardFilters) -> TableView:
        """Completion rate and average score per group, per period: a line per group."""
        t = self.t
        report = self.groups_report(filters)
        group_keys = report.keys[1:]
        names = self.names([
            str(row.keys["course"]) for row in report.rows if row.keys.get("course")
        ]) if "course" in group_keys else {}
        measures = ("active", "completion_rate", "average_score")
        view = TableView(columns=[
            t("column.bucket"), t("column.group"), *(t(f"column.{m}") for m in measures),
        ])
        periods: list[str] = []
        lines: dict[str, dict[str, tuple[Cell, Cell]]] = {}
        for row in report.rows:
            period = self._period(row.keys["period"], filters.interval)
            if period not in periods:
                periods.append(period)
            group = self._group(row.keys, group_keys, names)
            figures = (row.cells["completion_rate"], row.cells["average_score"])
            lines.setdefault(group, {})[period] = figures
            cells = [CellView(group), *(self._cell(row.cells[m], m) for m in measures)]
            view.rows.append(RowView(period, cells))
        shown = list(lines)[:SERIES_SHOWN]
        view.legend = shown
        if view.rows:
            view.chart = Markup("").join(
                Markup("<figure><figcaption>{}</figcaption>{}</figure>").format(
                    t(title),
                    line_chart(periods, [
                        (group, [_number(lines[group].get(p, (None, None))[i]) for p in periods])
                        for group in shown
                    ], number=t.percent, title=t(title), top=1.0),
                )
                for i, title in enumerate(("dashboard.groups.rate", "dashboard.groups.score"))
            )
        return view

    def funnel(self, filters: DashboardFilters) -> TableView:
        t = self.t
        measures = ("attempted", "completed", "passed", "average_score", "median_duration")
        view = TableView(
            columns=[t("column.module"), *(t(f"column.{m}") for m in measures)],
            legend=[t("column.attempted"), t("column.completed"), t("column.passed")],
        )
        report = self.modules_report(filters)
        if report is None:
            return view
        names = self.names([str(row.keys["module"]) for row in report.rows])
        bars = []
        for row in report.rows:
            label = names[str(row.keys["module"])]
            view.rows.append(RowView(label, [self._cell(row.cells[m], m) for m in measures]))
            bars.append((label, [_number(row.cells[m]) for m in measures[:3]]))
        if bars:
            view.chart = bar_chart(
                bars, number=t.number, suppressed=t("dashboard.suppressed"),
                title=t("dashboard.funnel"),
            )
        return view

    # -- formatting ----------------------------------------------------------------------------

    def _cell(self, cell: Cell, measure: str) -> CellView:
        if cell.suppressed:
            return CellView(self.t("dashboard.suppressed"), suppressed=True)
        value = cell.value
        if value is None:
            return CellView("-")
        if isinstance(value, bool) or not isinstance(value, int | float):
            return CellView(str(value))
        if measure in ("completion_rate", "average_score"):
            return CellView(self.t.percent(value))
        if measure == "median_duration":
            return CellView(self.t("unit.minutes", minutes=self.t.number(round(value / 60, 1))))
        return CellView(self.t.number(value))

    def _period(self, start: str | None, interval: str) -> str:
        day = date.fromisoformat(str(start))
        return self.t.month(day) if interval == "month" else self.t.day(day)

    def _group(
        self, keys: Mapping[str, str | None], names: Sequence[str], courses: Mapping[str, str],
    ) -> str:
        if not names:
            return self.t("column.everyone")
        parts = []
        for name in names:
            value = keys.get(name)
            if value is None:
                parts.append(self.t("dashboard.not_recorded"))
            else:
                parts.append(courses.get(value, value) if name == "course" else value)
        return " · ".join(parts)


def _number(cell: Cell | None) -> float | None:
    """A cell's value for a chart: None (a gap) when suppressed or missing."""
    if cell is None or cell.suppressed or isinstance(cell.value, bool):
        return None
    return float(cell.value) if isinstance(cell.value, int | float) else None


def _name(definition: Any, language: str) -> str | None:
    if not isinstance(definition, dict):
        return None
    names = definition.get("name")
    if not isinstance(names, dict) or not names:
        return None
    for tag, text in names.items():
        if tag.split("-")[0].lower() == language:
            return str(text)
    return str(names.get("en") or names.get("en-US") or next(iter(names.values())))

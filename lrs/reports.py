"""The reports over HTTP (JSON, not xAPI) under `/reports/`: `progress`, `modules`,
`indicators` (`lrs.service.reports` holds the rules). JSON by default, CSV when the request
accepts `text/csv`. Errors have the service's one JSON shape."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import urlencode

import orjson
from flask import Blueprint, Response, request

from lrs.extension import service
from lrs.protocol import authorize
from lrs.service.reports import (
    PROGRESS_SCOPES,
    REPORT_SCOPES,
    Report,
    parse_indicators,
    parse_modules,
    parse_progress,
)

bp = Blueprint("reports", __name__)


def _params() -> dict[str, list[str]]:
    return request.args.to_dict(flat=False)


def _wants_csv() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"])
    return best == "text/csv" and request.accept_mimetypes["text/csv"] > (
        request.accept_mimetypes["application/json"]
    )


def _json_value(report: Report) -> dict[str, Any]:
    rows = []
    for row in report.rows:
        out: dict[str, Any] = dict(row.keys)
        for name, cell in row.cells.items():
            if report.k is None:
                out[name] = cell.value
            else:
                out[name] = {"value": cell.value, "suppressed": cell.suppressed}
        rows.append(out)
    more = ""
    if report.more:
        more = request.script_root + request.path + "?" + urlencode({"more": report.more})
    return {
        "report": report.name, **report.facts, "k": report.k, "rounding": report.rounding,
        "columns": [*report.keys, *report.measures], "rows": rows, "more": more,
    }


def csv_text(report: Report) -> str:
    """The rows as CSV: the key and measure columns, then `suppressed` (the suppressed
    measures, `;`-separated). Empty: no value; booleans `true` / `false`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*report.keys, *report.measures, "suppressed"])
    for row in report.rows:
        values = [row.keys[name] or "" for name in report.keys]
        for name in report.measures:
            value = row.cells[name].value
            values.append(
                "" if value is None else ("true" if value else "false")
                if isinstance(value, bool) else str(value)
            )
        values.append(";".join(n for n in report.measures if row.cells[n].suppressed))
        writer.writerow(values)
    return out.getvalue()


def _render(report: Report) -> Response:
    if _wants_csv():
        response = Response(csv_text(report), mimetype="text/csv")
        if report.more:
            response.headers["Link"] = (
                f'<{request.script_root}{request.path}?{urlencode({"more": report.more})}>;'
                ' rel="next"'
            )
        return response
    return Response(orjson.dumps(_json_value(report)), mimetype="application/json")


@bp.get("/progress")
def progress() -> Response:
    """One row per pseudonymous learner of `?course=`, keyset-paged (`more`)."""
    principal = authorize(PROGRESS_SCOPES)
    lrs = service()
    policy = lrs.tenants.get(principal.tenant).policy
    return _render(lrs.reports.progress(principal, parse_progress(_params(), policy)))


@bp.get("/modules")
def modules() -> Response:
    principal = authorize(REPORT_SCOPES)
    lrs = service()
    policy = lrs.tenants.get(principal.tenant).policy
    return _render(lrs.reports.modules(principal, parse_modules(_params(), policy)))


@bp.get("/indicators")
def indicators() -> Response:
    principal = authorize(REPORT_SCOPES)
    lrs = service()
    policy = lrs.tenants.get(principal.tenant).policy
    return _render(lrs.reports.indicators(principal, parse_indicators(_params(), policy)))

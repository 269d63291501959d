"""The reports over HTTP on every backend (`/reports/`): the seeded store of
`tests/storage/reports_data.py` posted as raw statements (mbox and name, pseudonymized on
the way in), every published figure pinned by hand for k = 2, suppression, rounding, CSV,
paging, scopes, 400s, the audit log, and that no raw identifier reaches a report."""

from __future__ import annotations

import csv
import io

import pytest
from lrs_testing import Api, add_credential

from lrs.extension import EXTENSION
from lrs.service import ForbiddenError, Principal
from tests.storage.reports_data import (
    ADL,
    GENDER,
    M1,
    M2,
    M3,
    Q1,
    REGION,
    VOIDED_ID,
    C,
    D,
    seeded_statements,
    voiding,
)

S = None  # a suppressed figure, in the expected tables below
WINDOW = {"since": "2024-01-01T00:00:00Z", "until": "2024-02-12T00:00:00Z"}


def raw(statement: dict) -> dict:
    name = statement["actor"]["account"]["name"]
    return {**statement, "actor": {"mbox": f"mailto:{name}@school.example",
                                   "name": f"Pupil {name.upper()}"}}


@pytest.fixture
def app_config(app_config: dict) -> dict:
    return {**app_config, "dimensions": {"region": REGION, "gender": GENDER},
            "min_group_size": 2}


@pytest.fixture
def seeded(app, api: Api) -> Api:
    statements = [raw(s) for s in seeded_statements()]
    assert api.request("POST", "/xapi/statements", json=statements).status_code == 200
    target = voiding(VOIDED_ID)
    target.pop("timestamp")
    assert api.request("POST", "/xapi/statements", json=target).status_code == 200
    return api


def client(app, api: Api, *scopes: str) -> Api:
    return Api(api.client, add_credential(app, list(scopes))[0])


@pytest.fixture
def reports(app, seeded: Api) -> Api:
    return client(app, seeded, "reports")


def get(api: Api, path: str, status: int = 200, **params) -> dict:
    response = api.request("GET", path, query_string=params, version=False)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def figures(body: dict, measures: tuple[str, ...]) -> list[tuple]:
    """Each row's keys and measures, a suppressed one as S (checked to be null)."""
    out = []
    for row in body["rows"]:
        keys = tuple(v for k, v in row.items() if k not in measures)
        values = []
        for name in measures:
            cell = row[name]
            if cell["suppressed"]:
                assert cell["value"] is None
                values.append(S)
            else:
                value = cell["value"]
                values.append(round(value, 9) if isinstance(value, float) else value)
        out.append((*keys, *values))
    return out


MODULE_MEASURES = ("attempted", "completed", "passed", "average_score", "median_duration")
INDICATORS = ("active", "new", "statements", "completers", "completion_rate", "average_score")


def test_modules_report_suppresses_and_protects(reports):
    body = get(reports, "/reports/modules", course=C)
    assert (body["report"], body["k"], body["rounding"], body["course"]) == ("modules", 2, 1, C)
    # Counts: attempted 2 2 1 1, completed 1 0 0 0, passed 0 1 0 0. A count of one learner
    # goes, and a second cell of its column with it (the smallest, so the total cannot give
    # it away); averages and medians over one learner go.
    assert figures(body, MODULE_MEASURES) == [
        (M1, 2, S, S, 0.6, 1050.0),
        (M2, 2, S, S, S, S),
        (M3, S, 0, 0, None, None),
        (Q1, S, 0, 0, S, None),
    ]


def test_weekly_indicators_by_course(reports):
    body = get(reports, "/reports/indicators", interval="week", group_by="course", **WINDOW)
    assert body["columns"] == ["period", "course", *INDICATORS]
    # W1: C (3 active, 3 new, 5 statements, 0 completers), D (1, 1, 2, 1): D's counts of one
    # learner go, and C's with them (the period's total would give them away).
    assert figures(body, INDICATORS) == [
        ("2024-01-01", C, S, S, S, S, S, 0.6),
        ("2024-01-01", D, S, S, S, S, S, None),
        ("2024-01-08", C, S, 0, S, S, S, 0.7),
        ("2024-01-08", D, S, 0, S, S, S, S),
        ("2024-02-05", C, S, 0, S, 0, S, None),
    ]


def test_tenant_wide_indicators(reports):
    body = get(reports, "/reports/indicators", interval="week", **WINDOW)
    assert figures(body, INDICATORS) == [
        ("2024-01-01", 3, 3, 7, S, S, 0.6),
        ("2024-01-08", 2, 0, 3, S, S, 0.7),
        ("2024-02-05", S, 0, S, 0, S, None),
    ]
    body = get(reports, "/reports/indicators", interval="month", **WINDOW)
    assert figures(body, INDICATORS) == [
        ("2024-01-01", 3, 3, 10, 2, round(2 / 3, 9), 0.65),
        ("2024-02-01", S, 0, S, 0, S, None),
    ]


def test_indicators_by_a_dimension_and_filtered(reports):
    body = get(reports, "/reports/indicators", interval="month", group_by="region", **WINDOW)
    # January: north a, b (2 active, 2 new, 7 statements, 1 completer: a's course C); south c.
    assert figures(body, INDICATORS) == [
        ("2024-01-01", "north", S, S, S, S, S, round(0.7, 9)),
        ("2024-01-01", "south", S, S, S, S, S, S),
        ("2024-02-01", "north", S, 0, S, 0, S, None),
    ]
    body = get(reports, "/reports/indicators", interval="month", region="north",
               verb=[ADL + "attempted", ADL + "failed"], **WINDOW)
    assert figures(body, INDICATORS) == [
        ("2024-01-01", 2, 2, 3, 0, 0.0, S),
        ("2024-02-01", S, 0, S, 0, S, None),
    ]


def test_rounding_rounds_counts_not_rates(app, reports):
    app.extensions[EXTENSION].service.tenants.update("default", overrides={"rounding": 5})
    body = get(reports, "/reports/indicators", interval="month", **WINDOW)
    assert body["rounding"] == 5
    assert figures(body, INDICATORS)[0] == ("2024-01-01", 5, 5, 10, 0, round(2 / 3, 9), 0.65)
    page = reports.request("GET", "/privacy/default", auth=False, version=False,
                           headers={"Accept": "application/json"}).get_json()
    assert page["reports"] == {"minimum_group": 2, "rounding": 5}


def test_progress_rows_pages_and_pseudonyms(app, seeded):
    reader = client(app, seeded, "statements/read")
    body = get(reader, "/reports/progress", course=C, limit=2)
    assert body["modules"] == 4 and len(body["rows"]) == 2 and body["more"]
    following = seeded.request("GET", body["more"], auth=reader.auth, version=False).get_json()
    rows = body["rows"] + following["rows"]
    assert following["more"] == ""
    assert sorted(
        (r["first"], r["last"], r["statements"], r["modules_attempted"], r["modules_completed"],
         r["modules_passed"], r["course_completed"], r["course_passed"], r["best_score"],
         r["duration"])
        for r in rows
    ) == [
        ("2024-01-01T10:00:00.000000Z", "2024-01-09T09:30:00.000000Z", 4, 2, 1, 1, True,
         False, 0.9, 900.0),
        ("2024-01-02T08:00:00.000000Z", "2024-02-05T12:00:00.000000Z", 3, 2, 0, 0, False,
         False, 0.4, 1200.0),
        ("2024-01-03T12:00:00.000000Z", "2024-01-10T15:00:00.000000Z", 2, 2, 0, 0, False,
         False, 0.5, 1800.0),
    ]
    assert len({r["learner"] for r in rows}) == 3
    filtered = get(reader, "/reports/progress", course=C, since="2024-01-09T00:00:00Z",
                   gender="f")
    assert sorted(r["statements"] for r in filtered["rows"]) == [1, 2]


def test_no_raw_identifier_in_any_report(app, seeded):
    strong = client(app, seeded, "all", "reidentify", "reports")
    outputs = []
    for path, params in (
        ("/reports/progress", {"course": C}),
        ("/reports/progress", {"course": D}),
        ("/reports/modules", {"course": C}),
        ("/reports/indicators", {"group_by": "course,region,gender", **WINDOW}),
    ):
        for accept in ("application/json", "text/csv"):
            response = strong.request("GET", path, query_string=params, version=False,
                                      headers={"Accept": accept})
            assert response.status_code == 200
            outputs.append(response.get_data(as_text=True))
    text = "\n".join(outputs).lower()
    for name in "abc":
        assert f"{name}@school.example" not in text
        assert f"pupil {name}" not in text
    assert "mailto" not in text


def parsed_csv(api: Api, path: str, **params) -> list[dict]:
    response = api.request("GET", path, query_string=params, version=False,
                           headers={"Accept": "text/csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def same_value(text: str, value) -> bool:
    if value is None:
        return text == ""
    if isinstance(value, bool):
        return text == ("true" if value else "false")
    if isinstance(value, int | float):
        return float(text) == value
    return text == value


@pytest.mark.parametrize(("path", "params"), [
    ("/reports/modules", {"course": C}),
    ("/reports/indicators", {"group_by": "course,region", "interval": "week", **WINDOW}),
    ("/reports/indicators", {"interval": "day", **WINDOW}),
])
def test_csv_parses_into_the_json_values(reports, path, params):
    body = get(reports, path, **params)
    rows = parsed_csv(reports, path, **params)
    assert list(rows[0]) == [*body["columns"], "suppressed"]
    assert len(rows) == len(body["rows"])
    for text, row in zip(rows, body["rows"], strict=True):
        suppressed = {name for name in body["columns"]
                      if isinstance(row[name], dict) and row[name]["suppressed"]}
        assert set(filter(None, text["suppressed"].split(";"))) == suppressed
        for name in body["columns"]:
            value = row[name]["value"] if isinstance(row[name], dict) else row[name]
            assert same_value(text[name], value), (name, text[name], value)


def test_progress_csv(app, seeded):
    reader = client(app, seeded, "statements/read")
    body = get(reader, "/reports/progress", course=C)
    rows = parsed_csv(reader, "/reports/progress", course=C)
    for text, row in zip(rows, body["rows"], strict=True):
        for name in body["columns"]:
            assert same_value(text[name], row[name])


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/reports/modules", {}, "course"),
    ("/reports/modules", {"course": "not an iri"}, "course"),
    ("/reports/modules", {"course": C, "colour": "red"}, "colour"),
    ("/reports/modules", {"course": C, "age": "9"}, "age"),
    ("/reports/modules", {"course": [C, D]}, "course"),
    ("/reports/modules", {"course": C, "since": "yesterday"}, "since"),
    ("/reports/modules", {"course": C, "verb": "attempted"}, "verb"),
    ("/reports/modules", {"course": C, "since": "2024-02-01T00:00:00Z",
                          "until": "2024-01-01T00:00:00Z"}, "since"),
    ("/reports/indicators", {"until": "2024-02-01T00:00:00Z"}, "since"),
    ("/reports/indicators", {**WINDOW, "interval": "year"}, "interval"),
    ("/reports/indicators", {**WINDOW, "group_by": "course,age"}, "group_by"),
    ("/reports/indicators", {**WINDOW, "group_by": "region,region"}, "group_by"),
    ("/reports/indicators", {"since": "2000-01-01T00:00:00Z",
                             "until": "2024-01-01T00:00:00Z", "interval": "day"}, "interval"),
    ("/reports/progress", {"course": C, "limit": "ten"}, "limit"),
    ("/reports/progress", {"course": C, "registration": "nope"}, "registration"),
    ("/reports/progress", {"course": C, "more": "abc"}, "more"),
])
def test_bad_parameters_are_400_naming_them(app, seeded, path, params, field):
    api = client(app, seeded, "reports", "statements/read")
    body = get(api, path, 400, **params)
    assert field in body["error"]["fields"], body


def test_an_unknown_cursor_is_404(app, seeded):
    api = client(app, seeded, "statements/read")
    assert get(api, "/reports/progress", 404, more="bm90IGEgY3Vyc29y")["error"]["code"] == (
        "not_found")


def test_scopes(app, seeded):
    xapi = client(app, seeded, "all")
    assert get(xapi, "/reports/modules", 403, course=C)["error"]["code"] == "forbidden"
    assert get(xapi, "/reports/indicators", 403, **WINDOW)["error"]["code"] == "forbidden"
    mine = client(app, seeded, "statements/read/mine", "reports")
    assert get(mine, "/reports/progress", 403, course=C)["error"]["code"] == "forbidden"
    anonymous = seeded.request("GET", "/reports/modules", query_string={"course": C},
                               auth=False, version=False)
    assert anonymous.status_code == 401


def test_every_report_request_is_audited(app, reports):
    get(reports, "/reports/modules", course=C)
    get(reports, "/reports/indicators", group_by="region", **WINDOW)
    store = app.extensions[EXTENSION].store
    [modules] = store.read_audit("default", action="reports.modules")
    assert (modules.resource, modules.count, modules.filters) == ("reports", 4, {"course": C})
    [indicators] = store.read_audit("default", action="reports.indicators")
    # Weekly: north and south in weeks 1 and 2, north in week 6.
    assert indicators.filters["group_by"] == "region" and indicators.count == 5


@pytest.mark.parametrize("pseudonymize", [False])
def test_progress_needs_pseudonymous_data(app, seeded):
    reader = client(app, seeded, "statements/read")
    assert get(reader, "/reports/progress", 409, course=C)["error"]["code"] == (
        "not_pseudonymous")


def test_m3_and_q1_are_modules_of_c(reports):
    # M3 is named through `grouping`, Q1 as a grouping of a D statement: both count for C.
    assert [row["module"] for row in get(reports, "/reports/modules", course=C)["rows"]] == [
        M1, M2, M3, Q1]


def test_a_dimension_added_later_counts_after_a_rebuild(app, seeded):
    from lrs.cli.common import operator

    service = app.extensions[EXTENSION].service
    service.tenants.update("default", overrides={"dimensions": {"region": REGION}})
    assert service.reports.rebuild(operator()) == 11  # the facts keep region only
    service.tenants.update("default", overrides={"dimensions": {"sex": GENDER}})
    api = client(app, seeded, "reports")
    params = {"interval": "month", "group_by": "sex", **WINDOW}
    assert [row["sex"] for row in get(api, "/reports/indicators", **params)["rows"]] == [
        None, None]
    assert service.reports.rebuild(operator()) == 11
    rows = get(api, "/reports/indicators", **params)["rows"]
    assert [(row["period"], row["sex"]) for row in rows] == [
        ("2024-01-01", "f"), ("2024-01-01", "m"), ("2024-02-01", "m")]
    entries = app.extensions[EXTENSION].store.read_audit("default", action="reports.rebuild")
    assert [(entry.credential, entry.count) for entry in entries] == [("cli", 11)] * 2
    with pytest.raises(ForbiddenError):
        service.reports.rebuild(Principal("x", "default", frozenset({"reports"}), {}))

"""`lrs serve` on SQLite keeps a batch's report fields waiting (storage.sqlite.reports) and
folds them into the report facts once no statement was stored for `report_fold_quiet_ms`,
with no report asked for; with the setting at 0 they wait for the first report."""

from __future__ import annotations

import base64
import json
import sqlite3
import time
import urllib.request
import uuid

import pytest

from tests.e2e.conftest import HOST, start_lrs

COURSE = "https://courses.example.org/algebra"


def _statement(n: int) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"mbox": f"mailto:learner{n}@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": f"{COURSE}/module-{n % 3}"},
        "context": {"contextActivities": {"parent": [{"id": COURSE}]}},
    }


def _post(live, statements: list[dict]) -> None:
    token = base64.b64encode(f"{live.key}:{live.secret}".encode()).decode()
    request = urllib.request.Request(
        f"http://{HOST}:{live.port}/xapi/statements", data=json.dumps(statements).encode(),
        method="POST", headers={
            "Authorization": f"Basic {token}", "Content-Type": "application/json",
            "X-Experience-API-Version": "1.0.3",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def _waiting_and_facts(path) -> tuple[int, int]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT (SELECT COALESCE(SUM(statements), 0) FROM report_pending),"
            " (SELECT COUNT(*) FROM report_facts)"
        ).fetchone()


@pytest.mark.parametrize("quiet_ms", ["300", "0"])
def test_a_quiet_server_folds_what_waits_without_a_report(tmp_path, quiet_ms):
    for live in start_lrs(tmp_path, LRS_REPORT_FOLD_QUIET_MS=quiet_ms):
        for batch in range(3):
            _post(live, [_statement(10 * batch + n) for n in range(10)])
        path = tmp_path / "lrs.db"
        deadline = time.monotonic() + 15
        state = _waiting_and_facts(path)
        while quiet_ms != "0" and state != (0, 30) and time.monotonic() < deadline:
            time.sleep(0.2)
            state = _waiting_and_facts(path)
        if quiet_ms == "0":
            time.sleep(1.5)  # five quiet periods of the other case
            state = _waiting_and_facts(path)
        assert state == ((0, 30) if quiet_ms != "0" else (30, 0))

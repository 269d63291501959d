"""`lrs erase` and `lrs retention run` (the rules are tested in tests/privacy and
tests/storage; here the command layer: input, confirmation, output, exit codes)."""

from __future__ import annotations

import json
import secrets

import pytest
from click.testing import CliRunner

from anonymize.keys import encode_key
from lrs.cli import main
from lrs.config import load_config
from lrs.service import SCOPES, LearningRecordStore, Principal

KID = {"objectType": "Agent", "mbox": "mailto:kid.cli@example.org"}
STATEMENT = {"actor": KID, "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
             "object": {"id": "http://example.com/course"}}


@pytest.fixture
def env(storage_uri: str) -> dict[str, str]:
    return {"LRS_STORAGE_URI": storage_uri, "LRS_CONFIG_FILE": "",
            "LRS_MASTER_KEY": encode_key(secrets.token_bytes(32))}


def run(env, *args, input=None):
    return CliRunner().invoke(main, list(args), env=env, input=input)


def post(env, count: int) -> None:
    principal = Principal("k", "default", frozenset(SCOPES), {"mbox": "mailto:c@example.org"})
    with LearningRecordStore.open(load_config(None, env)) as lrs:
        lrs.post_statements(principal, [dict(STATEMENT) for _ in range(count)])


def test_erase_prints_the_receipt_after_confirmation(env):
    post(env, 3)
    agent = json.dumps(KID)
    dry = run(env, "erase", "--agent", agent, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output)["counts"]["statements"] == 3
    refused = run(env, "erase", "--agent", agent, input="n\n")
    assert refused.exit_code == 1
    done = run(env, "erase", "--agent", agent, input="y\n")
    assert done.exit_code == 0, done.output
    receipt = json.loads(done.output[done.output.index("{"):])
    assert receipt["counts"]["statements"] == 3 and receipt["dry_run"] is False
    assert receipt["request_id"].startswith("cli-")
    again = run(env, "erase", "--tenant", "default", "--agent", agent, "--yes")
    assert json.loads(again.output)["counts"]["statements"] == 0
    log = run(env, "audit", "--action", "erasure", "--json")
    entries = [json.loads(line) for line in log.output.splitlines()]
    assert len(entries) == 3 and all(e["credential"] == "cli" for e in entries)
    assert "kid.cli" not in log.output


@pytest.mark.parametrize("args,code,message", [
    (["--agent", "{not json"], 2, "not valid JSON"),
    (["--agent", '{"mbox": "kid@example.org"}', "--yes"], 1, "agent.mbox"),
    (["--agent", '{"mbox": "mailto:k@example.org"}', "--tenant", "nope", "--yes"], 1,
     "no tenant nope"),
    ([], 2, "--agent"),
])
def test_erase_refuses_bad_input(env, args, code, message):
    result = run(env, "erase", *args)
    assert result.exit_code == code
    assert message in result.output


def test_retention_run_reports_each_tenant(env):
    post(env, 2)
    assert run(env, "tenants", "update", "default", "--retention-days", "30").exit_code == 0
    assert run(env, "tenants", "create", "kept-forever", "--no-retention").exit_code == 0
    text = run(env, "retention", "run", "--dry-run")
    assert text.exit_code == 0, text.output
    assert "default: 30 days, before " in text.output
    assert "would delete 0 statements, 0 attachments, 0 documents" in text.output
    assert "kept-forever: no retention period" in text.output
    result = run(env, "retention", "run", "--json", "--tenant", "default")
    reports = json.loads(result.output)["tenants"]
    assert [r["tenant"] for r in reports] == ["default"]
    assert reports[0]["counts"] == {"statements": 0, "attachments": 0, "documents": 0}
    assert reports[0]["dry_run"] is False
    log = run(env, "audit", "--action", "retention", "--json")
    assert len(log.output.splitlines()) == 2
    unknown = run(env, "retention", "run", "--tenant", "nope")
    assert unknown.exit_code == 1 and "no tenant named nope" in unknown.output

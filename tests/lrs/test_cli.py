"""The `lrs` command: credentials and validate (serve is exercised by tests/e2e)."""

from __future__ import annotations

import json

import orjson
import pytest
from click.testing import CliRunner

from lrs.auth import verify_secret
from lrs.cli import main
from storage import open_storage

STATEMENT = {
    "actor": {"mbox": "mailto:a@example.com"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
    "object": {"id": "http://example.com/course"},
}


@pytest.fixture
def env(storage_uri: str) -> dict[str, str]:
    return {"LRS_STORAGE_URI": storage_uri, "LRS_CONFIG_FILE": ""}


def run(env, *args, input=None):
    return CliRunner().invoke(main, list(args), env=env, input=input)


def test_create_list_revoke(env, storage_uri):
    created = run(env, "credentials", "create", "--scopes", "statements/write,state",
                  "--name", "tablet app", "--tenant", "school-a", "--json")
    assert created.exit_code == 0, created.output
    data = json.loads(created.output)
    with open_storage(storage_uri) as store:
        credential = store.get_credential(data["key"])
    assert credential.scopes == ("statements/write", "state")
    assert credential.tenant == "school-a"
    assert verify_secret(data["secret"], credential.secret_hash)

    listed = run(env, "credentials", "list")
    assert data["key"] in listed.output and "tablet app" in listed.output
    assert data["secret"] not in listed.output
    assert credential.secret_hash not in listed.output
    as_json = json.loads(run(env, "credentials", "list", "--json").output)
    assert as_json[0]["key"] == data["key"] and "secret_hash" not in as_json[0]
    assert json.loads(run(env, "credentials", "list", "--tenant", "other", "--json").output) == []

    refused = run(env, "credentials", "revoke", data["key"], input="n\n")
    assert refused.exit_code == 1
    revoked = run(env, "credentials", "revoke", data["key"], "--yes")
    assert revoked.exit_code == 0
    with open_storage(storage_uri) as store:
        assert store.get_credential(data["key"]).revoked
    assert "revoked" in run(env, "credentials", "list").output


def test_create_human_output(env):
    result = run(env, "credentials", "create", "--scopes", "all")
    assert result.exit_code == 0
    assert result.output.startswith("key:")


def test_unknown_scope_is_usage_error(env):
    result = run(env, "credentials", "create", "--scopes", "all,everything")
    assert result.exit_code == 2
    assert "everything" in result.output


def test_revoke_unknown_key(env):
    assert run(env, "credentials", "revoke", "nope", "--yes").exit_code == 1


def test_bad_configuration_is_usage_error(env):
    result = run(dict(env, LRS_MAX_BODY_BYTES="huge"), "credentials", "list")
    assert result.exit_code == 2
    assert "LRS_MAX_BODY_BYTES" in result.output


@pytest.mark.parametrize("payload", [STATEMENT, [STATEMENT, STATEMENT]])
def test_validate_valid(tmp_path, payload):
    path = tmp_path / "s.json"
    path.write_bytes(orjson.dumps(payload))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0
    assert result.output.startswith("valid")


def test_validate_prints_each_error_with_path(tmp_path):
    bad = dict(STATEMENT, actor={"mbox": "a@example.com"}, verb={"id": "nope"})
    path = tmp_path / "s.json"
    path.write_bytes(orjson.dumps([STATEMENT, bad]))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("[1].actor.mbox: ") for line in lines)
    assert any(line.startswith("[1].verb.id: ") for line in lines)


def test_validate_usage_errors(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("{nope")
    assert CliRunner().invoke(main, ["validate", str(path)]).exit_code == 2
    assert CliRunner().invoke(main, ["validate", str(tmp_path / "missing.json")]).exit_code == 2
    assert CliRunner().invoke(main, ["validate"]).exit_code == 2


def test_validate_reads_stdin():
    result = CliRunner().invoke(main, ["validate", "-"], input=json.dumps(STATEMENT))
    assert result.exit_code == 0

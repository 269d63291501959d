"""`lrs agreements` and `lrs credentials create --agreement`, on every backend."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from anonymize.keys import encode_key
from lrs.cli import main
from storage import open_storage


@pytest.fixture
def env(storage_uri: str) -> dict[str, str]:
    return {"LRS_STORAGE_URI": storage_uri, "LRS_CONFIG_FILE": "",
            "LRS_MASTER_KEY": encode_key(secrets.token_bytes(32))}


def run(env, *args, input=None):
    return CliRunner().invoke(main, list(args), env=env, input=input)


def when(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def test_agreements_and_their_export_credentials(env, storage_uri):
    assert run(env, "tenants", "create", "school-a", "--dimension",
               "region=http://example.org/ext/region").exit_code == 0
    made = run(env, "agreements", "create", "--tenant", "school-a", "--partner", "Ministry",
               "--purpose", "Monitoring", "--field", "verb.id,object.id", "--field", "actor",
               "--dimension", "region", "--learner-ids", "--starts", when(-1),
               "--expires", when(30), "--json")
    assert made.exit_code == 0, made.output
    agreement = json.loads(made.output)
    assert agreement["fields"] == ["verb.id", "object.id", "actor",
                                   "context.extensions.http://example.org/ext/region"]
    listed = run(env, "agreements", "list", "--tenant", "school-a")
    assert agreement["id"] in listed.output and "active" in listed.output
    shown = run(env, "agreements", "show", agreement["id"], "--tenant", "school-a")
    assert "Monitoring" in shown.output and shown.exit_code == 0
    assert run(env, "agreements", "show", agreement["id"]).exit_code == 1  # default tenant
    bad = run(env, "agreements", "create", "--tenant", "school-a", "--partner", "NGO",
              "--purpose", "p", "--field", "actor", "--starts", when(-1),
              "--expires", when(30))
    assert bad.exit_code == 1 and "learner_ids" in bad.output

    bound = run(env, "credentials", "create", "--scopes", "export", "--tenant", "school-a",
                "--agreement", agreement["id"], "--json")
    assert bound.exit_code == 0, bound.output
    with open_storage(storage_uri) as store:
        assert store.get_credential(json.loads(bound.output)["key"]).agreement == agreement["id"]
    assert f"agreement={agreement['id']}" in run(env, "credentials", "list").output
    unbound = run(env, "credentials", "create", "--scopes", "export", "--tenant", "school-a")
    assert unbound.exit_code == 1 and "agreement" in unbound.output

    assert run(env, "agreements", "revoke", agreement["id"], "--tenant", "school-a",
               input="n\n").exit_code == 1
    revoked = run(env, "agreements", "revoke", agreement["id"], "--tenant", "school-a", "--yes")
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    again = run(env, "agreements", "revoke", agreement["id"], "--tenant", "school-a", "--yes")
    assert "already revoked" in again.output
    late = run(env, "credentials", "create", "--scopes", "export", "--tenant", "school-a",
               "--agreement", agreement["id"])
    assert late.exit_code == 1 and "revoked" in late.output
    log = run(env, "audit", "--tenant", "school-a", "--json").output.splitlines()
    actions = [json.loads(line)["action"] for line in log]
    assert actions.count("agreement.create") == 1 and actions.count("agreement.revoke") == 1

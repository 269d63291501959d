"""The `lrs` command: credentials and validate (serve is exercised by tests/e2e)."""

from __future__ import annotations

import json
import secrets

import orjson
import pytest
from click.testing import CliRunner

from anonymize.keys import encode_key
from lrs.cli import main
from lrs.service.credentials import verify_secret
from storage import open_storage

STATEMENT = {
    "actor": {"mbox": "mailto:a@example.com"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
    "object": {"id": "http://example.com/course"},
}


@pytest.fixture
def env(storage_uri: str) -> dict[str, str]:
    return {"LRS_STORAGE_URI": storage_uri, "LRS_CONFIG_FILE": "",
            "LRS_MASTER_KEY": encode_key(secrets.token_bytes(32))}


def run(env, *args, input=None):
    return CliRunner().invoke(main, list(args), env=env, input=input)


def test_create_list_revoke(env, storage_uri):
    assert run(env, "tenants", "create", "school-a").exit_code == 0
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


def test_validate_takes_the_xapi_version(tmp_path):
    """9274.1.1 4.2.2.5: contextAgents are 2.0's; 1.0.3 (the default) refuses them."""
    path = tmp_path / "s.json"
    path.write_text(json.dumps({
        "actor": {"mbox": "mailto:a@example.com"}, "verb": {"id": "http://example.com/v"},
        "object": {"id": "http://example.com/o"},
        "context": {"contextAgents": [{"objectType": "contextAgent",
                                       "agent": {"mbox": "mailto:b@example.com"}}]}}))
    assert CliRunner().invoke(main, ["validate", str(path), "--xapi-version", "2.0.0"]
                              ).exit_code == 0
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert "context.contextAgents: unknown property" in result.output


def test_validate_usage_errors(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("{nope")
    assert CliRunner().invoke(main, ["validate", str(path)]).exit_code == 2
    assert CliRunner().invoke(main, ["validate", str(tmp_path / "missing.json")]).exit_code == 2
    assert CliRunner().invoke(main, ["validate"]).exit_code == 2


def test_validate_reads_stdin():
    result = CliRunner().invoke(main, ["validate", "-"], input=json.dumps(STATEMENT))
    assert result.exit_code == 0


VERB = {"id": "http://adlnet.gov/expapi/verbs/completed"}
ACTIVITY = {"id": "http://example.com/course"}
ACTOR = {"mbox": "mailto:a@example.com"}
# A dozen hand-made invalid statements, each breaking one rule, with the path it is reported
# under (Data sections 2.4.x cited per case).
INVALID = [
    ({"actor": {"mbox": "a@example.com"}, "verb": VERB, "object": ACTIVITY},
     "actor.mbox"),  # 2.4.2.3 mbox is a mailto IRI
    ({"actor": {"mbox": "mailto:a@example.com", "openid": "http://openid.example.com/a"},
      "verb": VERB, "object": ACTIVITY}, "actor"),  # 2.4.2.1 exactly one IFI
    ({"actor": ACTOR, "verb": {"id": "completed"}, "object": ACTIVITY},
     "verb.id"),  # 2.4.3 verb id is an IRI
    ({"actor": ACTOR, "verb": {**VERB, "display": {"not a tag!": "done"}}, "object": ACTIVITY},
     "verb.display.not a tag!"),  # 4.2 language map keys are RFC 5646 tags
    ({"actor": ACTOR, "verb": VERB, "object": {"id": "http://example.com/c",
                                              "definition": {"interactionType": "essay"}}},
     "object.definition.interactionType"),  # 2.4.4.1 interaction types
    ({"actor": ACTOR, "verb": VERB, "object": ACTIVITY,
      "result": {"score": {"scaled": 1.5}}}, "result.score.scaled"),  # 2.4.5.1 -1..1
    ({"actor": ACTOR, "verb": VERB, "object": ACTIVITY,
      "result": {"score": {"raw": 120, "min": 0, "max": 100}}},
     "result.score.raw"),  # 2.4.5.1 raw within min..max
    ({"actor": ACTOR, "verb": VERB, "object": ACTIVITY,
      "context": {"registration": "not-a-uuid"}}, "context.registration"),  # 2.4.6
    ({"actor": ACTOR, "verb": VERB, "object": ACTIVITY,
      "context": {"contextActivities": {"parent": [{"id": "no iri"}]}}},
     "context.contextActivities.parent[0].id"),  # 2.4.6.2 activities have IRI ids
    ({"actor": ACTOR, "verb": VERB, "object": ACTIVITY, "timestamp": "yesterday"},
     "timestamp"),  # 2.4.7 ISO 8601
    ({"actor": ACTOR, "verb": VERB, "object": ACTIVITY, "version": "2.0.0"},
     "version"),  # 2.4.10 1.0.x only
    ({"actor": ACTOR, "verb": VERB, "object": ACTIVITY, "mood": "happy"},
     "mood"),  # 2.2 unknown properties rejected
    ({"actor": ACTOR, "verb": VERB, "object": ACTIVITY,
      "context": {"revision": "2", "platform": "x"}}, None),  # valid control: no error
]


@pytest.mark.parametrize(("statement", "path"), INVALID)
def test_validate_rejects_hand_made_invalid_statements_at_their_path(tmp_path, statement, path):
    """`lrs validate` names the path and the rule for each broken rule; the control case, a
    statement breaking none, is valid (so the check can fail both ways)."""
    file = tmp_path / "s.json"
    file.write_bytes(orjson.dumps(statement))
    result = CliRunner().invoke(main, ["validate", str(file)])
    if path is None:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 1, result.output
    paths = [line.split(": ", 1)[0] for line in result.output.splitlines() if ": " in line]
    assert path in paths, result.output
    rule = next(line for line in result.output.splitlines() if line.startswith(path + ": "))
    assert len(rule) > len(path) + 10  # a rule is named, not just a path


def test_validate_accepts_the_specs_examples(tmp_path):
    """Every JSON statement example of xAPI-Data.md validates through the command."""
    from tests.statements import xapi_examples as ex

    examples = [ex.VOIDING, ex.SIMPLEST, ex.STATEMENT_REF, ex.SUBSTATEMENT, ex.SIMPLE,
                ex.COMPLETION, ex.LONG, ex.SIGNED]
    file = tmp_path / "examples.json"
    file.write_bytes(orjson.dumps(examples))
    result = CliRunner().invoke(main, ["validate", str(file)])
    assert result.exit_code == 0, result.output


def test_tenants_create_show_update_list(env):
    created = run(env, "tenants", "create", "school-a", "--display-name", "School A",
                  "--dimension", "region=http://example.org/ext/region", "--k", "5",
                  "--retention-days", "30", "--notice-language", "fr", "--json")
    assert created.exit_code == 0, created.output
    data = json.loads(created.output)
    assert data["policy"]["dimensions"] == {"region": "http://example.org/ext/region"}
    assert (data["policy"]["k"], data["policy"]["retention_days"]) == (5, 30)
    assert data["policy"]["notice_languages"] == ["fr"]
    updated = run(env, "tenants", "update", "school-a", "--no-retention", "--k", "8",
                  "--rounding", "5", "--json")
    assert updated.exit_code == 0, updated.output
    assert json.loads(updated.output)["policy"]["retention_days"] is None
    shown = json.loads(run(env, "tenants", "show", "school-a", "--json").output)
    assert shown["policy"]["k"] == 8 and shown["revision"] == 2
    assert shown["policy"]["rounding"] == 5
    listed = json.loads(run(env, "tenants", "list", "--json").output)
    assert [t["name"] for t in listed] == ["default", "school-a"]
    human = run(env, "tenants", "list").output
    assert "school-a  pseudonymize=on  k=8  retention=none  dimensions=region" in human


def test_tenant_policy_errors_are_reported_and_change_nothing(env):
    refused = run(env, "tenants", "create", "school-a", "--k", "1")
    assert refused.exit_code == 1 and "policy.k" in refused.output
    assert run(env, "tenants", "show", "school-a").exit_code == 1
    assert run(env, "tenants", "create", "School A").exit_code == 1
    unknown = run(env, "credentials", "create", "--scopes", "all", "--tenant", "nowhere")
    assert unknown.exit_code == 1 and "lrs tenants create nowhere" in unknown.output
    run(env, "tenants", "create", "school-a")
    assert run(env, "tenants", "create", "school-a").exit_code == 1  # exists
    bad = run(env, "tenants", "update", "school-a", "--dimension", "region")
    assert bad.exit_code == 2


def test_audit_list_and_verify(env, storage_uri):
    run(env, "tenants", "create", "school-a")
    run(env, "tenants", "update", "school-a", "--k", "6")
    lines = run(env, "audit", "--tenant", "school-a", "--json").output.splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["action"] for e in entries] == ["tenant.create", "tenant.update"]
    assert entries[0]["credential"] == "cli"
    only = run(env, "audit", "--tenant", "school-a", "--action", "tenant.update").output
    assert "tenant.update" in only and "tenant.create" not in only
    verified = run(env, "audit", "verify", "--tenant", "school-a")
    assert verified.exit_code == 0 and "chain intact" in verified.output
    from tests.lrs.test_admin import edit_audit_entry

    edit_audit_entry(storage_uri, "school-a", 1)
    broken = run(env, "audit", "verify")
    assert broken.exit_code == 1
    assert "school-a: broken at entry 1" in broken.output


def test_a_worker_closes_its_store_when_it_exits(app):
    """gunicorn's worker_exit hook of `lrs serve` closes the worker app's service."""
    from types import SimpleNamespace

    from lrs.extension import EXTENSION
    from lrs.serving import close_worker_app as _close_worker_app

    closed = []
    extension = app.extensions[EXTENSION]
    original = extension.service.close
    extension.service.close = lambda: (closed.append(True), original())
    _close_worker_app(None, SimpleNamespace(wsgi=app))
    assert closed == [True]
    _close_worker_app(None, SimpleNamespace())  # a worker that never loaded the app


def test_reports_rebuild(env):
    result = run(env, "reports", "rebuild")
    assert result.exit_code == 0, result.output
    assert "tenant default: 0 statements count in reports" in result.output
    assert run(env, "reports", "rebuild", "--tenant", "nowhere").exit_code != 0

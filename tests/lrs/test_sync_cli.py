"""`lrs keys export` / `import` (key distribution between a central LRS and its edges) and
the `lrs sync` commands' own rules: credentials, URLs, status from the local store only.
Forwarding itself is tests/lrs/test_sync_api.py and tests/e2e/test_sync_e2e.py."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time

import pytest
from click.testing import CliRunner

from anonymize import Keyring, Purpose, load_tenant_keys
from anonymize.keys import SCOPED_PURPOSES, encode_key
from lrs.cli import main
from lrs.cli.sync import retry_wait
from lrs.service.errors import SyncFailedError
from lrs.sync_client import _answer, load_credential, sync_endpoint

STATEMENT = {
    "actor": {"mbox": "mailto:a@example.com"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
    "object": {"id": "http://example.com/course"},
}
posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def run(env, *args, input=None):
    return CliRunner().invoke(main, list(args), env=env, input=input)


@pytest.fixture
def central(tmp_path):
    key = encode_key(secrets.token_bytes(32))
    return {"LRS_STORAGE_URI": f"sqlite:///{tmp_path / 'central.db'}", "LRS_CONFIG_FILE": "",
            "LRS_MASTER_KEY": key, "LRS_TENANT_KEYS_FILE": str(tmp_path / "c" / "t.json")}


@pytest.fixture
def edge(tmp_path):
    return {"LRS_STORAGE_URI": f"sqlite:///{tmp_path / 'edge.db'}", "LRS_CONFIG_FILE": "",
            "LRS_MASTER_KEY": encode_key(secrets.token_bytes(32)),
            "LRS_TENANT_KEYS_FILE": str(tmp_path / "edge-keys" / "tenant-keys.json")}


@posix_only
def test_keys_travel_from_the_centre_to_the_edge_in_owner_only_files(central, edge, tmp_path):
    carried = tmp_path / "usb" / "default.keys"
    exported = run(central, "keys", "export", str(carried))
    assert exported.exit_code == 0, exported.output
    assert oct(carried.stat().st_mode & 0o777) == "0o600"
    ring = Keyring.from_text(central["LRS_MASTER_KEY"])
    tenant_purposes = set(Purpose) - SCOPED_PURPOSES  # (an agreement's are per agreement)
    ids = {p: ring.derive("default", p).key_id for p in tenant_purposes}
    assert ids[Purpose.PSEUDONYM] in exported.output and ids[Purpose.VAULT] in exported.output
    for purpose in tenant_purposes:
        assert encode_key(ring.derive("default", purpose).key) not in exported.output
    assert run(central, "keys", "export", str(carried)).exit_code == 1  # never overwritten
    assert run(central, "keys", "export", "--tenant", "nobody", str(tmp_path / "x")
               ).exit_code == 1

    imported = run(edge, "keys", "import", str(carried))
    assert imported.exit_code == 0, imported.output
    installed = load_tenant_keys(edge["LRS_TENANT_KEYS_FILE"])
    assert installed[("default", Purpose.VAULT)][0] == ring.derive("default", Purpose.VAULT).key
    assert ("default", Purpose.AUDIT) not in installed
    audit = run(central, "audit", "--action", "keys.export", "--json")
    assert json.loads(audit.output.splitlines()[0])["filters"]["pseudonym"] == ids[
        Purpose.PSEUDONYM]
    assert "keys.import" in run(edge, "audit").output


def test_importing_keys_under_stored_statements_is_refused(central, edge, tmp_path):
    carried = tmp_path / "default.keys"
    assert run(central, "keys", "export", str(carried)).exit_code == 0
    from lrs.cli.common import operator
    from lrs.config import load_config
    from lrs.service import LearningRecordStore

    with LearningRecordStore.open(load_config(None, edge)) as lrs:
        lrs.post_statements(operator(), STATEMENT)
    refused = run(edge, "keys", "import", str(carried))
    assert refused.exit_code == 1 and "import tenant keys before storing" in refused.output
    assert not os.path.exists(edge["LRS_TENANT_KEYS_FILE"])


def test_a_broken_tenant_key_file_stops_the_service(edge, tmp_path):
    path = tmp_path / "edge-keys" / "tenant-keys.json"
    path.parent.mkdir()
    path.write_text('{"format": "lrs-tenant-keys/1", "tenants": {"default": {"vault": ["x"]}}}')
    path.chmod(0o600)
    result = run(edge, "credentials", "list")
    assert result.exit_code == 1 and "tenant_keys_file" in result.output


def test_sync_status_reads_the_local_store_only(edge):
    result = run(edge, "sync", "status", "--to", "https://central.example.org/xapi/", "--json")
    assert result.exit_code == 0, result.output
    [status] = json.loads(result.output)
    assert status["target"] == "https://central.example.org/sync/v1"
    assert (status["backlog"], status["last_success"], status["last_error"]) == (0, None, None)
    assert (status["refused"], status["last_refused"]) == (0, None)
    human = run(edge, "sync", "status", "--to", "https://central.example.org/xapi/")
    assert "backlog       0 statements" in human.output and "last success  never" in human.output
    assert "nothing forwarded yet" in run(edge, "sync", "status").output


@pytest.mark.parametrize("args, problem", [
    ((), "--to"),
    (("--to", "https://c.example/xapi/"), "--credential"),
    (("--to", "ftp://c.example/", "--credential", "k:s"), "http(s) URL"),
    (("--to", "https://u:p@c.example/", "--credential", "k:s"), "without credentials"),
    (("--to", "https://c.example/xapi/", "--credential", "no-colon"), "key:secret"),
])
def test_sync_push_usage_errors(edge, args, problem):
    result = run(edge, "sync", "push", *args)
    assert result.exit_code == 2 and problem in result.output


def test_sync_push_fails_with_exit_1_when_the_centre_is_unreachable(edge):
    from tests.e2e.conftest import free_port

    to = f"http://127.0.0.1:{free_port()}/xapi/"
    result = run(edge, "sync", "push", "--to", to, "--credential", "key:secret")
    assert result.exit_code == 1 and "cannot reach the central LRS" in result.output
    assert "secret" not in result.output.replace("--credential", "")
    [status] = json.loads(run(edge, "sync", "status", "--to", to, "--json").output)
    assert "cannot reach" in status["last_error"]


def test_sync_push_of_an_unknown_tenant_fails_with_exit_1(edge):
    result = run(edge, "sync", "push", "--to", "http://127.0.0.1:9/xapi/", "--credential",
                 "k:s", "--tenant", "nosuch")
    assert result.exit_code == 1 and "failed:" in result.output


def test_sync_urls_settings_are_checked(edge):
    result = run({**edge, "LRS_SYNC_URL": "central.example.org"}, "sync", "status")
    assert result.exit_code == 2 and "sync_url" in result.output
    result = run({**edge, "LRS_SYNC_BATCH_SIZE": "0"}, "sync", "status")
    assert result.exit_code == 2 and "sync_batch_size" in result.output


@pytest.mark.parametrize("given, expected", [
    ("https://central.example.org/xapi/", "https://central.example.org/sync/v1"),
    ("https://central.example.org/xapi", "https://central.example.org/sync/v1"),
    ("https://Central.example.org:8443/lrs/xapi/", "https://central.example.org:8443/lrs/sync/v1"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/sync/v1"),
    ("http://127.0.0.1:8080/sync/v1", "http://127.0.0.1:8080/sync/v1"),
])
def test_the_sync_api_is_beside_the_xapi_base(given, expected):
    assert sync_endpoint(given) == expected


@posix_only
def test_a_credential_comes_from_an_owner_only_file_or_the_text(tmp_path):
    assert load_credential("key:se:cret") == ("key", "se:cret")
    path = tmp_path / "credential.json"
    path.write_text(json.dumps({"key": "k1", "secret": "s1"}))
    path.chmod(0o600)
    assert load_credential(str(path)) == ("k1", "s1")
    path.write_text("k2:s2\n")
    assert load_credential(str(path)) == ("k2", "s2")
    path.chmod(0o640)
    with pytest.raises(ValueError, match="too open"):
        load_credential(str(path))
    path.chmod(0o600)
    path.write_text('{"key": 1}')
    with pytest.raises(ValueError, match="must hold"):
        load_credential(str(path))


def test_an_error_answer_names_the_status_code_and_fields():
    body = json.dumps({"error": {"code": "invalid_statement", "message": "bad",
                                 "fields": {f"statements[{i}].actor": ["rule"] for i in range(7)}}})
    with pytest.raises(SyncFailedError, match=r"400 invalid_statement: bad \[statements\[0\]"
                       r"\.actor: rule.*\(\+2 more\)\]"):
        _answer("https://c/sync/v1", 400, body.encode())
    with pytest.raises(SyncFailedError, match="answered 502"):
        _answer("https://c/sync/v1", 502, b"<html>")


def test_retries_double_from_the_initial_wait_up_to_the_longest_with_jitter():
    for failures, base in ((1, 5), (2, 10), (3, 20), (8, 640), (9, 900), (200, 900)):
        waits = [retry_wait(failures, 5, 900) for _ in range(50)]
        assert all(base * 0.9 <= wait <= base * 1.1 for wait in waits), (failures, waits)
    assert len({retry_wait(1, 5, 900) for _ in range(20)}) > 1


def test_sync_run_retries_while_the_centre_is_down_and_stops_on_sigterm(edge, tmp_path):
    from tests.e2e.conftest import free_port, lrs_command

    env = {**os.environ, **edge, "LRS_SYNC_RETRY_INITIAL": "1", "LRS_SYNC_RETRY_MAX": "1"}
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        runner = subprocess.Popen(
            [*lrs_command(), "sync", "run", "--to", f"http://127.0.0.1:{free_port()}/xapi/",
             "--credential", "key:secret"], env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while log.read_text().count("cannot reach the central LRS") < 2:
                assert runner.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            runner.send_signal(signal.SIGTERM)
            assert runner.wait(timeout=30) == 0
        finally:
            if runner.poll() is None:
                runner.kill()
                runner.wait()
    output = log.read_text()
    assert "next attempt in 1 s" in output and output.rstrip().endswith("stopped")
    assert "secret" not in output

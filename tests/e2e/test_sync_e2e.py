"""An offline school end to end: two real LRS processes, an edge on SQLite and the central
LRS on the MongoDB test server, keys shared with `lrs keys export` / `import`, forwarding by
`lrs sync push` and `lrs sync run`. Statements posted while the central LRS is down arrive
once it is up, exactly once, with their attachment; a forwarder killed (SIGKILL) while it
works loses and duplicates nothing; the central store holds no raw identifier, and a
`reidentify` read there returns the originals."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from statements import build_multipart
from tests.e2e.conftest import HOST, create_credential, free_port, lrs_command, serving
from tests.privacy.people import IDENTIFIERS, LIA, NOA, SAM, TEACHER, ZOE, everywhere, simple
from tests.privacy.scan import find_identifiers, store_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ESSAY = b"An essay written offline, all week.\r\n--\r\n\x00\xff"
ESSAY_SHA = hashlib.sha256(ESSAY).hexdigest()
ASSIGNED = ("stored", "authority", "version", "timestamp")
DEADLINE_S = 120


def cli(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([*lrs_command(), *args], env=env, capture_output=True, text=True,
                          check=check, timeout=120)


def environment(directory: Path, storage_uri: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRS_")}
    env.update(
        LRS_STORAGE_URI=storage_uri,
        LRS_KEY_FILE=str(directory / "keys" / "master.key"),
        LRS_TENANT_KEYS_FILE=str(directory / "keys" / "tenant-keys.json"),
    )
    cli(env, "keys", "init")
    return env


def request(port, method, path, credential, body=None, content_type="application/json"):
    key, secret = credential
    headers = {"X-Experience-API-Version": "1.0.3", "Authorization": "Basic "
               + base64.b64encode(f"{key}:{secret}".encode()).decode()}
    if body is not None:
        headers["Content-Type"] = content_type
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def post(port, credential, statements) -> None:
    status, body = request(port, "POST", "/xapi/statements", credential,
                           json.dumps(statements).encode())
    assert status == 200, body


def central_ids(mongo_uri: str) -> list[str]:
    from pymongo import MongoClient

    client: MongoClient = MongoClient(mongo_uri)
    try:
        return [d["id"] for d in client.get_default_database()["statements"].find({}, {"id": 1})]
    finally:
        client.close()


def wire(statement: dict) -> dict:
    return {k: v for k, v in statement.items() if k not in ASSIGNED}


def test_an_offline_school_forwards_everything_once_and_nothing_in_clear(
    tmp_path, mongo_database_uri
):
    central_dir, edge_dir = tmp_path / "central", tmp_path / "edge"
    central_dir.mkdir()
    edge_dir.mkdir()
    central = environment(central_dir, mongo_database_uri)
    edge = environment(edge_dir, f"sqlite:///{edge_dir / 'lrs.db'}")

    # Key distribution: the centre exports the tenant's keys, the edge installs them.
    shared = tmp_path / "carried" / "default.keys"
    exported = cli(central, "keys", "export", "--tenant", "default", str(shared))
    assert "pseudonym key" in exported.stdout
    assert oct(shared.stat().st_mode & 0o777) == "0o600"
    imported = cli(edge, "keys", "import", str(shared))
    assert "installed the keys of default" in imported.stdout
    key_text = json.loads(shared.read_text())["tenants"]["default"]["vault"][0]
    assert key_text not in exported.stdout + exported.stderr + imported.stdout + imported.stderr

    sync_key, sync_secret = create_credential(central, "sync")
    credential_file = edge_dir / "central.credential"
    credential_file.write_text(json.dumps({"key": sync_key, "secret": sync_secret}))
    credential_file.chmod(0o600)
    reader = create_credential(central, "all/read,reidentify")
    device = create_credential(edge, "all")
    central_port = free_port()
    to = f"http://{HOST}:{central_port}/xapi/"
    forward = ("sync", "push", "--to", to, "--credential", str(credential_file))

    with serving(edge_dir, edge) as edge_port:
        # All week, the central LRS out of reach: learners' devices post to the edge.
        everyone = [everywhere(actor=who) for who in (ZOE, SAM, NOA, LIA, TEACHER)]
        post(edge_port, device, everyone)
        essay = simple(ZOE, attachments=[{
            "usageType": "http://example.com/attachment-usage/essay",
            "display": {"en-US": "Essay"}, "contentType": "text/plain",
            "length": len(ESSAY), "sha2": ESSAY_SHA,
        }])
        content_type, body = build_multipart(json.dumps([essay]).encode(),
                                             {ESSAY_SHA: ("text/plain", ESSAY)})
        assert request(edge_port, "POST", "/xapi/statements", device, body,
                       content_type)[0] == 200
        week = [simple(who) for who in (ZOE, SAM, NOA) for _ in range(100)]
        post(edge_port, device, week)
        first = len(everyone) + 1 + len(week)

        down = cli(edge, *forward, check=False)
        assert down.returncode == 1 and "cannot reach the central LRS" in down.stderr
        [status] = json.loads(cli(edge, "sync", "status", "--to", to, "--json").stdout)
        assert status["backlog"] == first and status["last_success"] is None
        assert "cannot reach" in status["last_error"]

        with serving(central_dir, central, port=central_port):
            up = cli(edge, *forward)
            assert f"forwarded {first} statements" in up.stdout, up.stdout
            assert "MB sent gzipped" in up.stdout
            ids = central_ids(mongo_database_uri)
            assert len(ids) == len(set(ids)) == first

            # More statements, then a forwarder killed at work, then one more push.
            more = [simple(who) for who in (ZOE, SAM, NOA, LIA) for _ in range(250)]
            for start in range(0, len(more), 250):
                post(edge_port, device, more[start:start + 250])
            total = first + len(more)
            runner = subprocess.Popen(
                [*lrs_command(), "sync", "run", "--to", to, "--credential",
                 str(credential_file), "--batch-size", "40"],
                env=edge, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            try:
                deadline = time.monotonic() + DEADLINE_S
                while len(central_ids(mongo_database_uri)) < first + 200:
                    assert runner.poll() is None and time.monotonic() < deadline
                    time.sleep(0.02)
                runner.send_signal(signal.SIGKILL)
                runner.wait(timeout=30)
            finally:
                if runner.poll() is None:
                    runner.kill()
                    runner.wait()
            stored_then = len(central_ids(mongo_database_uri))
            [status] = json.loads(cli(edge, "sync", "status", "--to", to, "--json").stdout)
            assert stored_then < total, "the forwarder finished before it was killed"
            assert total - status["backlog"] <= stored_then  # never past what arrived

            cli(edge, *forward)
            ids = central_ids(mongo_database_uri)
            assert len(ids) == len(set(ids)) == total
            expected = {s["id"] for s in [*everyone, essay, *week, *more]}
            assert set(ids) == expected
            [status] = json.loads(cli(edge, "sync", "status", "--to", to, "--json").stdout)
            assert (status["backlog"], status["last_error"]) == (0, None)

            # At the centre: the originals for a `reidentify` reader, the attachment too.
            for sent in everyone:
                code, got = request(central_port, "GET",
                                    f"/xapi/statements?statementId={sent['id']}", reader)
                assert code == 200 and wire(json.loads(got)) == wire(sent)
            code, got = request(
                central_port, "GET",
                f"/xapi/statements?statementId={essay['id']}&attachments=true", reader)
            assert code == 200 and ESSAY in got
    # Nothing in clear at the centre: every collection, every byte.
    assert find_identifiers(store_bytes(mongo_database_uri), IDENTIFIERS) == []
    assert find_identifiers((central_dir / "serve.log").read_bytes(), IDENTIFIERS) == []

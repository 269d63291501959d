"""Keys and start-up: `lrs keys init` makes an owner-only key file and never overwrites it;
the service refuses to start with pseudonymization on and no usable key, saying what to do,
without a traceback and without repeating key material (issue 4)."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from anonymize import Keyring
from lrs import create_app
from lrs.config import ConfigError, load_config
from lrs.service import load_privacy
from tests.e2e.conftest import HOST, free_port, lrs_command

SECRET_LOOKING = "c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1uZXZlci1zaG93"


def _env(tmp_path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRS_")}
    env["LRS_STORAGE_URI"] = f"sqlite:///{tmp_path / 'lrs.db'}"
    env.update(extra)
    return env


def _lrs(env, *args, cwd):
    return subprocess.run([*lrs_command(), *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=60)


def test_keys_init_creates_an_owner_only_key_file_and_refuses_to_overwrite(tmp_path):
    target = tmp_path / "keys" / "master.key"
    made = _lrs(_env(tmp_path), "keys", "init", str(target), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    content = target.read_bytes()
    Keyring.from_file(target)  # a valid 256-bit key
    assert content.decode().strip() not in made.stdout + made.stderr
    again = _lrs(_env(tmp_path), "keys", "init", str(target), cwd=tmp_path)
    assert again.returncode == 1
    assert "refusing to overwrite" in again.stderr
    assert "Traceback" not in again.stderr
    assert target.read_bytes() == content


def test_keys_init_exist_ok_keeps_a_valid_key_and_refuses_a_bad_one(tmp_path):
    """The README's run command uses --exist-ok, so running it twice keeps the first key."""
    target = tmp_path / "master.key"
    assert _lrs(_env(tmp_path), "keys", "init", str(target), cwd=tmp_path).returncode == 0
    content = target.read_bytes()
    again = _lrs(_env(tmp_path), "keys", "init", "--exist-ok", str(target), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert target.read_bytes() == content
    target.chmod(0o644)
    loose = _lrs(_env(tmp_path), "keys", "init", "--exist-ok", str(target), cwd=tmp_path)
    assert loose.returncode == 1
    assert "Traceback" not in loose.stderr
    fresh = tmp_path / "new.key"
    made = _lrs(_env(tmp_path), "keys", "init", "--exist-ok", str(fresh), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


def test_keys_init_defaults_to_the_configured_key_file(tmp_path):
    made = _lrs(_env(tmp_path, LRS_KEY_FILE="conf/k.key"), "keys", "init", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE((tmp_path / "conf" / "k.key").stat().st_mode) == 0o600
    default = _lrs(_env(tmp_path), "keys", "init", cwd=tmp_path)
    assert default.returncode == 0, default.stderr
    assert (tmp_path / "lrs-data" / "master.key").exists()


def test_the_app_refuses_to_start_without_a_key(tmp_path, monkeypatch):
    monkeypatch.delenv("LRS_CONFIG_FILE", raising=False)
    monkeypatch.delenv("LRS_MASTER_KEY", raising=False)
    with pytest.raises(ConfigError) as caught:
        create_app({"storage_uri": f"sqlite:///{tmp_path / 'lrs.db'}",
                    "key_file": str(tmp_path / "missing.key")})
    message = str(caught.value)
    assert "pseudonymization is on" in message
    assert "lrs keys init" in message
    assert "LRS_PSEUDONYMIZE=false" in message
    assert not (tmp_path / "lrs.db").exists()  # nothing opened before the key check


def test_a_bad_master_key_is_refused_without_being_shown():
    with pytest.raises(ConfigError) as caught:
        load_privacy(load_config({"master_key": SECRET_LOOKING}))
    assert "LRS_MASTER_KEY" in str(caught.value)
    assert SECRET_LOOKING not in str(caught.value)


def test_a_key_file_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "open.key"
    path.write_text("A" * 43 + "\n")
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="too open"):
        load_privacy(load_config({"key_file": str(path)}))


def test_pseudonymization_off_needs_no_key(tmp_path):
    privacy = load_privacy(load_config({"pseudonymize": False,
                                        "key_file": str(tmp_path / "none")}))
    assert not privacy.enabled


def test_the_key_is_never_in_a_repr():
    config = load_config({"master_key": "A" * 43})
    privacy = load_privacy(config)
    assert "A" * 43 not in repr(config)
    assert "A" * 43 not in repr(privacy)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, (True, None, ())),
        ({"LRS_PSEUDONYMIZE": "false"}, (False, None, ())),
        ({"LRS_PSEUDONYMIZE": "0"}, (False, None, ())),
        ({"LRS_MASK_ALLOWED_EXTENSIONS": "http://a.example/x, http://b.example/y"},
         (True, ("http://a.example/x", "http://b.example/y"), ())),
        ({"LRS_MASK_ALLOWED_EXTENSIONS": ""}, (True, (), ())),
        ({"LRS_MASK_DROP_FIELDS": "result.response"}, (True, None, ("result.response",))),
    ],
)
def test_privacy_settings_from_the_environment(environ, expected):
    config = load_config(None, environ)
    assert (config.pseudonymize, config.mask_allowed_extensions,
            config.mask_drop_fields) == expected


@pytest.mark.parametrize(
    "environ",
    [
        {"LRS_PSEUDONYMIZE": "maybe"},
        {"LRS_MASK_ALLOWED_EXTENSIONS": "not-an-iri"},
        {"LRS_MASK_DROP_FIELDS": "actor.name"},
    ],
)
def test_bad_privacy_settings_are_refused(environ):
    with pytest.raises(ConfigError, match=next(iter(environ)).removeprefix("LRS_").lower()):
        load_config(None, environ)


@pytest.mark.slow
@pytest.mark.parametrize("master_key", [None, SECRET_LOOKING])
def test_lrs_serve_refuses_to_start_without_a_usable_key(tmp_path, master_key):
    extra = {"LRS_MASTER_KEY": master_key} if master_key else {}
    result = _lrs(_env(tmp_path, **extra), "serve", "--host", HOST, "--port",
                  str(free_port()), cwd=tmp_path)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "pseudonymization is on" in output
    assert "lrs keys init" in output
    assert "Traceback" not in output
    assert SECRET_LOOKING not in output

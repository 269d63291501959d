"""Configuration: defaults, then file, then LRS_ environment, then the explicit mapping."""

from __future__ import annotations

import json

import pytest

from lrs.config import Config, ConfigError, load_config


def test_defaults():
    config = load_config(None, {})
    assert config == Config()
    assert config.storage_uri == "sqlite:///lrs-data/lrs.db"
    assert config.statements_limit_max == 500
    assert config.version_fallback == "1.0.3"


def test_file_then_environment_then_mapping(tmp_path):
    path = tmp_path / "lrs.json"
    path.write_text(json.dumps({"storage_uri": "sqlite:///from-file.db", "max_body_bytes": 100,
                                "statements_limit_max": 7}))
    environ = {"LRS_CONFIG_FILE": str(path), "LRS_MAX_BODY_BYTES": "200",
               "LRS_STATEMENTS_LIMIT_MAX": "8"}
    config = load_config({"statements_limit_max": 9}, environ)
    assert config.storage_uri == "sqlite:///from-file.db"
    assert config.max_body_bytes == 200
    assert config.statements_limit_max == 9


def test_toml_file(tmp_path):
    path = tmp_path / "lrs.toml"
    path.write_text('storage_uri = "sqlite:///t.db"\ncors_origins = ["https://app.example"]\n')
    config = load_config(None, {"LRS_CONFIG_FILE": str(path)})
    assert config.storage_uri == "sqlite:///t.db"
    assert config.cors_origins == ("https://app.example",)


def test_cors_origins_from_comma_separated_environment():
    config = load_config(None, {"LRS_CORS_ORIGINS": "https://a.example, https://b.example:8443/"})
    assert config.cors_origins == ("https://a.example", "https://b.example:8443")


def test_unknown_lrs_environment_variables_are_ignored():
    assert load_config(None, {"LRS_TEST_MONGODB_URI": "mongodb://x"}) == Config()


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"max_body_bytes": 0}, "max_body_bytes"),
        ({"max_body_bytes": "big"}, "max_body_bytes"),
        ({"statements_limit_max": -1}, "statements_limit_max"),
        ({"storage_uri": ""}, "storage_uri"),
        ({"cors_origins": ["not an origin"]}, "cors_origins"),
        ({"authority_home_page": "lrs.example"}, "authority_home_page"),
        ({"version_fallback": "0.9"}, "version_fallback"),
        ({"no_such_key": 1}, "no_such_key"),
    ],
)
def test_invalid_values_name_the_key(overrides, named):
    with pytest.raises(ConfigError, match=named):
        load_config(overrides, {})


def test_invalid_environment_value_names_the_variable():
    with pytest.raises(ConfigError, match="LRS_MAX_BODY_BYTES"):
        load_config(None, {"LRS_MAX_BODY_BYTES": "lots"})


def test_unreadable_or_invalid_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(None, {"LRS_CONFIG_FILE": str(tmp_path / "missing.json")})
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(ConfigError, match="not valid"):
        load_config(None, {"LRS_CONFIG_FILE": str(bad)})
    listing = tmp_path / "list.json"
    listing.write_text("[]")
    with pytest.raises(ConfigError, match="object"):
        load_config(None, {"LRS_CONFIG_FILE": str(listing)})


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        Config().storage_uri = "x"  # type: ignore[misc]

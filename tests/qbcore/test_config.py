"""Configuration: defaults, precedence and errors that name the variable."""

import os
import stat

import pytest

from qbcore.config import ConfigError, QboEnvironment, load_config, read_secrets_file


def test_embedded_default_is_sqlite_under_data_with_a_private_key_file(tmp_path):
    config = load_config({"QBSYNC_DATA_DIR": str(tmp_path)}, {})
    assert config.database_url == f"sqlite:///{tmp_path / 'qbsync.db'}"
    assert config.qbo_env is QboEnvironment.LOCAL
    key_file = tmp_path / "secret.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert load_config({"QBSYNC_DATA_DIR": str(tmp_path)}, {}).secret_key == config.secret_key


def test_environment_wins_over_secrets(tmp_path):
    env = {"QBSYNC_DATABASE_URL": "sqlite:///env.db", "QBSYNC_DATA_DIR": str(tmp_path)}
    config = load_config(env, {"DATABASE_URL": "sqlite:///secrets.db", "DEMO_INVOICES": "50"})
    assert config.database_url == "sqlite:///env.db"
    assert config.demo_invoices == 50


def test_secrets_file_section_is_read(tmp_path):
    path = tmp_path / "secrets.toml"
    path.write_text('[qbsync]\nqbo_env = "sandbox"\nclient_id = "abc"\n')
    assert read_secrets_file(path) == {"QBO_ENV": "sandbox", "CLIENT_ID": "abc"}


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"QBSYNC_QBO_ENV": "staging"}, "QBSYNC_QBO_ENV"),
        ({"QBSYNC_DATABASE_URL": "not a url"}, "QBSYNC_DATABASE_URL"),
        ({"QBSYNC_QBO_BASE_URL": "ftp://x"}, "QBSYNC_QBO_BASE_URL"),
        ({"QBSYNC_DEMO_INVOICES": "-3"}, "QBSYNC_DEMO_INVOICES"),
        ({"QBSYNC_QBO_ENV": "production"}, "QBSYNC_CLIENT_ID"),
        ({"QBSYNC_SECRET_KEY": "too-short"}, "QBSYNC_SECRET_KEY"),
        ({"QBSYNC_REQUIRE_SIGN_IN": "yes please"}, "QBSYNC_REQUIRE_SIGN_IN"),
    ],
)
def test_a_bad_value_fails_fast_naming_the_variable(tmp_path, env, named):
    with pytest.raises(ConfigError, match=named):
        load_config({"QBSYNC_DATA_DIR": str(tmp_path), **env}, {})


def test_sign_in_is_optional_unless_a_deployment_requires_it(tmp_path):
    assert load_config({"QBSYNC_DATA_DIR": str(tmp_path)}, {}).require_sign_in is False
    assert load_config({"QBSYNC_DATA_DIR": str(tmp_path)}, {"REQUIRE_SIGN_IN": "on"}).require_sign_in is True


def test_a_broken_secrets_file_is_a_clear_error(tmp_path):
    path = tmp_path / "secrets.toml"
    path.write_text("[qbsync\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_secrets_file(path)

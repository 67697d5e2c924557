from __future__ import annotations

import pytest

from riskloop_config import Environment, InvalidSettings, load_settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("RISKLOOP_") or name == "ENVIRONMENT":
            monkeypatch.delenv(name)


def test_local_is_the_default_and_needs_no_variables() -> None:
    settings = load_settings()
    assert settings.environment is Environment.LOCAL
    assert settings.kafka.embedded_broker is True
    assert settings.feast.online_store == "sqlite"
    assert settings.mlflow.tracking_uri.startswith("sqlite:///")


def test_nested_variable_overrides_the_preset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "compose")
    monkeypatch.setenv("RISKLOOP_REDIS__PORT", "6380")
    monkeypatch.setenv("RISKLOOP_FRAUD_API__ADMIN_TOKEN", "compose-token")
    settings = load_settings()
    assert settings.redis.port == 6380
    assert settings.redis.host == "redis"  # the rest of the preset section survives
    assert settings.feast.online_store == "redis"


def test_bad_value_names_the_variable_and_what_is_expected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKLOOP_REDIS__PORT", "not-a-port")
    with pytest.raises(InvalidSettings) as caught:
        load_settings()
    message = str(caught.value)
    assert "RISKLOOP_REDIS__PORT='not-a-port' is invalid" in message
    assert "integer" in message


def test_production_lists_every_missing_variable_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    with pytest.raises(InvalidSettings) as caught:
        load_settings()
    problems = caught.value.problems
    for variable in (
        "RISKLOOP_POSTGRES__HOST",
        "RISKLOOP_REDIS__HOST",
        "RISKLOOP_KAFKA__BOOTSTRAP_SERVERS",
        "RISKLOOP_MLFLOW__TRACKING_URI",
        "RISKLOOP_FRAUD_API__ADMIN_TOKEN",
    ):
        assert any(p.startswith(variable + " is not set") for p in problems), (variable, problems)


def test_unknown_environment_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "staging")
    expected = "ENVIRONMENT='staging' is invalid: expected one of local, compose, production"
    with pytest.raises(InvalidSettings, match=expected):
        load_settings()


def test_misspelt_setting_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKLOOP_KAFKA__BOOTSTRAP_SERVER", "kafka:9092")
    with pytest.raises(InvalidSettings, match="RISKLOOP_KAFKA__BOOTSTRAP_SERVER is not a known setting"):
        load_settings()


def test_secrets_do_not_leak_into_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKLOOP_FRAUD_API__ADMIN_TOKEN", "s3cret-token")
    settings = load_settings()
    assert "s3cret-token" not in repr(settings)
    assert settings.fraud_api.admin_token.get_secret_value() == "s3cret-token"


def test_local_feast_paths_are_absolute_so_feast_does_not_resolve_them_against_its_repo(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    import os

    monkeypatch.chdir(str(tmp_path))
    feast = load_settings().feast
    assert feast.offline_root == os.path.join(str(tmp_path), "var", "offline")
    assert os.path.isabs(feast.registry) and os.path.isabs(feast.sqlite_path)


def test_sql_registry_url_is_kept_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "compose")
    monkeypatch.setenv("RISKLOOP_FRAUD_API__ADMIN_TOKEN", "t")
    assert load_settings().feast.registry.startswith("postgresql+psycopg://")

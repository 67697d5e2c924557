from __future__ import annotations

import argparse

import pytest

from riskloop_config import RiskloopSettings
from riskloop_config.cli import Command, run_app


def test_app_command_receives_settings_and_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKLOOP_KAFKA__PARTITIONS", "7")
    seen: dict[str, object] = {}

    def run(settings: RiskloopSettings, args: argparse.Namespace) -> int:
        seen["partitions"] = settings.kafka.partitions
        seen["name"] = args.name
        return 3

    command = Command("greet", run, lambda parser: parser.add_argument("--name", required=True))
    assert run_app("demo", "a demo", {"greet": command}, ["greet", "--name", "x"]) == 3
    assert seen == {"partitions": 7, "name": "x"}


def test_bad_setting_exits_with_status_2_and_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RISKLOOP_KAFKA__PARTITIONS", "zero")
    with pytest.raises(SystemExit) as exited:
        run_app("demo", "a demo", {}, ["config"])
    assert exited.value.code == 2
    assert "RISKLOOP_KAFKA__PARTITIONS='zero' is invalid" in capsys.readouterr().err

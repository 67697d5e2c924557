from __future__ import annotations

from pathlib import Path

import pytest

from riskloop_simulation import read_parquet
from riskloop_simulation.cli import main


def test_cli_writes_a_world_and_prints_its_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "world"
    args = ["--seed", "2", "--users", "600", "--events", "15", "--days", "3", "--fraud-rate", "0.03"]
    code = main([*args, "--out", str(out)])
    assert code == 0
    transactions, chargebacks, events = read_parquet(str(out))
    assert events.num_rows == 15
    printed = capsys.readouterr().out
    assert f"{transactions.num_rows:,}" in printed
    for name in ("fraud share", "chargebacks", "card_testing", "account_takeover", "bot_scalping", "stolen_cards"):
        assert name in printed


def test_cli_rejects_an_invalid_world(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--users", "1", "--out", str(tmp_path)]) == 2
    assert "n_users" in capsys.readouterr().out

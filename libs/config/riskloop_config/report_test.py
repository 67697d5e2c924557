from __future__ import annotations

import pytest
from rich.console import Console

from riskloop_config import load_settings
from riskloop_config.report import settings_table


def test_table_names_each_variable_and_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKLOOP_FRAUD_API__ADMIN_TOKEN", "hunter2")
    monkeypatch.setenv("RISKLOOP_REDIS__PORT", "6390")
    console = Console(record=True, width=200)
    console.print(settings_table(load_settings()))
    text = console.export_text()
    assert "RISKLOOP_REDIS__PORT" in text and "6390" in text
    assert "RISKLOOP_FRAUD_API__ADMIN_TOKEN" in text
    assert "hunter2" not in text

"""A readable view of the settings a process resolved, secrets masked: what `<app> config` prints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SecretStr
from rich.table import Table

from riskloop_config.settings import RiskloopSettings


def _flatten(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, BaseModel):
        rows: list[tuple[str, str]] = []
        for name in type(value).model_fields:
            rows.extend(_flatten(f"{prefix}__{name}" if prefix else name, getattr(value, name)))
        return rows
    if isinstance(value, SecretStr):
        return [(prefix, "****" if value.get_secret_value() else "")]
    if hasattr(value, "value") and not isinstance(value, (str, int, float)):
        value = value.value  # enums
    return [(prefix, "" if value is None else str(value))]


def settings_table(settings: RiskloopSettings) -> Table:
    """One row per setting, named by the environment variable that overrides it."""
    table = Table(title=f"Riskloop settings ({settings.environment.value})")
    table.add_column("variable")
    table.add_column("value")
    for name, value in _flatten("", settings):
        table.add_row(f"RISKLOOP_{name.upper()}", value)
    return table

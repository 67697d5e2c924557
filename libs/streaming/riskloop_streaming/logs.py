"""Structured logs: one JSON object per line on stderr, with the `extra=` fields of each call as keys."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

# Attributes every LogRecord has; anything else came from `extra=` and is a field of the line.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def __init__(self, *, app: str | None = None) -> None:
        super().__init__()
        self._app = app

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self._app:
            line["app"] = self._app
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_json_logging(*, app: str, level: int | str = logging.INFO, stream: TextIO | None = None) -> None:
    """Route the root logger to JSON lines (call once at process entry; replaces existing handlers)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(app=app))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def json_logging_config(*, app: str, level: int | str = logging.INFO) -> dict[str, Any]:
    """The same JSON lines as a `logging.config.dictConfig` dict, for frameworks that configure logging
    themselves (faust's worker takes it as `logging_config`)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter", "app": app}},
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": ["default"]},
    }

from __future__ import annotations

import asyncio
import json
from typing import Any

from riskloop_http import ValidationStatus


def _app(status: int, body: dict[str, Any]) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": json.dumps(body).encode(), "more_body": False})

    return app


def _call(middleware: ValidationStatus, path: str) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(dict(message))

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    asyncio.run(middleware({"type": "http", "path": path}, receive, send))
    return sent


def test_a_validation_400_becomes_422_with_the_same_body() -> None:
    body = {"error": "1 validation error for Input", "detail": [{"loc": ["amount"]}]}
    sent = _call(ValidationStatus(_app(400, body)), "/predict")
    assert sent[0]["status"] == 422
    assert json.loads(sent[1]["body"]) == body


def test_other_400s_and_other_routes_are_left_alone() -> None:
    assert _call(ValidationStatus(_app(400, {"error": "bad header"})), "/predict")[0]["status"] == 400
    body = {"error": "1 validation error", "detail": []}
    assert _call(ValidationStatus(_app(400, body), routes={"/recommend"}), "/predict")[0]["status"] == 400
    assert _call(ValidationStatus(_app(200, {"ok": True})), "/predict")[0]["status"] == 200

"""ASGI middleware around the BentoML app: request latency and the documented error responses."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from riskloop_pricing_api.metrics import REQUEST_SECONDS

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

API_ROUTES = frozenset({"/recommend", "/feedback"})


class RequestLatency:
    """Times every API request; other paths share one label so scanners cannot grow the label set."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = scope["path"] if scope["path"] in API_ROUTES else "other"
        status = 500
        started = time.perf_counter()

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            REQUEST_SECONDS.labels(route, str(status)).observe(time.perf_counter() - started)


class OpenApiErrors:
    """Makes /docs.json tell the truth about errors: BentoML documents 400 for every API, while invalid bodies
    here are 422 and /feedback is 503 while Redis is down, both with an `ErrorResponse` body."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/docs.json":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False) or start is None:
                return
            body = b"".join(chunks)
            if start["status"] == 200:
                body = json.dumps(documented_errors(json.loads(body))).encode()
                start["headers"] = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                start["headers"].append((b"content-length", str(len(body)).encode()))
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, rewrite)


def documented_errors(spec: dict[str, Any]) -> dict[str, Any]:
    from riskloop_pricing_api.schemas import ErrorResponse

    error_schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    components.update(error_schema.pop("$defs", {}))
    components["ErrorResponse"] = error_schema
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
    for route, extra in (("/recommend", {}), ("/feedback", {"503": "Redis unreachable: the outcome was not recorded"})):
        responses = spec.get("paths", {}).get(route, {}).get("post", {}).get("responses")
        if responses is None:
            continue
        responses.pop("400", None)
        responses["422"] = {"description": "Invalid body; `detail[].loc` names each offending field", **error}
        for status, description in extra.items():
            responses[status] = {"description": description, **error}
    return spec

"""422 for request bodies that fail validation: BentoML answers them 400, HTTP spells them 422."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class ValidationStatus:
    """ASGI middleware: a 400 whose body is BentoML's validation error (`error` and `detail[].loc` naming the
    field) is sent as 422 with the same body. Only 400 responses are buffered; `routes` limits the paths
    looked at (all when None)."""

    def __init__(self, app: App, routes: Iterable[str] | None = None) -> None:
        self.app = app
        self.routes = None if routes is None else frozenset(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.routes is not None and scope["path"] not in self.routes):
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] == 400:
                held = message
                return
            if held is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            if is_validation_error(body):
                held["status"] = 422
            await send(held)
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, rewrite)


def is_validation_error(body: bytes) -> bool:
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    return isinstance(payload, dict) and "validation error" in str(payload.get("error", ""))

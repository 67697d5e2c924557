"""HTTP glue BentoML lacks: request validation errors answered 422 (BentoML answers them 400)."""

from __future__ import annotations

from typing import Any

# starlette comes with bentoml; it is not a requirement of its own.
from starlette.types import ASGIApp, Message, Receive, Scope, Send  # pants: no-infer-dep


class ValidationErrorsAs422:
    """ASGI middleware: a 400 from BentoML means the body failed validation (its JSON names the field in
    `detail[].loc`), which HTTP spells 422 Unprocessable Content."""

    def __init__(self, app: ASGIApp, **_: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_as_422(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 400:
                message = {**message, "status": 422}
            await send(message)

        await self.app(scope, receive, send_as_422)

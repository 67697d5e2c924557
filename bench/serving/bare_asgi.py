"""A bare ASGI app answering every POST with a /predict-sized JSON body: the HTTP floor of the serving bench
(the load generator, the loopback and uvicorn, without BentoML or scoring).

    python -m uvicorn bare_asgi:app --loop uvloop --http httptools
"""

from __future__ import annotations

import json
from typing import Any

_BODY = json.dumps(
    {
        "predictions": [
            {
                "transaction_id": "t-0",
                "fraud_score": 0.01,
                "is_fraud": False,
                "model_version": "1",
                "reasons": [{"feature": f"feature_{i}", "value": 1.0, "contribution": 0.1} for i in range(3)],
                "missing_features": [],
                "degraded": False,
                "published": True,
            }
        ]
    }
).encode()
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(_BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:  # read the whole request, as a real app does
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})

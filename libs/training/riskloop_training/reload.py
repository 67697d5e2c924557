"""Telling the fraud service a new champion is live: POST {url}/admin/reload with the admin token."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from riskloop_config.settings import FraudApiSettings


@dataclass(frozen=True)
class ReloadOutcome:
    ok: bool
    url: str
    detail: str


def request_reload(settings: FraudApiSettings, *, timeout: float | None = None) -> ReloadOutcome:
    """Never raises for network or HTTP failures: the caller reports them (the promotion stands). The service
    answers once every worker serves the new model, so the default timeout allows its whole wait."""
    if timeout is None:
        timeout = settings.reload_wait_seconds + 30  # + loading the model in the worker that answers
    url = settings.url.rstrip("/") + "/admin/reload"
    request = urllib.request.Request(
        url,
        data=b"",
        method="POST",
        headers={"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return ReloadOutcome(ok=200 <= response.status < 300, url=url, detail=f"HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        return ReloadOutcome(ok=False, url=url, detail=f"HTTP {exc.code} {exc.reason}: {_error_message(exc)}")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return ReloadOutcome(ok=False, url=url, detail=f"unreachable: {reason}")


def _error_message(error: urllib.error.HTTPError) -> str:
    """The service's own words (`{"error": ...}`), or the start of whatever body came back."""
    try:
        body = error.read(4096).decode(errors="replace")
    except OSError:
        return "(no body)"
    try:
        return str(json.loads(body)["error"])
    except (ValueError, KeyError, TypeError):
        return body.strip()[:300] or "(no body)"

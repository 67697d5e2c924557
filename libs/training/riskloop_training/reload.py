"""Telling the fraud service a new champion is live: POST {url}/admin/reload with the admin token."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass

from riskloop_config.settings import FraudApiSettings


@dataclass(frozen=True)
class ReloadOutcome:
    ok: bool
    url: str
    detail: str


def request_reload(settings: FraudApiSettings, *, timeout: float = 10.0) -> ReloadOutcome:
    """Never raises for network or HTTP failures: the caller reports them (the promotion stands)."""
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
        return ReloadOutcome(ok=False, url=url, detail=f"HTTP {exc.code} {exc.reason}")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return ReloadOutcome(ok=False, url=url, detail=f"unreachable: {reason}")

"""riskloop-fraud-api: fraud scoring service: online features, XGBoost champion, hot reload."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from riskloop_config.cli import Command, run_app
from riskloop_config.settings import RiskloopSettings

SERVICE = "riskloop_fraud_api.service:FraudService"


def _serve(settings: RiskloopSettings, args: argparse.Namespace) -> int:
    # BentoML starts the workers, each building the settings again from the same environment (validated
    # here first, so a bad variable fails once, clearly, instead of in a restart loop of workers).
    import bentoml

    bentoml.serve(SERVICE, host=settings.fraud_api.host, port=settings.fraud_api.port, blocking=True)
    return 0


COMMANDS = {
    "serve": Command("serve /predict, /admin/reload, /metrics and /readyz on fraud_api.host:port", _serve),
}


def main(argv: Sequence[str] | None = None) -> int:
    return run_app("riskloop-fraud-api", __doc__ or "", COMMANDS, argv)


if __name__ == "__main__":
    raise SystemExit(main())

"""riskloop-pricing-api: dynamic pricing service: Thompson sampling over price multipliers."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from riskloop_config.cli import Command, run_app
from riskloop_config.settings import RiskloopSettings


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default: RISKLOOP_PRICING_API__HOST)")
    parser.add_argument("--port", type=int, help="port to listen on (default: RISKLOOP_PRICING_API__PORT)")


def _serve(settings: RiskloopSettings, args: argparse.Namespace) -> int:
    from riskloop_pricing import InvalidGuards, policy_from_settings

    # Checked here, once: raised in a BentoML worker it would restart the worker forever instead.
    try:
        policy_from_settings(settings)
    except InvalidGuards as exc:
        print(f"Invalid pricing configuration: {exc}", file=sys.stderr)
        return 2
    # Imported here so `config` and `--help` do not pay for importing BentoML and Feast.
    from riskloop_pricing_api.service import PricingService

    # The workers build their own settings from the same environment; these were built to fail fast here.
    PricingService.serve_http(
        host=args.host or settings.pricing_api.host,
        port=args.port or settings.pricing_api.port,
    )
    return 0


COMMANDS = {
    "serve": Command("serve POST /recommend and /feedback (BentoML) until interrupted", _serve, _serve_arguments),
}


def main(argv: Sequence[str] | None = None) -> int:
    return run_app("riskloop-pricing-api", __doc__ or "", COMMANDS, argv)


if __name__ == "__main__":
    raise SystemExit(main())

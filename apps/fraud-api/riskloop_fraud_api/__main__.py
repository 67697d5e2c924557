"""riskloop-fraud-api: fraud scoring service: online features, XGBoost champion, hot reload."""

from __future__ import annotations

from collections.abc import Sequence

from riskloop_config.cli import run_app


def main(argv: Sequence[str] | None = None) -> int:
    return run_app("riskloop-fraud-api", __doc__ or "", {}, argv)


if __name__ == "__main__":
    raise SystemExit(main())

"""riskloop-parquet-sink: parquet sink: archives raw events from Kafka to the raw-events bucket."""

from __future__ import annotations

from collections.abc import Sequence

from riskloop_config.cli import run_app


def main(argv: Sequence[str] | None = None) -> int:
    return run_app("riskloop-parquet-sink", __doc__ or "", {}, argv)


if __name__ == "__main__":
    raise SystemExit(main())

"""riskloop-stream-worker: stream worker: exact sliding-window features from Kafka into the online store."""

from __future__ import annotations

from collections.abc import Sequence

from riskloop_config.cli import run_app


def main(argv: Sequence[str] | None = None) -> int:
    return run_app("riskloop-stream-worker", __doc__ or "", {}, argv)


if __name__ == "__main__":
    raise SystemExit(main())

"""Each app's PEX, as `./pants package` builds it, runs its entry point on a bare interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Paths Pants places the packaged PEXes at inside the test sandbox (runtime_package_dependencies).
APP_PEXES = {
    "riskloop-fraud-api": "apps.fraud-api/api.pex",
    "riskloop-pricing-api": "apps.pricing-api/api.pex",
    "riskloop-stream-worker": "apps.stream-worker/worker.pex",
    "riskloop-parquet-sink": "apps.parquet-sink/sink.pex",
    "riskloop-dags": "apps.dags/dags.pex",
    "riskloop-simulator": "apps.simulator/simulator.pex",
    "riskloop-demo": "apps.demo/demo.pex",
    "riskloop-trainer": "apps.trainer/train.pex",
}


def _run(pex: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    assert Path(pex).exists(), f"{pex} was not packaged into the sandbox"  # packed layout: a directory
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("RISKLOOP_") and k != "ENVIRONMENT"}
    return subprocess.run(
        [sys.executable, pex, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**clean_env, **env},
    )


@pytest.mark.parametrize("prog,pex", sorted(APP_PEXES.items()))
def test_pex_answers_help(prog: str, pex: str) -> None:
    result = _run(pex, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {prog}")
    assert "config" in result.stdout


@pytest.mark.parametrize("prog,pex", sorted(APP_PEXES.items()))
def test_pex_rejects_a_bad_setting_with_one_clear_message(prog: str, pex: str) -> None:
    result = _run(pex, "config", RISKLOOP_KAFKA__PARTITIONS="none")
    assert result.returncode == 2
    assert "RISKLOOP_KAFKA__PARTITIONS='none' is invalid" in result.stderr
    assert "Traceback" not in result.stderr

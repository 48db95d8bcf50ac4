"""Shared fixtures: every test gets its own tracking store, nothing touches the user's ./.bench."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def isolated_store(tmp_path, monkeypatch):
    """Point the embedded MLflow store at a temporary folder and ignore any MLFLOW_TRACKING_URI."""
    monkeypatch.setenv("RNNBENCH_HOME", str(tmp_path / "store"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path / "store"


@pytest.fixture
def bench_cli(tmp_path):
    """Run ``bench`` as a user would: a separate process, returning its exit code and both streams."""
    import subprocess

    def run(*args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
        full_env = {**os.environ, **(env or {})}
        return subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True,
                              cwd=tmp_path, env=full_env, timeout=timeout)

    return run

"""What the benchmark scripts share: run one `bench run` command as a user would, then read it back.

Imported by the scripts in this folder (run as `python benchmarks/NAME.py`, so this folder is on
sys.path).
"""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_logged(command: list[str], shown: int = 1500) -> tuple[Any, float]:
    """``(MLflow run, wall seconds)`` of ``command`` (``["bench", "run", ...]``) run from the repository
    root; the benchmark stops with the command line if the run fails."""
    from mlflow.tracking import MlflowClient

    from bench.tracking import Tracker

    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "bench.cli", *command[1:]], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    print(out.stdout[-shown:], out.stderr[-1500:] if out.returncode else "", flush=True)
    if out.returncode:
        raise SystemExit(f"{' '.join(command)} failed with exit code {out.returncode}")
    run_id = re.search(r"MLflow run (\w+)", out.stdout).group(1)
    return MlflowClient(Tracker(None).uri).get_run(run_id), wall

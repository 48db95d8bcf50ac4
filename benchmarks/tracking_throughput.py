"""Benchmark: a sweep logging to a shared `mlflow server` vs to the local SQLite store, same trials.

Both sweeps run the same study definition as benchmarks/sweep_scaling.py (10-bit parity, GRU of 32
units, 3,000 updates without early stopping or pruning, learning rate searched, 2 workers), each in
a fresh RNNBENCH_HOME with the default Optuna storage there; only `--tracking-uri` differs. The server is
the lab's (a PostgreSQL backend database, `--serve-artifacts`), started on this same machine, so
its CPU time competes with the workers': on a lab the server runs elsewhere. The two are run
alternately, `--repeats` times each, and compared by their median wall time. Target (issue 19):
server <= 1.1x local. Writes results/tracking_throughput.md.

    python benchmarks/tracking_throughput.py                 # 8 trials, 2 repeats each
    python benchmarks/tracking_throughput.py --trials 4 --repeats 1
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy
import torch

from bench.core.machine import cpu_name

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sweep_scaling  # noqa: E402
from suite import write_keeping_notes  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = "postgresql://127.0.0.1:5432/test"
TARGET = 1.1


def timed_sweep(trials: int, tracking_uri: str | None) -> tuple[float, str]:
    """sweep_scaling's sweep (the same study definition), with 2 workers, to ``tracking_uri``."""
    wall, command = sweep_scaling.timed_sweep(trials, 2, ["--tracking-uri", tracking_uri] if tracking_uri else [])
    return wall, " ".join(command).replace(command[command.index("--space") + 1], "space.yaml")


@contextlib.contextmanager
def mlflow_server() -> Iterator[str]:
    """A fresh PostgreSQL database and `mlflow server` on it; its URL, both removed afterwards."""
    database = f"rnnbench_bench_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{database}"'))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as artifacts:
        server = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"postgresql://127.0.0.1:5432/{database}",
             "--serve-artifacts", "--artifacts-destination", artifacts, "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(480):
                if server.poll() is not None:
                    raise SystemExit(f"mlflow server exited with code {server.returncode}")
                with contextlib.suppress(OSError):
                    with urllib.request.urlopen(f"{url}/health", timeout=2):
                        break
                time.sleep(0.5)
            else:
                raise SystemExit("mlflow server did not answer /health within 4 minutes")
            yield url
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
            with admin.connect() as connection:
                connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "results" / "tracking_throughput.md"))
    args = parser.parse_args()

    walls: dict[str, list[float]] = {"local SQLite": [], "mlflow server": []}
    commands: dict[str, str] = {}
    with mlflow_server() as url:
        for repeat in range(args.repeats):
            for name, uri in (("local SQLite", None), ("mlflow server", url)):
                wall, commands[name] = timed_sweep(args.trials, uri)
                walls[name].append(wall)
                print(f"repeat {repeat}: {name}: {wall:.1f} s", flush=True)
    local, served = statistics.median(walls["local SQLite"]), statistics.median(walls["mlflow server"])
    ratio = served / local
    verdict = "met" if ratio <= TARGET else "NOT met"
    lines = [
        "# Sweep throughput: logging to a shared `mlflow server` vs to the local SQLite store",
        "",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores; torch {torch.__version__}. Generated by "
        f"`python benchmarks/tracking_throughput.py --trials {args.trials} --repeats {args.repeats}` on "
        f"{datetime.now(UTC):%Y-%m-%d}.",
        "Same study definition for both, each sweep in a fresh `RNNBENCH_HOME` (Optuna in its SQLite file): 10-bit "
        "parity, GRU 32 units, 3,000 updates, no early stop, no pruning, learning rate searched (TPE), 2 workers. "
        "The server: `mlflow server --serve-artifacts` on a PostgreSQL database, on this same machine (its CPU "
        "time competes with the two workers'; a lab's server runs elsewhere). Run alternately; wall time from "
        "the command's start to its end, worker start-up included.",
        "",
        "| tracking | trials | wall per sweep (s) | median (s) | trials/hour |",
        "|---|---:|---|---:|---:|",
    ]
    for name, values in walls.items():
        median = statistics.median(values)
        lines.append(f"| {name} | {args.trials} | {', '.join(f'{v:.1f}' for v in values)} | {median:.1f} | "
                     f"{3600 * args.trials / median:.0f} |")
    lines += ["", f"Server / local wall time: **{ratio:.3f}x** (target <= {TARGET}x: {verdict}).", "", "Commands:", ""]
    lines += [f"    {command}" for command in commands.values()]
    write_keeping_notes(Path(args.out), "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

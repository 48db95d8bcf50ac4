"""Shared fixtures: every test gets its own tracking store, nothing touches the user's ./.bench."""
from __future__ import annotations

import os
import shutil
import sys

import pytest


@pytest.fixture(scope="session")
def empty_mlflow_db(tmp_path_factory):
    """An MLflow SQLite store with its tables and nothing else, made once per test process: creating the
    tables (MLflow's Alembic migrations) takes seconds, which every test that logs a run would pay."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("empty-store") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture(autouse=True)
def isolated_store(request, tmp_path, monkeypatch):
    """Point the embedded MLflow store at a temporary folder (an empty store, unless the test is marked
    ``fresh_store``: then no store at all) and ignore any MLFLOW_TRACKING_URI."""
    store = tmp_path / "store"
    monkeypatch.setenv("RNNBENCH_HOME", str(store))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    if request.node.get_closest_marker("fresh_store") is None:
        store.mkdir()
        shutil.copyfile(request.getfixturevalue("empty_mlflow_db"), store / "mlflow.db")
    return store


def assert_usage_error(result, message: str) -> None:
    """What every user mistake must look like: exit 2, one line on stderr saying ``message``, no traceback."""
    assert result.returncode == 2, result.stderr
    assert message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def usage_error():
    """:func:`assert_usage_error` for tests (a fixture, since tests import no helper modules)."""
    return assert_usage_error


@pytest.fixture
def bench_cli(tmp_path):
    """Run ``bench`` as a user would: a separate process, returning its exit code and both streams."""
    import subprocess

    def run(*args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
        full_env = {**os.environ, **(env or {})}
        return subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True,
                              cwd=tmp_path, env=full_env, timeout=timeout)

    return run


@pytest.fixture
def bench_main(tmp_path, monkeypatch):
    """``bench`` called in this process (``bench.cli.main.main``): what :func:`bench_cli` returns, without the
    seconds a new process spends importing torch and MLflow. For commands that fail before training."""
    import contextlib
    import io
    import subprocess

    from bench.cli import main

    def run(*args: str) -> subprocess.CompletedProcess:
        monkeypatch.chdir(tmp_path)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
        return subprocess.CompletedProcess(["bench", *args], code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def stop_once_learnt():
    """A Lightning callback ending training at the first validation where ``metric`` reaches
    ``level``: a learning test asks whether an architecture gets there within its budget, not how far
    past it the rest of the budget takes it, so the rest need not be spent."""
    from lightning.pytorch.callbacks import Callback

    class StopOnceLearnt(Callback):
        def __init__(self, metric: str, level: float) -> None:
            self.metric, self.level = metric, level

        def on_validation_end(self, trainer, pl_module):
            value = trainer.callback_metrics.get(self.metric)
            if value is not None and float(value) >= self.level:
                trainer.should_stop = True

    return StopOnceLearnt

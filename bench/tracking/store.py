"""MLflow tracking: where runs are stored, and the run lifecycle around one training.

Default store: ``$RNNBENCH_HOME`` (default ``./.bench``) holding ``mlflow.db`` (SQLite backend)
and ``artifacts/``. ``--tracking-uri`` or ``MLFLOW_TRACKING_URI`` points anywhere else, e.g. a
``mlflow server`` at ``http://host:5000``. One MLflow experiment per task.

The store is checked *before* a run is created, so an unwritable or unreachable store is a one-line
usage error and never leaves a run behind in RUNNING state. Metrics reach MLflow through
:class:`bench.tracking.logger.MLflowMetricsLogger`, which batches them. Nothing here imports Lightning, so
reading runs back (``bench runs``) stays quick.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import sqlite3
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from bench.core.datafiles import bench_home
from bench.core.errors import UsageError

# A misconfigured server should fail in seconds, not after MLflow's default minutes of retries.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
# Checkpoints and configs are downloaded quietly: stderr is for one-line errors.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

PACKAGES = ("torch", "lightning", "mlflow", "optuna", "rnnbench")


def default_tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(bench_home() / 'mlflow.db').resolve()}"


def _sqlite_path(uri: str) -> Path | None:
    if uri.startswith("sqlite:///"):
        return Path(uri[len("sqlite:///"):])
    return None


def _check_sqlite_writable(path: Path, uri: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path) as connection:  # creates the file if needed, fails if unwritable
            connection.execute("CREATE TABLE IF NOT EXISTS rnnbench_probe (x INTEGER)")
            connection.execute("DROP TABLE rnnbench_probe")
    except (OSError, sqlite3.Error) as exc:
        raise UsageError(
            f"cannot write the tracking store {uri} ({exc}); "
            "choose a writable place with --tracking-uri or RNNBENCH_HOME"
        ) from None


@contextlib.contextmanager
def file_lock(path: Path | None) -> Iterator[None]:
    """An exclusive advisory lock on ``path`` (no-op for None or where fcntl is missing)."""
    if path is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def cpu_name() -> str:
    """The CPU model (from /proc/cpuinfo on Linux), for the machine lines of reports and benchmarks."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_name() -> str:
    """The machine in a few words (CPU model and cores, and the GPU if there is one): studies report
    the hours they took, which mean little without it."""
    text = f"{cpu_name()}, {os.cpu_count()} cores"
    try:
        import torch

        if torch.cuda.is_available():
            text += f", {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return text


def git_commit() -> str:
    """The commit of the rnnbench source that runs (``+dirty`` if it has uncommitted changes)."""
    source = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=source,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")
"""MLflow 3's UI opens an experiment on its GenAI overview (traces, token usage) unless the
experiment is marked as model training: then it opens on the runs table."""
RUNS_VIEW = "rnnbench"
"""The key of the UI view (columns, sort) every experiment gets: ``bench ui`` prints its URL."""


def ui_column(key: str) -> str:
    """``metrics.test/loss`` → the UI's column key ``metrics.`test/loss```."""
    kind, _, name = key.partition(".")
    return f"{kind}.`{name}`"


class Tracker:
    """One MLflow tracking store; opening it checks that it can be written or reached."""

    @staticmethod
    def exists(uri: str | None = None) -> bool:
        """False only for an embedded SQLite store that was never created (nothing to read yet)."""
        path = _sqlite_path(uri or default_tracking_uri())
        return path is None or path.exists()

    def __init__(self, uri: str | None = None) -> None:
        for name in ("alembic", "mlflow.store"):  # "Creating initial MLflow database tables..."
            logging.getLogger(name).setLevel(logging.WARNING)
        self.uri = uri or default_tracking_uri()
        sqlite_path = _sqlite_path(self.uri)
        if sqlite_path is not None:
            _check_sqlite_writable(sqlite_path, self.uri)
        try:
            # Two processes creating the same new SQLite store race in MLflow's schema migration
            # ("table ... already exists"); the first one in creates it, the others wait.
            with file_lock(sqlite_path.with_name(sqlite_path.name + ".lock") if sqlite_path else None):
                self.client = MlflowClient(tracking_uri=self.uri)
                self.client.search_experiments(max_results=1)
        except Exception as exc:  # MLflow raises many kinds for a bad URI or a dead server
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UsageError(
                f"cannot use tracking store {self.uri}: {first_line[:200]}; "
                "start the server or pass a different --tracking-uri"
            ) from None
        self.artifact_root = sqlite_path.parent / "artifacts" if sqlite_path else None

    def experiment_id(self, name: str) -> str:
        """The experiment called ``name``, created if missing (safe when workers race to create it),
        and marked as model training (:data:`EXPERIMENT_KIND`)."""

        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            if experiment.tags.get(EXPERIMENT_KIND[0]) is None:  # a store from before the mark
                with contextlib.suppress(MlflowException):  # a convenience for the UI: never fails a run
                    self.client.set_experiment_tag(experiment.experiment_id, *EXPERIMENT_KIND)
            return experiment.experiment_id
        location = (self.artifact_root / name).resolve().as_uri() if self.artifact_root else None
        try:
            return self.client.create_experiment(name, artifact_location=location, tags=dict([EXPERIMENT_KIND]))
        except MlflowException:
            experiment = self.client.get_experiment_by_name(name)
            if experiment is None:
                raise
            return experiment.experiment_id

    def show_in_runs_table(self, experiment: str, columns: Sequence[str], order_by: str, ascending: bool) -> None:
        """Make the UI's runs table of ``experiment`` show these run columns (``params.model.arch``,
        ``metrics.test/seq_acc``), sorted by ``order_by``: MLflow's shared view state
        (:data:`RUNS_VIEW`) that ``bench ui``'s URL opens. Columns already in it are kept (an experiment
        may hold several tasks, each with its own metric). Read, then written: parallel workers of
        different tasks may race and drop one's columns — a view, never a result."""
        experiment_id = self.experiment_id(experiment)
        tag = f"mlflow.sharedViewState.{RUNS_VIEW}"
        found = self.client.get_experiment(experiment_id).tags.get(tag)
        try:
            shown = json.loads(found)["selectedColumns"] if found else []
        except (ValueError, KeyError, TypeError):
            shown = []
        wanted = [ui_column(c) for c in columns]
        selected = shown + [c for c in wanted if c not in shown]
        if found and selected == shown:
            return
        view = {"selectedColumns": selected, "orderByKey": ui_column(order_by), "orderByAsc": ascending}
        self.client.set_experiment_tag(experiment_id, tag, json.dumps(view))

    def start_run(self, experiment: str, run_name: str | None, params: Mapping[str, Any],
                  tags: Mapping[str, str], config_yaml: str) -> str:
        """Create a RUNNING run with the resolved config as params, tags and ``config.yaml``."""

        run = self.client.create_run(self.experiment_id(experiment), run_name=run_name,
                                     tags={k: str(v) for k, v in tags.items()})
        run_id = run.info.run_id
        param_list = [Param(k, str(v)[:6000]) for k, v in params.items()]
        for i in range(0, len(param_list), 100):
            self.client.log_batch(run_id, params=param_list[i:i + 100])
        self.client.log_text(run_id, config_yaml, "config.yaml")
        return run_id

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self.client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int) -> None:
        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step) for k, v in metrics.items()]
        for i in range(0, len(batch), 1000):
            self.client.log_batch(run_id, metrics=batch[i:i + 1000])

    def end_run(self, run_id: str, status: str, reason: str | None = None) -> None:
        """Mark the run FINISHED, FAILED or KILLED (with the reason as the tag ``failure_reason``)."""
        if reason:
            self.client.set_tag(run_id, "failure_reason", reason[:5000])
        self.client.set_terminated(run_id, status)

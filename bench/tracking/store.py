"""MLflow tracking: where runs are stored, and the run lifecycle around one training.

Default store: ``$RNNBENCH_HOME`` (default ``./.bench``) holding ``mlflow.db`` (SQLite backend)
and ``artifacts/``. ``--tracking-uri`` or ``MLFLOW_TRACKING_URI`` points anywhere else, e.g. a
``mlflow server`` at ``http://host:5000``. One MLflow experiment per task. Every call after the
first contact rides out an outage of such a server (:mod:`bench.tracking.outages`).

The store is checked *before* a run is created, so an unwritable or unreachable store is a one-line
usage error and never leaves a run behind in RUNNING state (unless the caller knows it answered
before: a sweep's workers wait out an outage instead). Metrics reach MLflow through
:class:`bench.tracking.logger.MLflowMetricsLogger`, which batches them. Nothing here imports Lightning, so
reading runs back (``bench runs``) stays quick.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import re
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from importlib import metadata
from pathlib import Path

from mlflow.entities import Metric, Param, Run, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from bench.core.datafiles import bench_home
from bench.core.errors import DISK_FULL_ADVICE, UsageError, disk_full
from bench.core.machine import cpu_name, usable_cores
from bench.tracking.outages import PatientClient, TrackingUnavailable, is_outage, patience_seconds

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
    except sqlite3.DatabaseError as exc:
        if disk_full(exc) is not None:
            raise UsageError(f"disk full ({disk_full(exc)}) opening the tracking store {uri}; {DISK_FULL_ADVICE}") from None
        if isinstance(exc, sqlite3.OperationalError) and "malformed" not in str(exc):
            raise UsageError(f"cannot write the tracking store {uri} ({exc}); "
                             "choose a writable place with --tracking-uri or RNNBENCH_HOME") from None
        raise UsageError(f"the tracking store {path} is corrupt ({exc}); move it aside (mv {path} {path}.broken) "
                         "to start an empty one, or restore it from a copy") from None
    except (OSError, sqlite3.Error) as exc:
        raise UsageError(
            f"cannot write the tracking store {uri} ({exc}); "
            "choose a writable place with --tracking-uri or RNNBENCH_HOME"
        ) from None


def _has_schema(path: Path) -> bool:
    try:
        with contextlib.closing(sqlite3.connect(path)) as connection:
            return connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'").fetchone() is not None
    except sqlite3.Error:
        return True  # not ours to rebuild: MLflow says what is wrong with it


def _create_sqlite_store(path: Path) -> None:
    """Build MLflow's schema in a file beside ``path`` and move it into place when complete: a disk
    that fills, or a kill, half-way through MLflow's migrations must not leave a store that fails
    forever after ("table _alembic_tmp_... already exists")."""
    building = path.with_name(path.name + ".building")
    building.unlink(missing_ok=True)
    try:
        MlflowClient(tracking_uri=f"sqlite:///{building}").search_experiments(max_results=1)
        os.replace(building, path)
    finally:
        building.unlink(missing_ok=True)


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


def machine_name() -> str:
    """The machine in a few words (CPU model and cores, and the GPU if there is one): studies report
    the hours they took, which mean little without it."""
    text = f"{cpu_name()}, {usable_cores()} cores"
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
CREATE_TOKEN = "rnnbench.create_token"
"""The tag that makes creating a run safe to retry (:meth:`Tracker.start_run`)."""
RUNS_VIEW = "rnnbench"
"""The key of the UI view (columns, sort) every experiment gets: ``bench ui`` prints its URL."""


SHOWN_TAGS = ("study.experiment", "study.arm")
"""Run tags the runs table shows as columns (the UI groups them under "Tags") where runs carry them:
a study's experiment holds several tasks and data sets, and these say which of them, and which arm,
a run is."""


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

    def __init__(self, uri: str | None = None, *, wait_out_outages: bool = False,
                 patience: float | None = None) -> None:
        """``wait_out_outages``: the caller knows the store answered before (a sweep's worker, whose
        coordinator checked it), so an unreachable server now is an outage to wait out, not a
        mistyped URL to report at once. ``patience``: how long an outage is waited out (default
        :func:`~bench.tracking.outages.patience_seconds`)."""
        for name in ("alembic", "mlflow.store"):  # "Creating initial MLflow database tables..."
            logging.getLogger(name).setLevel(logging.WARNING)
        # A database error (locked, full) is logged by MLflow as a traceback and then raised; the
        # raised error is what is said, in one line (an outage notice, "disk full").
        logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
        self.uri = uri or default_tracking_uri()
        sqlite_path = _sqlite_path(self.uri)
        if sqlite_path is not None:
            _check_sqlite_writable(sqlite_path, self.uri)
        try:
            # Two processes creating the same new SQLite store race in MLflow's schema migration
            # ("table ... already exists"); the first one in creates it, the others wait.
            with file_lock(sqlite_path.with_name(sqlite_path.name + ".lock") if sqlite_path else None):
                if sqlite_path is not None and not _has_schema(sqlite_path):
                    _create_sqlite_store(sqlite_path)
                self.direct = MlflowClient(tracking_uri=self.uri)
                """The client that does not wait: for what may be skipped while the server is down."""
                self.patient = PatientClient(self.direct, self.uri, patience_seconds() if patience is None else patience)
                self.client = self.patient.as_client()
                (self.client if wait_out_outages else self.direct).search_experiments(max_results=1)
        except TrackingUnavailable as exc:
            raise UsageError(str(exc)) from None
        except Exception as exc:  # MLflow raises many kinds for a bad URI or a dead server
            full = disk_full(exc)
            if full is not None:
                raise UsageError(f"disk full ({full}) opening the tracking store {self.uri}; {DISK_FULL_ADVICE}") from None
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if re.search(r"error code (401|403)\b", first_line):  # a server with MLflow's basic auth on
                raise UsageError(f"tracking server {self.uri} refused the login (HTTP {first_line.split('error code ')[1][:3]}): "
                                 "set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD to a user it knows") from None
            raise UsageError(
                f"cannot use tracking store {self.uri}: {first_line[:200]}; "
                "start the server or pass a different --tracking-uri"
            ) from None
        self.artifact_root = sqlite_path.parent / "artifacts" if sqlite_path else None
        self.unclosed: dict[str, tuple[str, str | None]] = {}
        """Runs to end (status, reason) that could not be ended while the server was down:
        :meth:`close_pending` ends them once it answers."""

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

    def start_run(self, experiment: str, run_name: str | None, params: Mapping[str, object],
                  tags: Mapping[str, object], config_yaml: str) -> str:
        """Create a RUNNING run with the resolved config as params, tags and ``config.yaml``.

        Creating is not idempotent: a server that saved the run and died before answering would
        make a retry create a second run, RUNNING forever with an id nobody holds. So each new run
        carries a random token, and a retry first looks for a run with it. A run created but not
        completed (the outage outlasted the patience) is ended FAILED when the server is back."""
        experiment_id = self.experiment_id(experiment)
        token = uuid.uuid4().hex
        tried: list[bool] = []

        def create() -> Run:
            if tried:
                found = self.direct.search_runs([experiment_id], f"tags.`{CREATE_TOKEN}` = '{token}'", max_results=1)
                if found:
                    return found[0]
            tried.append(True)
            return self.direct.create_run(experiment_id, run_name=run_name,
                                          tags={**{k: str(v) for k, v in tags.items()}, CREATE_TOKEN: token})

        run_id = str(self.patient.call(create).info.run_id)
        try:
            param_list = [Param(k, str(v)[:6000]) for k, v in params.items()]
            for i in range(0, len(param_list), 100):
                self.client.log_batch(run_id, params=param_list[i:i + 100])
            self.client.log_text(run_id, config_yaml, "config.yaml")
        except TrackingUnavailable as exc:
            self.unclosed[run_id] = ("FAILED", str(exc))
            raise
        return run_id

    def set_tags(self, run_id: str, tags: Mapping[str, object]) -> None:
        self.client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int) -> None:
        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step) for k, v in metrics.items()]
        for i in range(0, len(batch), 1000):
            self.client.log_batch(run_id, metrics=batch[i:i + 1000])

    def end_run(self, run_id: str, status: str, reason: str | None = None) -> None:
        """Mark the run FINISHED, FAILED or KILLED (with the reason as the tag ``failure_reason``).
        If the server stays down past the patience, the run is kept to end by :meth:`close_pending`."""
        try:
            if reason:
                self.client.set_tag(run_id, "failure_reason", reason[:5000])
            self.client.set_terminated(run_id, status)
        except TrackingUnavailable:
            self.unclosed[run_id] = (status, reason)
            raise

    def end_later(self, run_id: str, status: str, reason: str | None = None) -> None:
        """End the run at the next :meth:`close_pending`: for callers that must not wait on the
        server (a worker holding the lock every machine claims trials under)."""
        self.unclosed[run_id] = (status, reason)

    def close_pending(self, wait: bool = False) -> None:
        """End the runs of :attr:`unclosed` that are still RUNNING. Without ``wait``, a server still
        down is left for the next call; a run that is gone or already ended is dropped."""
        client = self.client if wait else self.direct
        for run_id, (status, reason) in list(self.unclosed.items()):
            try:
                if client.get_run(run_id).info.status == "RUNNING":
                    if reason:
                        client.set_tag(run_id, "failure_reason", reason[:5000])
                    client.set_terminated(run_id, status)
            except Exception as exc:
                if is_outage(exc) or isinstance(exc, TrackingUnavailable):
                    return  # still down
            del self.unclosed[run_id]

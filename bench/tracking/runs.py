"""Runs as tables: the final metrics of one run, and every logged run of a task (MLflow → pandas)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import mlflow
import pandas as pd

from bench.core.errors import UsageError
from bench.core.registry import TASKS
from bench.tracking.store import Tracker, default_tracking_uri

if TYPE_CHECKING:
    import pandas as pd


SUMMARY_PARAMS = ["model.arch", "model.hidden_size", "model.num_layers", "task.length", "train.lr", "train.seed"]
SUMMARY_METRICS = ["num_parameters", "steps", "train_seconds"]


def metrics_frame(metrics: dict[str, float]) -> pd.DataFrame:
    """``split/metric`` (or ``split/lenN/metric``) values as a DataFrame: one row per evaluation set."""

    rows: dict[str, dict[str, float]] = {}
    for key, value in metrics.items():
        split, _, metric = key.rpartition("/")
        rows.setdefault(split, {})[metric] = value
    return pd.DataFrame.from_dict(rows, orient="index")


def search_experiment(name: str, tracking_uri: str | None, missing: str) -> tuple[Tracker, pd.DataFrame]:
    """The store's tracker and the runs of experiment ``name``, newest first (MLflow's search API);
    ``missing`` is the usage error when the store or the experiment does not exist."""

    if not Tracker.exists(tracking_uri):
        raise UsageError(missing)
    tracker = Tracker(tracking_uri)
    if tracker.client.get_experiment_by_name(name) is None:
        raise UsageError(missing)
    mlflow.set_tracking_uri(tracker.uri)
    return tracker, mlflow.search_runs(experiment_names=[name], order_by=["attributes.start_time DESC"])


def runs_table(task: str, tracking_uri: str | None = None, experiment: str | None = None,
               all_columns: bool = False) -> pd.DataFrame:
    """Logged runs of ``task`` via MLflow's search API, newest first, as a pandas DataFrame."""

    if experiment is None:
        TASKS.get(task)  # an unknown task name gets the did-you-mean error
    nothing_yet = f"no runs of task {task!r} in {tracking_uri or default_tracking_uri()} yet; start one with `bench run --task {task}`"
    _, frame = search_experiment(experiment or task, tracking_uri, nothing_yet)
    if all_columns or frame.empty:
        return frame
    columns: dict[str, object] = {
        "run_id": frame["run_id"].str[:8],
        "start": frame["start_time"].dt.strftime("%Y-%m-%d %H:%M"),
        "status": frame["status"],
    }
    if "tags.sweep.role" in frame:  # a sweep's parent, trial or seed rerun; plain `bench run` runs: run
        columns["role"] = frame["tags.sweep.role"].fillna("run")
    for param in SUMMARY_PARAMS:
        if f"params.{param}" in frame:
            columns[param.split(".", 1)[1]] = frame[f"params.{param}"]
    for column in sorted(c for c in frame if c.startswith("params.") and c[len("params."):] not in SUMMARY_PARAMS):
        if frame[column].nunique(dropna=False) > 1:  # what tells these runs apart, e.g. an --opt compared
            name = column.split(".", 2)[-1]
            columns[name if name not in columns else column[len("params."):]] = frame[column]
    for metric in SUMMARY_METRICS + sorted(c[len("metrics."):] for c in frame if c.startswith("metrics.test/")):
        if f"metrics.{metric}" in frame:
            values = frame[f"metrics.{metric}"]
            columns[metric] = values.astype("Int64") if metric in ("num_parameters", "steps") else values

    return pd.DataFrame(columns)

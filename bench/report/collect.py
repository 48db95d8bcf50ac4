"""``bench report``: read a task's runs and studies back, and turn them into comparable numbers.

A report only reads: MLflow (runs, their metric histories and saved weights) and Optuna storage
(studies); it never trains. :func:`collect` gathers everything into a :class:`TaskReport`: which runs
count is :mod:`bench.report.runs`, the tables are :mod:`bench.report.tables`;
:mod:`bench.report.figures` draws them and :mod:`bench.report.render` writes Markdown, HTML, CSV and
LaTeX.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import optuna
import pandas as pd
from mlflow.tracking import MlflowClient
from optuna.storages import BaseStorage

if TYPE_CHECKING:
    from bench.core.task import Task

from bench.core.config import RunConfig
from bench.core.errors import UsageError
from bench.core.network import build_task
from bench.core.registry import TASKS
from bench.report.runs import best_trial_instead, choose_runs, choose_study_runs, finished
from bench.report.tables import TaskReport, TaskRuns, budget_warning, length_table, main_table, pairwise_table, study_tables
from bench.tracking.logged import logged_config
from bench.tracking.optuna_store import default_storage_url, open_storage
from bench.tracking.runs import search_experiment
from bench.tracking.store import default_tracking_uri

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a bar per config.yaml otherwise


def metric_histories(client: MlflowClient, report: TaskRuns) -> pd.DataFrame:
    """Validation metric of every chosen run over update steps and seconds since the run started."""
    rows = []
    key = f"val/{report.metric}"
    for arch, runs in report.arch_runs.items():
        for _, run in runs.runs.iterrows():
            started = pd.Timestamp(run["start_time"]).timestamp() * 1000
            for m in client.get_metric_history(run["run_id"], key):
                rows.append({"task": report.name, "arch": arch, "run_id": run["run_id"],
                             "seed": run.get("params.train.seed"), "step": m.step,
                             "seconds": (m.timestamp - started) / 1000, "value": m.value})
    return pd.DataFrame(rows, columns=["task", "arch", "run_id", "seed", "step", "seconds", "value"])


def open_studies(storage_url: str | BaseStorage | None, names: set[str]) -> dict[str, optuna.Study]:
    """The named studies from Optuna storage (a URL, or a storage already open); nothing (not an
    empty new database) if there is none."""

    if isinstance(storage_url, BaseStorage):
        storage = storage_url
    else:
        url = storage_url or default_storage_url()
        if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
            return {}
        storage = open_storage(url)
    studies = {}
    for name in names:
        try:
            studies[name] = optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            pass
    return studies


def collect(task: str, archs: Sequence[str] | None = None, tracking_uri: str | None = None,
            storage: str | None = None, experiment: str | None = None, arms: Mapping[str, str] | None = None,
            label: str = "", studies: Mapping[str, optuna.Study] | None = None) -> tuple[TaskReport, MlflowClient]:
    """Read ``task``'s experiment and studies into a :class:`TaskReport` (and return the MLflow client).

    ``arms`` (a study's experiment): label → sweep study name; each label's runs are that study's
    seed reruns (:func:`choose_study_runs`) instead of an architecture's (``archs`` is then ignored),
    and ``label`` names the report. ``studies``: the sweep studies already read (a study's report
    reads them once for all its experiments); None: read from ``storage``."""

    TASKS.get(task)  # an unknown name is a did-you-mean usage error
    name = experiment or task
    uri = tracking_uri or default_tracking_uri()
    missing = f"no runs of task {task!r} in {uri}; start with `bench run --task {task}` or `bench sweep --task {task}`"
    tracker, everything = search_experiment(name, tracking_uri, missing)
    frame = finished(everything) if not everything.empty else everything
    if frame.empty:
        raise UsageError(missing)
    if arms:
        wanted = list(arms)
        chosen = {a: r for a, study in arms.items()
                  if (r := choose_study_runs(frame, a, study, everything)) is not None}
    else:
        wanted = list(archs) if archs else sorted(frame["tags.arch"].dropna().unique())
        chosen = {a: r for a in wanted if (r := choose_runs(frame, a)) is not None}
    if not chosen:
        raise UsageError(f"no finished runs of {', '.join(wanted)} on task {task!r} in {uri}")
    config = logged_config(tracker.client, next(iter(chosen.values())).runs["run_id"].iloc[0])
    metric, mode, target, words = _target(config)
    report = TaskRuns(task, name, metric, mode, target, config.plugin_options("task"), chosen, label=label,
                      target_words=words)
    for arch in wanted:
        if arch not in chosen:
            report.note(1, f"{arch}: no finished runs on this task")
    if studies is None:
        studies = open_studies(storage, {r.study for r in chosen.values() if r.study})
    for arch, runs in report.arch_runs.items():  # a row describes one run: the best trial's, beside its parameters
        best = _best_trial_number(studies.get(runs.study) if runs.study else None)
        if best is not None:
            report.arch_runs[arch] = best_trial_instead(runs, frame, best)
    main = main_table(report, studies)
    unequal = budget_warning(task, {a: r.values("metrics.num_parameters") for a, r in chosen.items()})
    if unequal:
        report.warnings.append(unequal)
        report.note(1, unequal)
    pairwise, curves, lengths = pairwise_table(report), metric_histories(tracker.client, report), length_table(report)
    importance, trials = study_tables(report, studies)
    return TaskReport.of(report, main=main, pairwise=pairwise, curves=curves, lengths=lengths, importance=importance,
                         trials=trials), tracker.client


def _best_trial_number(study: optuna.Study | None) -> int | None:
    try:
        return int(study.best_trial.number) if study is not None else None
    except ValueError:  # no complete trial
        return None


def _target(config: RunConfig) -> tuple[str, str, float, str]:
    """The task's target metric and direction, from the task built as the run built it (class
    defaults if its data file is gone)."""

    task: Task | type[Task]
    try:
        task = build_task(config)
    except Exception:
        task = TASKS.get(config.task.name)
    return task.target_metric, task.target_mode, float(task.target_value), task.target_words

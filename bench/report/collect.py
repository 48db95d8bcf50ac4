"""``bench report``: read a task's runs and studies back, and turn them into comparable numbers.

A report only reads: MLflow (runs, their metric histories and saved weights) and Optuna storage
(studies); it never trains. This module gathers everything into pandas DataFrames
(:class:`TaskReport`); :mod:`bench.report.figures` draws them and :mod:`bench.report.render` writes
Markdown, HTML, CSV and LaTeX.

Which runs are an architecture's "seeds" (the sample every statistic is over):

1. the seed reruns of a sweep (``sweep.role = seed``): the best configuration of one Optuna study
   rerun with seeds 0..N-1 — the fair comparison, every architecture tuned with the same budget;
   with several such studies, the one with the most finished reruns (then the newest);
2. otherwise ``bench run`` runs (no ``sweep.role`` tag): the largest group whose configs are
   identical apart from the seed (and threads/device), newest first on ties;
3. otherwise the best trial of a sweep alone (n = 1, no interval).

Unfinished runs (FAILED, KILLED, RUNNING) and pruned trials are never counted.
"""
from __future__ import annotations

import dataclasses
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from mlflow.tracking import MlflowClient

if TYPE_CHECKING:
    from bench.core.task import Task

import optuna

from bench.core.config import RunConfig, load_yaml
from bench.core.errors import UsageError
from bench.core.network import build_task
from bench.core.registry import TASKS
from bench.core.resolve import resolve
from bench.report import stats
from bench.report.published import published_note
from bench.report.verdicts import judge
from bench.tracking.optuna_store import default_storage_url, open_storage
from bench.tracking.runs import search_experiment
from bench.tracking.store import default_tracking_uri

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a bar per config.yaml otherwise
IGNORED_PARAMS = {"params.train.seed", "params.train.threads", "params.train.device"}


@dataclasses.dataclass
class ArchRuns:
    """The runs an architecture is judged on, and a sentence saying where they come from."""

    arch: str
    runs: pd.DataFrame
    source: str
    study: str | None = None

    def values(self, column: str) -> list[float]:
        return [float(v) for v in self.runs.get(column, pd.Series(dtype=float)).dropna()]


@dataclasses.dataclass
class TaskReport:
    """Everything known about one task: the chosen runs and the tables built from them."""

    task: str
    experiment: str
    metric: str
    mode: str
    target_value: float
    options: dict[str, Any]
    arch_runs: dict[str, ArchRuns]
    main: pd.DataFrame
    pairwise: pd.DataFrame
    curves: pd.DataFrame
    lengths: pd.DataFrame
    importance: pd.DataFrame
    trials: pd.DataFrame
    notes: dict[int, list[str]] = dataclasses.field(default_factory=dict)
    """Sentences to print in a section (by number): what could not be computed, and why."""
    warnings: list[str] = dataclasses.field(default_factory=list)
    """What makes the comparison unfair (also printed on stderr by ``bench report``)."""
    label: str = ""
    """The name headings, tables and figures use (a study's experiment name); default the task."""

    @property
    def name(self) -> str:
        return self.label or self.task

    def note(self, section: int, text: str) -> None:
        self.notes.setdefault(section, []).append(text)

    @property
    def test_key(self) -> str:
        return f"metrics.test/{self.metric}"

    def better(self, diff: float) -> bool:
        return diff > 0 if self.mode == "max" else diff < 0


def _finished(frame: pd.DataFrame) -> pd.DataFrame:
    keep = frame["status"] == "FINISHED"
    if "tags.sweep.role" in frame:
        keep &= frame["tags.sweep.role"].fillna("") != "parent"
    if "tags.stopped_by" in frame:
        keep &= frame["tags.stopped_by"].isna()
    return frame[keep]


def choose_runs(frame: pd.DataFrame, arch: str) -> ArchRuns | None:
    """An architecture's seed runs by the rules in the module docstring; None if it has none."""
    mine = frame[frame.get("tags.arch", pd.Series(index=frame.index, dtype=object)) == arch]
    if mine.empty:
        return None
    role = mine["tags.sweep.role"] if "tags.sweep.role" in mine else pd.Series(None, index=mine.index, dtype=object)
    seeds = mine[role == "seed"]
    if not seeds.empty:
        groups = seeds.groupby("tags.sweep.study")
        study = max(groups.groups, key=lambda s: (len(groups.get_group(s)), groups.get_group(s)["start_time"].max()))
        chosen = groups.get_group(study)
        return ArchRuns(arch, chosen, f"{len(chosen)} seed reruns of the best trial of sweep study `{study}`", study)
    plain = mine[role.isna()]
    if not plain.empty:
        columns = sorted(c for c in plain if c.startswith("params.") and c not in IGNORED_PARAMS)
        keys = plain[columns].map(str).agg("|".join, axis=1)
        best_key = max(set(keys), key=lambda k: ((keys == k).sum(), plain.loc[keys == k, "start_time"].max()))
        chosen = plain[keys == best_key]
        others = len(plain) - len(chosen)
        extra = f" ({others} other `bench run` run(s) with other configs left out)" if others else ""
        return ArchRuns(arch, chosen, f"{len(chosen)} `bench run` runs with identical configs apart from the seed{extra}")
    trials = mine[role == "trial"]
    if trials.empty:
        return None
    study = trials["tags.sweep.study"].iloc[0]
    return ArchRuns(arch, trials.iloc[[0]], f"no seed reruns: the newest trial of study `{study}` alone (n = 1)", study)


def _of_study(frame: pd.DataFrame, study: str, role: str) -> pd.DataFrame:
    tags = frame.get("tags.sweep.study", pd.Series(index=frame.index, dtype=object))
    roles = frame.get("tags.sweep.role", pd.Series(index=frame.index, dtype=object))
    return frame[(tags == study) & (roles == role)]


def choose_study_runs(frame: pd.DataFrame, label: str, study: str, everything: pd.DataFrame | None = None) -> ArchRuns | None:
    """A study arm's runs: the seed reruns of its sweep study ``study``, else its newest trial alone.
    ``everything`` (unfinished runs included) lets the source say how many seed runs failed: an arm
    judged on the seeds that survived would flatter an unstable architecture."""
    seeds, trials = _of_study(frame, study, "seed"), _of_study(frame, study, "trial")
    if not seeds.empty:
        failed = len(_of_study(everything, study, "seed")) - len(seeds) if everything is not None else 0
        lost = f" ({failed} other seed run(s) failed or were stopped and are not counted)" if failed > 0 else ""
        return ArchRuns(label, seeds, f"{len(seeds)} seed reruns of the best trial of sweep study `{study}`{lost}", study)
    if not trials.empty:
        return ArchRuns(label, trials.iloc[[0]], f"no seed reruns: the newest trial of study `{study}` alone (n = 1)",
                        study)
    return None


def load_run_config(client: MlflowClient, run_id: str) -> RunConfig:
    """The resolved RunConfig a run logged (artifact ``config.yaml``)."""

    with tempfile.TemporaryDirectory() as folder:
        return resolve(load_yaml(client.download_artifacts(run_id, "config.yaml", folder)))


def _fmt(value: float, digits: int = 4) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.{digits}g}"


def interval_text(interval: stats.Interval) -> str:
    if interval.n == 0:
        return "—"
    if interval.n == 1 or not math.isfinite(interval.half_width):
        return f"{_fmt(interval.mean)} (n=1)"
    return f"{_fmt(interval.mean)} ± {_fmt(interval.half_width, 2)} (n={interval.n})"


def _hyperparameters(runs: ArchRuns, studies: dict[str, Any]) -> str:
    study = studies.get(runs.study) if runs.study else None
    if study is not None:
        try:
            best = study.best_trial
            from bench.tracking.optuna_store import short_value

            return ", ".join(f"{k.split('.', 1)[1]}={short_value(v)}" for k, v in sorted(best.params.items())) + \
                f" (trial {best.number} of {len(study.trials)})"
        except ValueError:
            pass
    row = runs.runs.iloc[0]
    keys = ("train.lr", "model.hidden_size", "train.optimizer", "train.clip_grad_norm")
    fixed = ", ".join(f"{k.split('.', 1)[1]}={row[f'params.{k}']}" for k in keys if f"params.{k}" in row)
    return f"{fixed} (not tuned)"


def main_table(report: TaskReport, studies: dict[str, Any]) -> pd.DataFrame:
    """One row per architecture: size, test metric with its CI, how tuned, time, steps to target."""
    rows = []
    for arch, runs in report.arch_runs.items():
        interval = stats.t_interval(runs.values(report.test_key))
        seconds = runs.values("metrics.train_seconds")
        reached = runs.values("metrics.steps_to_target")
        params = sorted({int(v) for v in runs.values("metrics.num_parameters")})
        rows.append({
            "arch": arch,
            "parameters": params[0] if len(params) == 1 else (f"{params[0]}–{params[-1]}" if params else None),
            f"test {report.metric}": interval_text(interval),
            "mean": interval.mean, "ci_low": interval.low, "ci_high": interval.high, "sd": interval.sd, "n": interval.n,
            "published": published_note(report.task, report.options, arch, report.metric,
                                        stats.mean(runs.values("metrics.test/loss"))),
            "hyperparameters": _hyperparameters(runs, studies),
            "seconds per run": f"{stats.mean(seconds):.1f}" + (f" ± {math.sqrt(stats.sample_variance(seconds)):.1f}"
                                                              if len(seconds) > 1 else "") if seconds else "—",
            "steps to target": (f"{len(reached)}/{len(runs.runs)} reached, median {int(pd.Series(reached).median())}"
                                if reached else f"0/{len(runs.runs)} reached"),
            "runs": runs.source,
        })
    return pd.DataFrame(rows)


BUDGET_TOLERANCE = 0.10
"""Parameter counts further apart than this (relative to the smallest) make a comparison unequal."""


def budget_warning(task: str, parameters: dict[str, list[float]]) -> str | None:
    """A warning when the compared architectures' parameter counts differ by more than 10%: a
    bigger model winning says little about the architecture (Chung et al. 2014 and Collins et al.
    2017 compared at equal budgets). None when they are within 10% or fewer than two are known."""
    sizes = {arch: int(min(values)) for arch, values in parameters.items() if values}
    if len(sizes) < 2:
        return None
    smallest, largest = min(sizes.values()), max(sizes.values())
    if largest <= (1 + BUDGET_TOLERANCE) * smallest:
        return None
    listed = ", ".join(f"{arch} {count:,}" for arch, count in sorted(sizes.items(), key=lambda item: item[1]))
    return (f"{task}: the compared architectures' parameter counts differ by more than "
            f"{BUDGET_TOLERANCE:.0%} ({listed}); compare at an equal budget, e.g. `--params {smallest}`")


def pairwise_table(report: TaskReport) -> pd.DataFrame:
    """Each pair of architectures: difference of mean test metric (A − B) with Welch CI, t, p and
    the exact permutation p, and the verdict in words — decided by :func:`bench.report.verdicts.judge`
    (the one place verdicts come from), with the seeds per architecture that would detect the
    observed difference with 80% power when it is not significant."""
    rows = []
    archs = list(report.arch_runs)
    mode: Literal["min", "max"] = "max" if report.mode == "max" else "min"
    for i, a in enumerate(archs):
        for b in archs[i + 1:]:
            values_a, values_b = report.arch_runs[a].values(report.test_key), report.arch_runs[b].values(report.test_key)
            c = stats.compare(values_a, values_b)
            judged = judge(a, values_a, b, values_b, mode)
            winner = {"reproduced": a, "contradicted": b}.get(judged.outcome, "")
            if math.isnan(c.p):
                verdict = "cannot test: needs at least 2 seeds each"
            elif winner:
                verdict = f"{winner} better (p = {c.p:.3g})"
            else:
                need = judged.seeds_needed
                more = ("" if need is None or math.isnan(need) else "; no difference at all was observed" if math.isinf(need)
                        else f"; ≈ {need:.0f} seeds each would detect this difference with 80% power")
                verdict = f"not significant (p = {c.p:.3g}): no evidence either is better{more}"
            rows.append({"task": report.name, "A": a, "B": b, "n A": c.n_a, "n B": c.n_b, "A − B": c.diff,
                         "ci_low": c.low, "ci_high": c.high, "welch t": c.t, "df": c.df, "p (Welch)": c.p,
                         "p (permutation)": c.p_permutation, "verdict": verdict, "winner": winner,
                         "seeds for 80% power": judged.seeds_needed})
    return pd.DataFrame(rows)


def win_matrix(reports: Sequence[TaskReport]) -> pd.DataFrame:
    """Row architecture vs column architecture: "wins–ties–losses" over the tasks where both ran;
    a win is a significant difference (Welch p < 0.05) in the row's favour, anything else a tie."""
    archs = list(dict.fromkeys(a for r in reports for a in r.arch_runs))
    counts = {(a, b): [0, 0, 0] for a in archs for b in archs}
    for report in reports:
        for _, row in report.pairwise.iterrows():
            a, b, winner = row["A"], row["B"], row["winner"]
            if math.isnan(row["p (Welch)"]):
                continue
            if not winner:
                counts[a, b][1] += 1
                counts[b, a][1] += 1
            else:
                loser = b if winner == a else a
                counts[winner, loser][0] += 1
                counts[loser, winner][2] += 1
    table = pd.DataFrame(index=pd.Index(archs, name="row vs column"), columns=archs, dtype=object)
    for a in archs:
        for b in archs:
            table.loc[a, b] = "—" if a == b else "–".join(str(v) for v in counts[a, b])
    return table


def metric_histories(client: MlflowClient, report: TaskReport) -> pd.DataFrame:
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


def length_table(report: TaskReport) -> pd.DataFrame:
    """Test metric at the training length and at every longer evaluation length (``test/lenN/…``)."""
    rows = []
    suffix = f"/{report.metric}"
    for arch, runs in report.arch_runs.items():
        for _, run in runs.runs.iterrows():
            try:
                trained = int(float(run.get("params.task.length")))
            except (TypeError, ValueError):
                continue
            for column in run.index:
                if not (column.startswith("metrics.test/") and column.endswith(suffix)) or pd.isna(run[column]):
                    continue
                middle = column[len("metrics.test/"):-len(suffix)]
                if middle and not middle.startswith("len"):
                    continue
                length = int(middle[3:]) if middle else trained
                rows.append({"task": report.name, "arch": arch, "run_id": run["run_id"], "length": length,
                             "trained_length": trained, "value": float(run[column])})
    table = pd.DataFrame(rows, columns=["task", "arch", "run_id", "length", "trained_length", "value"])
    return table if table["length"].nunique() > 1 else table.iloc[0:0]


def study_tables(report: TaskReport, studies: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """fANOVA importance of each searched parameter (Greff et al. 2017) and every trial's params and
    objective, per architecture's search study."""

    importance_rows, trial_rows = [], []
    for arch, runs in report.arch_runs.items():
        study = studies.get(runs.study) if runs.study else None
        if study is None:
            continue
        complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        for trial in study.get_trials(deepcopy=False):
            for name, value in trial.params.items():
                trial_rows.append({"task": report.name, "arch": arch, "trial": trial.number, "state": trial.state.name,
                                   "param": name, "param_value": value, "value": trial.value})
        try:
            evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
            importances = optuna.importance.get_param_importances(study, evaluator=evaluator)
            note = ""
        except (ValueError, RuntimeError) as exc:
            importances, note = {}, str(exc).splitlines()[0][:200]
        if not importances:
            report.note(5, f"{arch}: no fANOVA importances ({note or 'too few complete trials'}; "
                                f"{len(complete)} complete)")
        for name, value in importances.items():
            importance_rows.append({"task": report.name, "arch": arch, "study": runs.study, "param": name,
                                    "importance": float(value), "complete_trials": len(complete)})
    return (pd.DataFrame(importance_rows, columns=["task", "arch", "study", "param", "importance", "complete_trials"]),
            pd.DataFrame(trial_rows, columns=["task", "arch", "trial", "state", "param", "param_value", "value"]))


def open_studies(storage_url: str | None, names: set[str]) -> dict[str, Any]:
    """The named studies from Optuna storage; nothing (not an empty new database) if there is none."""


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
            label: str = "") -> tuple[TaskReport, Any]:
    """Read ``task``'s experiment and studies into a :class:`TaskReport` (and return the MLflow client).

    ``arms`` (a study's experiment): label → sweep study name; each label's runs are that study's
    seed reruns (:func:`choose_study_runs`) instead of an architecture's (``archs`` is then ignored),
    and ``label`` names the report."""

    TASKS.get(task)  # an unknown name is a did-you-mean usage error
    name = experiment or task
    uri = tracking_uri or default_tracking_uri()
    missing = f"no runs of task {task!r} in {uri}; start with `bench run --task {task}` or `bench sweep --task {task}`"
    tracker, everything = search_experiment(name, tracking_uri, missing)
    frame = _finished(everything) if not everything.empty else everything
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
    config = load_run_config(tracker.client, next(iter(chosen.values())).runs["run_id"].iloc[0])
    metric, mode, target = _target(config)
    empty = pd.DataFrame()
    report = TaskReport(task, name, metric, mode, target, dict(config.task.options), chosen, main=empty,
                        pairwise=empty, curves=empty, lengths=empty, importance=empty, trials=empty, label=label)
    for arch in wanted:
        if arch not in chosen:
            report.note(1, f"{arch}: no finished runs on this task")
    studies = open_studies(storage, {r.study for r in chosen.values() if r.study})
    report.main = main_table(report, studies)
    unequal = budget_warning(task, {a: r.values("metrics.num_parameters") for a, r in chosen.items()})
    if unequal:
        report.warnings.append(unequal)
        report.note(1, unequal)
    report.pairwise = pairwise_table(report)
    report.curves = metric_histories(tracker.client, report)
    report.lengths = length_table(report)
    report.importance, report.trials = study_tables(report, studies)
    return report, tracker.client


def _target(config: RunConfig) -> tuple[str, str, float]:
    """The task's target metric and direction, from the task built as the run built it (class
    defaults if its data file is gone)."""

    task: Task | type[Task]
    try:
        task = build_task(config)
    except Exception:
        task = TASKS.get(config.task.name)
    return task.target_metric, task.target_mode, float(task.target_value)

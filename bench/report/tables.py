"""The tables of a report, built from the chosen runs of each architecture (:class:`TaskReport`):
the main table, pairwise comparisons with verdicts, the win matrix, length generalisation and the
search studies' importances. Pure functions of DataFrames and Optuna studies: nothing here reads
MLflow (:mod:`bench.report.collect` does)."""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Literal

import optuna
import pandas as pd

from bench.core.registry import TASKS
from bench.report import stats
from bench.report.runs import ArchRuns


@dataclasses.dataclass
class TaskRuns:
    """One task's chosen runs as read back (or one experiment of a study's), and what its task is
    scored on: what every table is built from."""

    task: str
    experiment: str
    metric: str
    mode: str
    target_value: float
    options: dict[str, object]
    arch_runs: dict[str, ArchRuns]
    notes: dict[int, list[str]] = dataclasses.field(default_factory=dict)
    """Sentences to print in a section (by number): what could not be computed, and why."""
    warnings: list[str] = dataclasses.field(default_factory=list)
    """What makes the comparison unfair (also printed on stderr by ``bench report``)."""
    target_words: str = ""
    """What the target means (the task's ``target_words``)."""
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


@dataclasses.dataclass(kw_only=True)
class TaskReport(TaskRuns):
    """A task's runs with the tables built from them, all at once (:func:`bench.report.collect.collect`)."""

    main: pd.DataFrame
    pairwise: pd.DataFrame
    curves: pd.DataFrame
    lengths: pd.DataFrame
    importance: pd.DataFrame
    trials: pd.DataFrame

    @classmethod
    def of(cls, runs: TaskRuns, **tables: pd.DataFrame) -> TaskReport:
        return cls(**{f.name: getattr(runs, f.name) for f in dataclasses.fields(TaskRuns)}, **tables)


def _fmt(value: float, digits: int = 4) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.{digits}g}"


def interval_text(interval: stats.Interval) -> str:
    if interval.n == 0:
        return "—"
    if interval.n == 1 or not math.isfinite(interval.half_width):
        return f"{_fmt(interval.mean)} (n=1)"
    return f"{_fmt(interval.mean)} ± {_fmt(interval.half_width, 2)} (n={interval.n})"


def _hyperparameters(runs: ArchRuns, studies: Mapping[str, optuna.Study]) -> str:
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


def _registered(runs: ArchRuns, arm: str) -> str:
    """The registered architecture an arm ran (a study's arm "tanh" runs ``vanilla``): published
    numbers are filed under that name."""
    names = runs.runs.get("params.model.arch", pd.Series(dtype=object)).dropna().unique()
    return str(names[0]) if len(names) == 1 else arm


def published_note(task: str, options: Mapping[str, object], arch: str, test_loss: float | None = None) -> str:
    """One cell of the main table's "published" column: what the task says is published for ``arch``
    in this setting (:meth:`bench.core.task.Task.published`), "—" when nothing comparable is known."""
    return "; ".join(TASKS.get(task).published(options, arch, test_loss)) or "—"


def main_table(report: TaskRuns, studies: Mapping[str, optuna.Study]) -> pd.DataFrame:
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
            "published": published_note(report.task, report.options, _registered(runs, arch),
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


def pairwise_table(report: TaskRuns) -> pd.DataFrame:
    """Each pair of architectures: difference of mean test metric (A − B) with Welch CI, t, p and
    the exact permutation p, and the result in words. A task report declares no margin, so it says
    only whether a difference is significant; "no difference" needs a margin and is a study's verdict
    (:mod:`bench.report.verdicts`). No "seeds for power at the observed effect": that figure says
    nothing when the observed effect is near zero (Hoenig & Heisey 2001)."""
    rows = []
    archs = list(report.arch_runs)
    mode: Literal["min", "max"] = "max" if report.mode == "max" else "min"
    for i, a in enumerate(archs):
        for b in archs[i + 1:]:
            values_a, values_b = report.arch_runs[a].values(report.test_key), report.arch_runs[b].values(report.test_key)
            c = stats.compare(values_a, values_b)
            sign = 1.0 if mode == "max" else -1.0
            winner = (a if sign * c.diff > 0 else b) if c.significant() else ""
            if math.isnan(c.p):
                verdict = "cannot test: needs at least 2 seeds each"
            elif winner:
                verdict = f"{winner} better (p = {c.p:.3g})"
            else:
                verdict = (f"not significant (p = {c.p:.3g}; n = {c.n_a} vs {c.n_b}): no evidence either is better, "
                           "which is not evidence that they are alike")
            rows.append({"task": report.name, "A": a, "B": b, "n A": c.n_a, "n B": c.n_b, "A − B": c.diff,
                         "ci_low": c.low, "ci_high": c.high, "welch t": c.t, "df": c.df, "p (Welch)": c.p,
                         "p (permutation)": c.p_permutation, "verdict": verdict, "winner": winner})
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


def length_table(report: TaskRuns) -> pd.DataFrame:
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


IMPORTANCE_MIN_TRIALS = 10
"""Fewest complete trials an architecture's importances are shown from. fANOVA fits a random forest
to the trials; from one trial every parameter gets an equal share and from a handful the ranking
changes with the forest's seed, so a number shown would read as a finding it is not."""


def study_tables(report: TaskRuns, studies: Mapping[str, optuna.Study]) -> tuple[pd.DataFrame, pd.DataFrame]:
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
        if len(complete) < IMPORTANCE_MIN_TRIALS:
            report.note(5, f"{arch}: no fANOVA importances from {len(complete)} complete trial(s): too few to rank "
                           f"parameters (shown from {IMPORTANCE_MIN_TRIALS})")
            continue
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



"""Every claim of a study judged from its collected experiments, by one path: ``bench study run``
between its rounds of seeds and ``bench study report`` call the same :func:`judge_all`.

An arm's values are by seed (:func:`arm_values`), one run per seed (:mod:`bench.report.runs`), so
that the looks of the sequential design (:mod:`bench.report.sequential`) replay the seeds in the
order they were run, whichever round ran them. For a ``success`` claim a value is 1 where the
seed's metric meets the task's target, else 0.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import random
from collections.abc import Mapping, Sequence
from typing import Literal

import optuna
import pandas as pd

from bench.core.metrics import reaches
from bench.core.study import (
    Beats,
    Claim,
    ClosesGap,
    Comparison,
    Equivalent,
    MostImportant,
    NoConsistentWinner,
    Scale,
    Study,
)
from bench.report.sequential import Design
from bench.report.tables import TaskReport
from bench.report.verdicts import (
    ClaimVerdict,
    Values,
    judge_beats,
    judge_closes_gap,
    judge_equivalent,
    judge_most_important,
    judge_no_consistent_winner,
)

Mode = Literal["min", "max"]
FANOVA_REFITS = 20
NOT_RUN = "not run at this scale"


def design_of(scale: Scale) -> Design:
    """The planned looks of a scale: its first seeds, rounds of ``seed_step``, its cap. A scale without
    seed reruns (a study of tuning trials alone) has no comparison to judge; it gets the smallest design."""
    return Design(max(scale.seeds, 2), max(scale.cap, 2), scale.seed_step)


def metric_mode(metric: str, report: TaskReport) -> Mode:
    """Whether lower or higher is better for ``metric``: the task's own direction for its target
    metric (at any length), higher for accuracies, lower for every loss-like metric."""
    last = metric.rsplit("/", 1)[-1]
    if last == report.metric:
        return "max" if report.mode == "max" else "min"
    return "max" if "acc" in last else "min"


def claim_metric(claim_metric: str, report: TaskReport) -> str:
    return claim_metric or f"test/{report.metric}"


def arm_values(report: TaskReport | str, arm: str, metric: str, success: bool = False,
               success_at: float | None = None) -> dict[int, float] | str:
    """An arm's values of ``metric`` by seed, or why there are none (``report`` is that why when the
    experiment has no report). ``success``: 1.0 where the value reaches ``success_at`` (default: the
    task's target, on its target metric), else 0.0."""
    if isinstance(report, str):
        return report
    if arm not in report.arch_runs:
        return f"no finished runs of {arm}"
    key = claim_metric(metric, report)
    runs = report.arch_runs[arm].runs
    column = f"metrics.{key}"
    if column not in runs or "params.train.seed" not in runs:
        return f"{key} not logged by these runs"
    found = {int(seed): float(value) for seed, value in zip(runs["params.train.seed"], runs[column])
             if pd.notna(value) and pd.notna(seed)}
    if not found:
        return f"{key} not logged by these runs"
    if success:
        if success_at is None and key.rsplit("/", 1)[-1] != report.metric:
            return f"{key} is not the task's target metric ({report.metric}): declare the claim's success_at"
        goal = report.target_value if success_at is None else success_at
        better = metric_mode(key, report) == "max"
        return {seed: float(v >= goal if better else v <= goal) for seed, v in found.items()}
    return found


def neither_learned(report: TaskReport, arms: Sequence[str]) -> str | None:
    """Why ``arms`` did not learn the task in ``report`` — no seed of either reached its target, in
    validation during training or on test at the end — or None if one did (or the runs do not say).
    Runs logged before ``steps_to_target`` was counted without early stopping say it by their test
    score alone."""
    chosen = [report.arch_runs[arm] for arm in arms if arm in report.arch_runs]
    if len(chosen) < len(arms) or any("metrics.steps" not in runs.runs for runs in chosen):
        return None
    if any(runs.values("metrics.steps_to_target") for runs in chosen):
        return None
    tested = [v for runs in chosen for v in runs.values(f"metrics.test/{report.metric}")]
    if any(reaches(v, report.target_value, report.mode) for v in tested):
        return None
    reasons = [str(r) for runs in chosen for r in runs.runs.get("tags.stop_reason", pd.Series(dtype=object)).dropna()]
    if any(r.startswith("target reached") for r in reasons):  # runs logged before steps_to_target counted these
        return None
    relation = "≤" if report.mode == "min" else "≥"
    return f"no seed of either reached the task's target ({report.metric} {relation} {report.target_value:g})"


def importance_fits(study: optuna.Study, refits: int = FANOVA_REFITS) -> list[dict[str, float]] | None:
    """fANOVA importances of ``study``'s searched parameters, refitted on ``refits`` bootstrap
    resamples of its complete trials (seeded): how stable the ranking is. None with under 4 trials."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 4:
        return None
    rng = random.Random(0)
    fits = []
    for round_ in range(refits):
        sample = optuna.create_study(direction=study.direction)
        for trial in (rng.choice(complete) for _ in complete):
            sample.add_trial(optuna.trial.create_trial(params=trial.params, distributions=trial.distributions,
                                                       value=trial.value))
        try:
            evaluator = optuna.importance.FanovaImportanceEvaluator(seed=round_)
            fits.append({k: float(v) for k, v in optuna.importance.get_param_importances(sample, evaluator=evaluator).items()})
        except (ValueError, RuntimeError):  # a resample with one distinct value per parameter
            continue
    return fits or None


@dataclasses.dataclass(frozen=True)
class Evidence:
    """What every claim of a study is judged from, read once: the collected experiments (by name),
    the sweep studies (by name), the planned looks, and the experiments the scale runs that have no
    finished runs yet (the others absent from ``reports`` were not run at this scale)."""

    reports: Mapping[str, TaskReport]
    studies: Mapping[str, optuna.Study]
    design: Design
    missing: Sequence[str] = ()

    def report_of(self, name: str) -> TaskReport | str:
        return self.reports.get(name) or ("no finished runs" if name in self.missing else NOT_RUN)

    def margins(self, claim: Comparison) -> dict[str, float]:
        assert claim.margin is not None  # Study.problems() requires one on every comparison
        return {name: claim.margin.of(name) for name in claim.experiments}

    def modes(self, claim: Comparison) -> dict[str, Mode]:
        """Per experiment, whether lower or higher is better for the claim's metric (0/1 success
        values: higher, whatever the metric's direction)."""
        if getattr(claim, "test", "welch") == "success":
            return dict.fromkeys(claim.experiments, "max")
        return {name: metric_mode(claim_metric(claim.metric, self.reports[name]), self.reports[name])
                if name in self.reports else "min" for name in claim.experiments}

    def pairs(self, claim: Beats | NoConsistentWinner | Equivalent) -> dict[str, tuple[Values, Values] | str]:
        """Per experiment, the two arms' values by seed, or why there are none."""
        assert claim.pair is not None
        success = claim.test == "success"
        found: dict[str, tuple[Values, Values] | str] = {}
        for name in claim.experiments:
            first, second = (arm_values(self.report_of(name), arm, claim.metric, success, claim.success_at)
                             for arm in claim.pair)
            found[name] = first if isinstance(first, str) else second if isinstance(second, str) else (first, second)
        return found


@functools.singledispatch
def judge(claim: object, evidence: Evidence) -> ClaimVerdict:
    """The verdict on one claim: each kind of claim has its judge, registered below (a new kind
    registers its own with ``@judge.register``)."""
    raise TypeError(f"no judge for claims of kind {type(claim).__name__}: register one with @judge.register")


@judge.register
def _beats(claim: Beats, evidence: Evidence) -> ClaimVerdict:
    return judge_beats(claim.statement(), claim.better, claim.worse, evidence.pairs(claim), evidence.modes(claim),
                       evidence.design, evidence.margins(claim), claim.test)


@judge.register
def _no_consistent_winner(claim: NoConsistentWinner, evidence: Evidence) -> ClaimVerdict:
    return judge_no_consistent_winner(claim.statement(), claim.a, claim.b, evidence.pairs(claim), evidence.modes(claim),
                                      evidence.design, evidence.margins(claim), claim.test)


@judge.register
def _equivalent(claim: Equivalent, evidence: Evidence) -> ClaimVerdict:
    reports = evidence.reports
    unlearned = {name: why for name in claim.experiments if name in reports
                 if (why := neither_learned(reports[name], (claim.a, claim.b)))}
    return judge_equivalent(claim.statement(), claim.a, claim.b, evidence.pairs(claim), evidence.modes(claim),
                            evidence.design, evidence.margins(claim), unlearned, claim.test)


@judge.register
def _closes_gap(claim: ClosesGap, evidence: Evidence) -> ClaimVerdict:
    triples: dict[str, tuple[Values, Values, Values] | str] = {}
    for name in claim.experiments:
        found = [arm_values(evidence.report_of(name), arm, claim.metric) for arm in claim.labels]
        reasons = [f for f in found if isinstance(f, str)]
        values = [f for f in found if not isinstance(f, str)]
        triples[name] = reasons[0] if reasons else (values[0], values[1], values[2])
    return judge_closes_gap(claim.statement(), claim.arm, claim.baseline, claim.target, claim.fraction, triples,
                            evidence.modes(claim), evidence.design, evidence.margins(claim))


@judge.register
def _most_important(claim: MostImportant, evidence: Evidence) -> ClaimVerdict:
    rankings: dict[str, list[dict[str, float]] | str] = {}
    for name in claim.experiments:
        report = evidence.reports.get(name)
        for arm in claim.arms:
            runs = report.arch_runs.get(arm) if report else None
            study = evidence.studies.get(runs.study) if runs and runs.study else None
            why = f"no tuning study of {arm}" if report else str(evidence.report_of(name))
            rankings[f"{name}/{arm}"] = ((importance_fits(study) or "fewer than 4 complete tuning trials")
                                         if study is not None else why)
    return judge_most_important(claim.statement(), claim.parameter, rankings)


def judge_all(study: type[Study], evidence: Evidence) -> list[ClaimVerdict]:
    return [with_failures(judge(claim, evidence), claim, evidence.reports) for claim in study.claims]


def with_failures(verdict: ClaimVerdict, claim: Claim, reports: Mapping[str, TaskReport]) -> ClaimVerdict:
    """The verdict, its evidence saying which of its arms lost seed runs to failures: a failed seed is
    missing from the sample, not scored as the worst, so an arm that often fails to train is judged
    on the seeds that did (the worker replaces a failed seed with a fresh one)."""
    arms = set(claim.labels) if claim.over_seeds else set()
    lost = [f"{name}: {runs.failed} seed run(s) of {arm} failed or were stopped and are not counted"
            for name in claim.experiments if name in reports
            for arm, runs in reports[name].arch_runs.items() if arm in arms and runs.failed]
    return dataclasses.replace(verdict, evidence=verdict.evidence + tuple(lost)) if lost else verdict


def wanted_seeds(verdicts: Sequence[ClaimVerdict]) -> dict[tuple[str, str], int]:
    """(experiment, arm) → the seeds the next looks of the undecided claims need (the most asked)."""
    wants: dict[tuple[str, str], int] = {}
    for verdict in verdicts:
        for experiment, arm, n in verdict.wants:
            wants[(experiment, arm)] = max(n, wants.get((experiment, arm), 0))
    return wants


@dataclasses.dataclass(frozen=True)
class Tally:
    """How many claims ended how: the headline of a study's report."""

    decided: int
    total: int

    @classmethod
    def of(cls, verdicts: Sequence[ClaimVerdict]) -> Tally:
        return cls(sum(v.outcome != "undecided" for v in verdicts), len(verdicts))

    def text(self) -> str:
        share = self.decided / self.total if self.total else math.nan
        return f"{self.decided} of {self.total} claims decided ({share:.0%})"

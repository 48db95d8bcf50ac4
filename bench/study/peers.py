"""Two things a reviewer asks of a study's verdicts: would another budget or another reporting rule
have said otherwise?

* **The tuning budget** (Dodge et al. 2019): per experiment, each arm's expected best validation score
  after n of its N tuning trials (:mod:`bench.report.tuning`), and a flag on every comparison whose two
  arms' curves cross within the budget.
* **Peers' rules**: each comparison re-judged as other benchmarks report — the best of the seeds
  (neural_networks_chomsky_hierarchy reports the best of 10), the best tuning trial (zoology and MAD
  the best of a learning-rate grid), one run (seed 0; TCN's tables) — beside our verdict, with every
  rule that names another winner marked. A point comparison has no interval: where ours says "no
  practical difference" or "undecided", any winner a rule names is one that our seeds do not support.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import optuna
import pandas as pd

from bench.core.study import Study
from bench.report.tables import TaskReport
from bench.report.tuning import crossings, draw, expected_best
from bench.report.verdicts import ClaimVerdict
from bench.study.judging import arm_values, claim_metric, metric_mode
from bench.study.plan import optuna_study_name

Mode = Literal["min", "max"]
FLIPPED = "⚑ "


def trial_values(study: optuna.Study | None) -> list[float]:
    """The objective (validation target) of every complete tuning trial, in trial order."""
    if study is None:
        return []
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return [float(t.value) for t in complete if t.value is not None and math.isfinite(t.value)]


def _search_study(studies: Mapping[str, optuna.Study], study: type[Study], scale: str, experiment: str,
                  arm: str) -> optuna.Study | None:
    found = {e.name: e for e in study.experiments_at(scale)}
    arms = {a.label: a for a in study.arms}
    if experiment not in found or arm not in arms:
        return None
    return studies.get(optuna_study_name(study, scale, found[experiment], arms[arm]))


def budget_curves(study: type[Study], scale: str, reports: Mapping[str, TaskReport], studies: Mapping[str, optuna.Study],
                  out: Path) -> tuple[list[tuple[str, str, str]], dict[str, dict[str, list[float]]]]:
    """Per experiment that ran: a figure of each arm's expected best validation score against the
    number of trials — (experiment, figure file, caption) — and the curves themselves."""
    figures, curves = [], {}
    for name, report in reports.items():
        mode: Mode = "max" if report.mode == "max" else "min"
        arms = {arm.label: expected_best(trial_values(_search_study(studies, study, scale, name, arm.label)), mode)
                for arm in study.arms}
        curves[name] = arms
        file = draw(arms, report.metric, f"{name}: expected best of n trials", out / "figures", f"{name}-tuning-budget")
        if file:
            sampler = ("random search, as the estimate assumes" if study.sampler == "random" else
                       "TPE search: its trials are read as if drawn independently, which the estimate assumes")
            trials = max(map(len, arms.values()), default=0)
            few = "; with fewer than 5 trials, read the points rather than a curve" if trials < 5 else ""
            figures.append((name, file, f"{name}: expected best validation {report.metric} after n of each arm's "
                                        f"{trials} tuning trials (Dodge et al. 2019; {sampler}{few})"))
    return figures, curves


def budget_flags(study: type[Study], curves: Mapping[str, Mapping[str, Sequence[float]]],
                 reports: Mapping[str, TaskReport]) -> list[str]:
    """A sentence for every comparison whose arms' expected-best curves cross within the budget."""
    flags = []
    for claim in study.claims:
        pair = claim.pair
        if pair is None:
            continue
        for name in claim.experiments:
            if name not in curves or name not in reports:
                continue
            first, second = curves[name].get(pair[0], []), curves[name].get(pair[1], [])
            mode: Mode = "max" if reports[name].mode == "max" else "min"
            crossed = crossings(first, second, mode)
            if crossed:
                flags.append(f"*{claim.statement()}* on {name}: the expected best of {pair[0]} and {pair[1]} change "
                             f"places at {', '.join(map(str, crossed))} trial(s): with a smaller tuning budget the "
                             "other arm would have looked better")
    return flags


def _winner(a: str, b: str, x: float | None, y: float | None, mode: Mode) -> str:
    if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)):
        return "—"
    if x == y:
        return "tie"
    return a if (x > y) == (mode == "max") else b


def _ours(verdict: ClaimVerdict, name: str, a: str, b: str) -> str:
    decision = dict(verdict.decisions).get(name)
    if decision is None:
        return "not judged"
    return {"better": a, "worse": b, "same": "no practical difference", "open": "undecided"}[decision.finding]


def peers_table(study: type[Study], scale: str, reports: Mapping[str, TaskReport], studies: Mapping[str, optuna.Study],
                verdicts: Sequence[ClaimVerdict]) -> pd.DataFrame:
    """Every comparison per experiment: our verdict beside the best-seed, best-trial and single-run
    rules, a rule naming another winner marked ⚑ (see the module docstring)."""
    rows = []
    for claim, verdict in zip(study.claims, verdicts, strict=True):
        pair = claim.pair
        if pair is None:
            continue
        a, b = pair
        for name in claim.experiments:
            report = reports.get(name)
            if report is None:
                continue
            metric = claim_metric(claim.metric, report)
            mode = metric_mode(metric, report)
            best = max if mode == "max" else min
            values = {arm: arm_values(report, arm, claim.metric) for arm in (a, b)}
            seeds = {arm: v if isinstance(v, dict) else {} for arm, v in values.items()}
            trials = {}
            for arm in (a, b):
                search = _search_study(studies, study, scale, name, arm)
                trial = search.best_trial if search is not None and trial_values(search) else None
                trials[arm] = trial.user_attrs.get(metric) if trial is not None and metric.startswith("test/") else None
            ours = _ours(verdict, name, a, b)
            rules = {
                "best seed": _winner(a, b, best(seeds[a].values(), default=None), best(seeds[b].values(), default=None), mode),
                "best trial": _winner(a, b, trials[a], trials[b], mode),
                "single run (seed 0)": _winner(a, b, seeds[a].get(0), seeds[b].get(0), mode),
            }
            marked = {rule: (FLIPPED + found if found not in ("—", "tie", ours) else found) for rule, found in rules.items()}
            rows.append({"claim": claim.statement(), "experiment": name, "metric": metric, "ours": ours, **marked,
                         "flips": sum(v.startswith(FLIPPED) for v in marked.values())})
    return pd.DataFrame(rows, columns=["claim", "experiment", "metric", "ours", "best seed", "best trial",
                                       "single run (seed 0)", "flips"])

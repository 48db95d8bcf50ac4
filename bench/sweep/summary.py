"""What ``bench sweep`` prints at the end: per architecture, the search and its seed reruns.

Read from the Optuna studies (trial user attributes hold each run's test metric); the full
statistics — confidence intervals, pairwise tests — are ``bench report``'s job.
"""
from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from typing import Protocol

import optuna
import pandas as pd
from optuna.storages import BaseStorage

from bench.tracking.optuna_store import short_value, trial_counts


class PlannedStudy(Protocol):
    """What the summary reads of a sweep's plan for one architecture (``orchestrator.StudyPlan``)."""

    arch: str
    name: str

    @property
    def seeds_name(self) -> str: ...


def summary_table(storage: BaseStorage, plans: Sequence[PlannedStudy], seeds: int) -> pd.DataFrame:
    rows = []
    for plan in plans:
        study = optuna.load_study(study_name=plan.name, storage=storage)
        counts = trial_counts(study)
        row: dict[str, object] = {"arch": plan.arch, "study": plan.name, "complete": counts["COMPLETE"],
                               "pruned": counts["PRUNED"], "failed": counts["FAIL"]}
        try:
            best = study.best_trial
        except ValueError:
            best = None
        if best is not None:
            test_key = next((k for k in best.user_attrs if k.startswith("test/")), None)
            row["best val"] = best.value
            row["its test"] = best.user_attrs.get(test_key) if test_key else None
            row["best params"] = json.dumps({k.split(".", 1)[1]: short_value(v) for k, v in best.params.items()})
        if seeds:
            row.update(_seed_columns(storage, plan.seeds_name))
        rows.append(row)
    return pd.DataFrame(rows)


def _seed_columns(storage: BaseStorage, name: str) -> dict[str, object]:
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return {"seeds": 0}
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    tests = [v for t in complete for k, v in t.user_attrs.items() if k.startswith("test/") and v is not None]
    columns: dict[str, object] = {"seeds": len(complete)}
    if tests:
        columns["test mean"] = statistics.fmean(tests)
        columns["test sd"] = statistics.stdev(tests) if len(tests) > 1 else float("nan")
    return columns

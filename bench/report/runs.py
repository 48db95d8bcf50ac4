"""Which runs a report judges an architecture (or a study's arm) on: its "seeds", the sample every
statistic is over.

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
import tempfile

import pandas as pd
from mlflow.tracking import MlflowClient

from bench.core.config import RunConfig, load_yaml
from bench.core.resolve import resolve

IGNORED_PARAMS = {"params.train.seed", "params.train.threads", "params.train.device"}
"""Run parameters that do not make two ``bench run`` configs different."""


@dataclasses.dataclass
class ArchRuns:
    """The runs an architecture is judged on, and a sentence saying where they come from."""

    arch: str
    runs: pd.DataFrame
    source: str
    study: str | None = None

    def values(self, column: str) -> list[float]:
        return [float(v) for v in self.runs.get(column, pd.Series(dtype=float)).dropna()]


def finished(frame: pd.DataFrame) -> pd.DataFrame:
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



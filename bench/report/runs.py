"""Which runs a report judges an architecture (or a study's arm) on: its "seeds", the sample every
statistic is over.

1. the seed reruns of a sweep (``sweep.role = seed``): the best configuration of one Optuna study
   rerun with seeds 0..N-1 — the fair comparison, every architecture tuned with the same budget;
   with several such studies, the one with the most finished reruns (then the newest);
2. otherwise ``bench run`` runs (no ``sweep.role`` tag): the largest group whose configs are
   identical apart from the seed (and threads/device), newest first on ties;
3. otherwise the best trial of a sweep alone (n = 1, no interval).

Unfinished runs (FAILED, KILLED, RUNNING) and pruned trials are never counted. Replicates are
replicates: one run per (configuration, seed). A ``bench reproduce`` run (tag ``reproduces``) is
never a seed, and of the runs in the chosen group with the same ``train.seed`` (a resumed or retried
duplicate) only the earliest started counts; groups are sized in distinct seeds. Both kinds are in
:attr:`ArchRuns.left_out`, and the source sentence says how many.
"""
from __future__ import annotations

import dataclasses

import pandas as pd

IGNORED_PARAMS = {"params.train.seed", "params.train.threads", "params.train.device"}
"""Run parameters that do not make two ``bench run`` configs different."""


@dataclasses.dataclass
class ArchRuns:
    """The runs an architecture is judged on, and a sentence saying where they come from."""

    arch: str
    runs: pd.DataFrame
    source: str
    study: str | None = None
    left_out: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    """Runs of this group not counted (reproductions, repeated seeds), with a ``left_out`` column
    saying why (``reproduction`` or ``repeated seed``)."""
    failed: int = 0
    """Seed reruns of the study that failed or were stopped: missing from the sample, not scored."""

    def values(self, column: str) -> list[float]:
        return [float(v) for v in self.runs.get(column, pd.Series(dtype=float)).dropna()]


def finished(frame: pd.DataFrame) -> pd.DataFrame:
    keep = frame["status"] == "FINISHED"
    if "tags.sweep.role" in frame:
        keep &= frame["tags.sweep.role"].fillna("") != "parent"
    if "tags.stopped_by" in frame:
        keep &= frame["tags.stopped_by"].isna()
    return frame[keep]


def is_reproduction(frame: pd.DataFrame) -> pd.Series:
    """Which runs ``bench reproduce`` made (a non-empty ``reproduces`` tag)."""
    tag = frame.get("tags.reproduces", pd.Series(index=frame.index, dtype=object))
    return tag.fillna("").astype(str) != ""


def one_per_seed(group: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(kept, repeated)``: of runs with the same ``params.train.seed``, the earliest started is kept
    (runs without a seed are all kept); ``kept`` stays in ``group``'s order."""
    if "params.train.seed" not in group:
        return group, group.iloc[0:0]
    seeds = group["params.train.seed"]
    start = group["start_time"] if "start_time" in group else pd.Series(0, index=group.index)
    earliest_first = start.sort_values(kind="stable", na_position="last").index
    repeated = seeds.loc[earliest_first].duplicated() & seeds.loc[earliest_first].notna()
    dropped = group.index.isin(repeated.index[repeated])
    return group[~dropped], group[dropped]


def _reproductions_of(reproductions: pd.DataFrame, group: pd.DataFrame) -> pd.Series:
    """Which of ``reproductions`` reproduce a run of ``group`` (or a reproduction of one, and so on)."""
    if reproductions.empty or "run_id" not in group:
        return pd.Series(False, index=reproductions.index)
    ids, linked = set(group["run_id"]), pd.Series(False, index=reproductions.index)
    while True:
        now = reproductions["tags.reproduces"].isin(ids)
        if now.equals(linked):
            return linked
        linked = now
        ids |= set(reproductions.loc[linked, "run_id"]) if "run_id" in reproductions else set()


def _left_out(reproductions: pd.DataFrame, repeated: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The runs left out with why, and the phrase saying so ("" if none)."""
    parts = [f"{len(f)} {word}{'s' if len(f) != 1 else ''}" for f, word in
             ((reproductions, "reproduction"), (repeated, "repeated seed")) if len(f)]
    frames = [f.assign(left_out=why) for f, why in ((reproductions, "reproduction"), (repeated, "repeated seed")) if len(f)]
    frame = pd.concat(frames) if frames else pd.DataFrame()
    return frame, f"{' and '.join(parts)} not counted: one run per seed" if parts else ""


def _config_keys(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One string per run naming its config (the ``columns``' values)."""
    if frame.empty:
        return pd.Series(index=frame.index, dtype=object)
    return frame[columns].map(str).agg("|".join, axis=1)


def _seed_count(group: pd.DataFrame) -> int:
    return len(one_per_seed(group)[0])


def choose_runs(frame: pd.DataFrame, arch: str) -> ArchRuns | None:
    """An architecture's seed runs by the rules in the module docstring; None if it has none."""
    mine = frame[frame.get("tags.arch", pd.Series(index=frame.index, dtype=object)) == arch]
    if mine.empty:
        return None
    reproduction = is_reproduction(mine)
    reproductions, mine = mine[reproduction], mine[~reproduction]
    role = mine["tags.sweep.role"] if "tags.sweep.role" in mine else pd.Series(None, index=mine.index, dtype=object)
    seeds = mine[role == "seed"]
    if not seeds.empty:
        groups = seeds.groupby("tags.sweep.study")
        study = max(groups.groups, key=lambda s: (_seed_count(groups.get_group(s)), groups.get_group(s)["start_time"].max()))
        chosen, repeated = one_per_seed(groups.get_group(study))
        copies, why = _left_out(reproductions[_reproductions_of(reproductions, groups.get_group(study))], repeated)
        return ArchRuns(arch, chosen, f"{len(chosen)} seed reruns of the best trial of sweep study `{study}`"
                        + (f" ({why})" if why else ""), study, copies)
    plain = mine[role.isna()]
    if not plain.empty:
        columns = sorted(c for c in plain if c.startswith("params.") and c not in IGNORED_PARAMS)
        keys = _config_keys(plain, columns)
        best_key = max(set(keys), key=lambda k: (_seed_count(plain[keys == k]), plain.loc[keys == k, "start_time"].max()))
        group = plain[keys == best_key]
        chosen, repeated = one_per_seed(group)
        # A reproduction of a run of the group, or one with the group's config (its original gone).
        same = _config_keys(reproductions, columns) == best_key
        copies, why = _left_out(reproductions[same | _reproductions_of(reproductions, group)], repeated)
        others = len(plain) - len(group)
        notes = [f"{others} other `bench run` run(s) with other configs left out"] * bool(others) + [why] * bool(why)
        extra = f" ({'; '.join(notes)})" if notes else ""
        return ArchRuns(arch, chosen, f"{len(chosen)} `bench run` runs with identical configs apart from the seed{extra}",
                        left_out=copies)
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
    reproduction = is_reproduction(frame)
    reproductions = frame[reproduction]
    seeds, trials = _of_study(frame[~reproduction], study, "seed"), _of_study(frame[~reproduction], study, "trial")
    if not seeds.empty:
        failed = 0
        if everything is not None:
            failed = len(_of_study(everything[~is_reproduction(everything)], study, "seed")) - len(seeds)
        chosen, repeated = one_per_seed(seeds)
        # A reproduction of one of the seed reruns, or one carrying the study's tags itself.
        linked = _reproductions_of(reproductions, seeds) | reproductions.index.isin(_of_study(reproductions, study, "seed").index)
        copies, why = _left_out(reproductions[linked], repeated)
        notes = [f"{failed} other seed run(s) failed or were stopped and are not counted"] * (failed > 0) + [why] * bool(why)
        lost = f" ({'; '.join(notes)})" if notes else ""
        return ArchRuns(label, chosen, f"{len(chosen)} seed reruns of the best trial of sweep study `{study}`{lost}",
                        study, copies, max(failed, 0))
    if not trials.empty:
        return ArchRuns(label, trials.iloc[[0]], f"no seed reruns: the newest trial of study `{study}` alone (n = 1)",
                        study)
    return None


def best_trial_instead(runs: ArchRuns, frame: pd.DataFrame, best_trial: int) -> ArchRuns:
    """Where an arm has no seed reruns and stands for its sweep by one trial: the run of the study's
    best trial (whose hyperparameters the report shows), not the newest; ``runs`` unchanged if that
    run is not among the finished ones."""
    if runs.study is None or "tags.sweep.trial" not in frame:
        return runs
    trials = _of_study(frame, runs.study, "trial")
    best = trials[trials["tags.sweep.trial"].astype(str) == str(best_trial)]
    if best.empty or runs.runs.get("tags.sweep.role", pd.Series(dtype=object)).eq("seed").any():
        return runs
    return dataclasses.replace(runs, runs=best.iloc[[0]], source=f"no seed reruns: the best trial ({best_trial}) of "
                                                              f"study `{runs.study}` alone (n = 1)")





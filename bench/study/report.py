"""``bench study report``: a study's runs read back, every claim judged, ours beside the paper's.

The report is ``bench report`` over the study's experiments (the same sections, tables and figures,
each arm's runs being the seed reruns of its own sweep study), preceded by what a reader of the paper
wants first: the scale and how it departs from the paper, each claim with its verdict (decided by
:mod:`bench.report.verdicts` and nothing else), our numbers beside the published ones, and what the
study cost on which machine. ``study.json`` in the output folder holds the same summary, and
``STUDIES.md`` beside the study folders is rebuilt from every ``study.json`` found there.
"""
from __future__ import annotations

import datetime
import json
import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import optuna
import pandas as pd

from bench.core.errors import UsageError
from bench.core.study import Beats, Claim, ClosesGap, Equivalent, MostImportant, NoConsistentWinner, Study
from bench.report import stats
from bench.report.collect import collect, open_studies
from bench.report.render import Document
from bench.report.tables import TaskReport, interval_text
from bench.report.verdicts import (
    ClaimVerdict,
    judge_beats,
    judge_closes_gap,
    judge_equivalent,
    judge_most_important,
    judge_no_consistent_winner,
)
from bench.report.writer import write_collected
from bench.study.plan import arm_names, mlflow_experiment, optuna_study_name
from bench.tracking.optuna_store import open_storage

Mode = Literal["min", "max"]
FANOVA_REFITS = 20


def metric_mode(metric: str, report: TaskReport) -> Mode:
    """Whether lower or higher is better for ``metric``: the task's own direction for its target
    metric (at any length), higher for accuracies, lower for every loss-like metric."""
    last = metric.rsplit("/", 1)[-1]
    if last == report.metric:
        return "max" if report.mode == "max" else "min"
    return "max" if "acc" in last else "min"


def _metric(claim_metric: str, report: TaskReport) -> str:
    return claim_metric or f"test/{report.metric}"


NOT_RUN = "not run at this scale"


def _values(report: TaskReport | str, arm: str, metric: str) -> list[float] | str:
    """An arm's values of ``metric`` over its seeds, or why there are none (``report`` is that why
    when the experiment has no report)."""
    if isinstance(report, str):
        return report
    if arm not in report.arch_runs:
        return f"no finished runs of {arm}"
    key = _metric(metric, report)
    values = report.arch_runs[arm].values(f"metrics.{key}")
    return values or f"{key} not logged by these runs"


def _neither_learned(report: TaskReport, arms: Sequence[str]) -> str | None:
    """Why ``arms`` did not learn the task in ``report`` — no seed of either reached its target — or
    None if one did (or the runs do not say)."""
    chosen = [report.arch_runs[arm] for arm in arms if arm in report.arch_runs]
    if len(chosen) < len(arms) or any("metrics.steps" not in runs.runs for runs in chosen):
        return None
    if any(runs.values("metrics.steps_to_target") for runs in chosen):
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


def judge_claim(claim: Claim, reports: dict[str, TaskReport], studies: dict[str, optuna.Study],
                missing: Sequence[str] = ()) -> ClaimVerdict:
    """The verdict on one claim from the collected experiments; ``missing``: those the scale runs
    that have no finished runs (yet), the others absent from ``reports`` were not run at this scale."""
    statement = claim.statement()

    def report_of(name: str) -> TaskReport | str:
        return reports.get(name) or ("no finished runs" if name in missing else NOT_RUN)

    if isinstance(claim, MostImportant):
        rankings: dict[str, list[dict[str, float]] | str] = {}
        for name in claim.experiments:
            report = reports.get(name)
            for arm in claim.arms:
                runs = report.arch_runs.get(arm) if report else None
                study = studies.get(runs.study) if runs and runs.study else None
                why = f"no tuning study of {arm}" if name in reports else str(report_of(name))
                rankings[f"{name}/{arm}"] = ((importance_fits(study) or "fewer than 4 complete tuning trials")
                                             if study is not None else why)
        return judge_most_important(statement, claim.parameter, rankings)
    modes = {name: metric_mode(_metric(claim.metric, reports[name]), reports[name]) if name in reports else "min"
             for name in claim.experiments}
    if isinstance(claim, ClosesGap):
        triples: dict[str, tuple[Sequence[float], Sequence[float], Sequence[float]] | str] = {}
        for name in claim.experiments:
            found = [_values(report_of(name), arm, claim.metric) for arm in (claim.arm, claim.baseline, claim.target)]
            reasons = [f for f in found if isinstance(f, str)]
            values = [f for f in found if not isinstance(f, str)]
            triples[name] = reasons[0] if reasons else (values[0], values[1], values[2])
        return judge_closes_gap(statement, claim.arm, claim.baseline, claim.target, claim.fraction, triples, modes)
    a, b = (claim.better, claim.worse) if isinstance(claim, Beats) else (claim.a, claim.b)
    samples: dict[str, tuple[Sequence[float], Sequence[float]] | str] = {}
    for name in claim.experiments:
        first, second = _values(report_of(name), a, claim.metric), _values(report_of(name), b, claim.metric)
        samples[name] = (first if isinstance(first, str) else second if isinstance(second, str) else (first, second))
    if isinstance(claim, NoConsistentWinner):
        return judge_no_consistent_winner(statement, a, b, samples, modes)
    if isinstance(claim, Equivalent):
        unlearned = {name: _neither_learned(reports[name], (a, b)) or "" for name in claim.experiments if name in reports}
        unlearned = {name: why for name, why in unlearned.items() if why}
        return judge_equivalent(statement, a, b, claim.margin, samples, unlearned)
    return judge_beats(statement, a, b, samples, modes)


def ours_vs_paper(study: type[Study], scale: str, reports: dict[str, TaskReport]) -> pd.DataFrame:
    """Each published number beside ours: mean ± 95% half-width over seeds, the difference, and
    whether the paper's number lies in our interval — unless this scale changed the experiment's
    setting (a shorter sequence, say), where the numbers are shown but not compared."""
    rows = []
    changed = study.scale(scale).options
    for item in study.published:
        report = reports.get(item.experiment)
        if report is None:
            continue
        metric = _metric(item.metric, report)
        found = _values(report, item.arm, item.metric)
        interval = stats.t_interval([] if isinstance(found, str) else found)
        inside = ("—" if interval.n < 2 or not math.isfinite(interval.low) else
                  "yes" if interval.low <= item.value <= interval.high else "no")
        if item.experiment in changed:
            inside = "not comparable: this scale sets " + ", ".join(f"{k}={v}" for k, v in changed[item.experiment].items())
        rows.append({"experiment": item.experiment, "arm": item.arm, "metric": metric, "paper": item.value,
                     "ours": interval_text(interval), "ours − paper": interval.mean - item.value if interval.n else math.nan,
                     "paper in our 95% CI": inside, "source": item.source, "how sure": item.certainty})
    return pd.DataFrame(rows, columns=["experiment", "arm", "metric", "paper", "ours", "ours − paper",
                                       "paper in our 95% CI", "source", "how sure"])


def cost(study: type[Study], scale: str, storage: str | None) -> dict[str, Any]:
    """Trials and seed reruns finished, compute hours (their durations summed) and wall-clock hours
    (first start to last end), from the sweep studies' trials."""
    opened = open_storage(storage)
    durations, starts, ends, finished = [], [], [], 0
    for experiment in study.experiments_at(scale):
        for arm in study.arms:
            for name in (s := optuna_study_name(study, scale, experiment, arm), f"{s}/seeds"):
                try:
                    found = optuna.load_study(study_name=name, storage=opened)
                except KeyError:
                    continue
                for trial in found.get_trials(deepcopy=False):
                    if trial.datetime_start and trial.datetime_complete:
                        durations.append((trial.datetime_complete - trial.datetime_start).total_seconds())
                        starts.append(trial.datetime_start)
                        ends.append(trial.datetime_complete)
                        finished += trial.state != optuna.trial.TrialState.FAIL
    wall = (max(ends) - min(starts)).total_seconds() if starts else 0.0
    return {"runs": finished, "compute_hours": round(sum(durations) / 3600, 3), "wall_hours": round(wall / 3600, 3)}


def budgets(study: type[Study], scale: str) -> str:
    """The parameter budget of each experiment run at ``scale``, in words."""
    sizes = {e.name: e.params or study.params for e in study.experiments_at(scale)}
    if len(set(sizes.values())) == 1:
        size = next(iter(sizes.values()))
        return f"{size:,}" if size else "none (hidden size as set)"
    return ", ".join(f"{name} {size:,}" if size else f"{name} none" for name, size in sizes.items())


def collect_study(study: type[Study], scale: str, tracking_uri: str | None,
                  storage: str | None) -> tuple[list[tuple[TaskReport, Any]], list[str]]:
    """Each of the scale's experiments that has finished runs, collected; the others, said."""
    collected, missing = [], []
    for experiment in study.experiments_at(scale):
        try:
            collected.append(collect(experiment.task, tracking_uri=tracking_uri, storage=storage,
                                     experiment=mlflow_experiment(study), arms=arm_names(study, scale, experiment),
                                     label=experiment.name))
        except UsageError:
            missing.append(experiment.name)
    return collected, missing


def scales_with_runs(study: type[Study], storage: str | None) -> list[str]:
    """The study's scales that have sweep studies in ``storage``, in declaration order."""
    names = optuna.get_all_study_names(open_storage(storage))
    return [s for s in study.scales if any(f"/{study.name}/{s}/" in n for n in names)]


def write_study_report(study: type[Study], asked: str | None, out: Path, tracking_uri: str | None = None,
                       storage: str | None = None, command: str = "") -> tuple[Path, list[ClaimVerdict], list[str]]:
    """Write the study's report at scale ``asked`` (None: the largest scale with finished runs) into
    ``out`` (and, for ``results/studies/NAME``, rebuild ``results/STUDIES.md``); returns the path of
    ``report.md``, the claims' verdicts and the warnings."""
    available = scales_with_runs(study, storage)
    if asked is None and not available:
        raise UsageError(f"study {study.name} has no runs yet; start with `bench study run {study.name} --scale smoke`")
    for scale in ([asked] if asked is not None else list(reversed(available))):
        collected, missing = collect_study(study, scale, tracking_uri, storage)
        if collected:
            break
    chosen = study.scale(scale)
    if not collected:
        others = f" (runs exist at scale {', '.join(available)})" if available else ""
        raise UsageError(f"study {study.name} has no finished runs at scale {scale}{others}; "
                         f"run `bench study run {study.name} --scale {scale}`")
    reports = {r.label: r for r, _ in collected}
    studies = open_studies(storage, {r.study for rep in reports.values() for r in rep.arch_runs.values() if r.study})
    verdicts = [judge_claim(claim, reports, studies, missing) for claim in study.claims]
    paper = ours_vs_paper(study, scale, reports)
    spent = cost(study, scale, storage)
    machines = sorted({str(m) for rep in reports.values() for r in rep.arch_runs.values()
                       for m in r.runs.get("tags.machine", pd.Series(dtype=object)).dropna()})

    lead = Document(study.name)
    lead.heading("Study", 2)
    lead.text(f"**{study.summary()}** Paper: {study.paper}.")
    lead.text(f"Scale **{scale}**: {chosen.trials} tuning trial(s) per arm and experiment, then the best rerun with "
              f"{chosen.seeds} seed(s); {study.sampler} search; parameter budget per arm: {budgets(study, scale)}. "
              f"{chosen.differs}".strip())
    lead.text(f"Cost: {spent['runs']} runs, {spent['compute_hours']:.2f} compute hours, {spent['wall_hours']:.2f} wall-clock "
              f"hours ({spent['wall_hours'] * 60:.0f} min), on {'; '.join(machines) or 'an unrecorded machine'}.")
    lead.text(f"Made with `bench study run {study.name} --scale {scale} --workers N` (data found as `--data NAME=PATH` or "
              f"under `$RNNBENCH_DATA`; `bench study show {study.name}` lists what it reads), then "
              f"`{command or f'bench study report {study.name} --scale {scale}'}`.")
    if missing:
        lead.text(f"Not run at this scale (no finished runs): {', '.join(missing)}; claims on them are judged on the rest.")
    lead.heading("Claims and verdicts", 2)
    claims = pd.DataFrame([{"claim": v.statement, "source": getattr(c, "source", ""), "verdict": v.verdict_text(),
                            "seeds to settle": v.needed_text()} for c, v in zip(study.claims, verdicts, strict=True)])
    lead.table(claims)
    for verdict in verdicts:
        lead.text(f"*{verdict.statement}* — **{verdict.verdict_text()}**. " + " ".join(f"{e}." for e in verdict.evidence))
    lead.heading("Ours vs the paper", 2)
    if paper.empty:
        lead.text("The paper reports no number for what ran at this scale.")
    else:
        lead.table(paper)
    path, warnings = write_collected(collected, out, f"Study {study.name} ({scale} scale)", command or
                                     f"bench study report {study.name} --scale {scale}", tracking_uri, storage,
                                     lead=lead, lead_tables={"claims": claims, "ours-vs-paper": paper})
    summary = {"study": study.name, "paper": study.paper, "scale": scale, "differs": chosen.differs,
               "trials": chosen.trials, "seeds": chosen.seeds, **spent, "machines": machines,
               "experiments": sorted(reports), "not_run": missing,
               "claims": [{"claim": v.statement, "verdict": v.verdict_text(), "outcome": v.outcome,
                           "judged": v.judged, "named": v.named, "seeds_to_settle": v.needed_text()} for v in verdicts],
               "generated": f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC"}
    (out / "study.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    if out.resolve().parent.name == "studies":  # results/studies/NAME: the index is results/STUDIES.md
        write_index(out.resolve().parent)
    return path, verdicts, warnings


def write_index(folder: Path) -> Path:
    """``STUDIES.md`` in ``folder``'s parent: every study report under ``folder`` in one table."""
    lines = ["# Studies: published comparisons rerun, claim by claim", "",
             f"Every `study.json` under `{folder.name}/`, regenerated by `bench study report`. A verdict is "
             "reproduced / contradicted / inconclusive at the scale shown (see each report for the test, the "
             "effect and its interval).", "",
             "| study | scale | claim | verdict | seeds to settle | runs | compute h | wall h | machine | report |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for found in sorted(folder.glob("*/study.json")):
        data = json.loads(found.read_text())
        for claim in data["claims"]:
            lines.append(f"| {data['study']} | {data['scale']} | {claim['claim']} | **{claim['verdict']}** | "
                         f"{claim['seeds_to_settle']} | {data['runs']} | {data['compute_hours']:.2f} | "
                         f"{data['wall_hours']:.2f} | {'; '.join(data['machines'])} | "
                         f"[{found.parent.name}]({folder.name}/{found.parent.name}/report.md) |")
    index = folder.parent / "STUDIES.md"
    index.write_text("\n".join(lines) + "\n")
    return index

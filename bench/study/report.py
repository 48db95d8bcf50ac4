"""``bench study report``: a study's runs read back, every claim judged, ours beside the paper's.

The report is ``bench report`` over the study's experiments (the same sections, tables and figures,
each arm's runs being the seed reruns of its own sweep study), preceded by what a reader of the paper
wants first: the scale and how it departs from the paper, each claim with its verdict (decided by
:mod:`bench.report.verdicts` and nothing else), our numbers beside the published ones, and what the
study cost on which machine. ``study.json`` in the output folder holds the same summary, and
``STUDIES.md`` beside the study folders is rebuilt from every ``study.json`` found there.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from mlflow.tracking import MlflowClient
from optuna.storages import BaseStorage

from bench.core.datafiles import bench_home
from bench.core.errors import UsageError
from bench.core.study import Study
from bench.report import stats
from bench.report.collect import collect, open_studies
from bench.report.render import Document
from bench.report.sequential import Design
from bench.report.tables import TaskReport, interval_text
from bench.report.verdicts import ClaimVerdict
from bench.report.writer import Written, write_collected
from bench.study.judging import Evidence, Tally, arm_values, design_of, judge_all
from bench.study.peers import budget_curves, budget_flags, peers_table
from bench.study.plan import arm_names, mlflow_experiment, optuna_study_name
from bench.study.scales import from_label, labels_in
from bench.tracking.optuna_store import open_storage


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
        metric = item.metric or f"test/{report.metric}"
        found = arm_values(report, item.arm, item.metric)
        interval = stats.t_interval([] if isinstance(found, str) else list(found.values()))
        inside = ("—" if interval.n < 2 or not math.isfinite(interval.low) else
                  "yes" if interval.low <= item.value <= interval.high else "no")
        if item.experiment in changed:
            inside = "not comparable: this scale sets " + ", ".join(f"{k}={v}" for k, v in changed[item.experiment].items())
        rows.append({"experiment": item.experiment, "arm": item.arm, "metric": metric, "paper": item.value,
                     "ours": interval_text(interval), "ours − paper": interval.mean - item.value if interval.n else math.nan,
                     "paper in our 95% CI": inside, "source": item.source, "how sure": item.certainty})
    return pd.DataFrame(rows, columns=["experiment", "arm", "metric", "paper", "ours", "ours − paper",
                                       "paper in our 95% CI", "source", "how sure"])


def cost(study: type[Study], scale: str, studies: Mapping[str, optuna.Study]) -> dict[str, Any]:
    """Trials and seed reruns finished, compute hours (their durations summed) and wall-clock hours
    (first start to last end), from the sweep studies' trials (``studies``: by name, as read once)."""
    durations, starts, ends, finished = [], [], [], 0
    for name in sweep_study_names(study, scale):
        if (found := studies.get(name)) is None:
            continue
        for trial in found.get_trials(deepcopy=False):
            if trial.datetime_start and trial.datetime_complete:
                durations.append((trial.datetime_complete - trial.datetime_start).total_seconds())
                starts.append(trial.datetime_start)
                ends.append(trial.datetime_complete)
                finished += trial.state != optuna.trial.TrialState.FAIL
    wall = (max(ends) - min(starts)).total_seconds() if starts else 0.0
    return {"runs": finished, "compute_hours": round(sum(durations) / 3600, 3), "wall_hours": round(wall / 3600, 3),
            "compute_seconds": round(sum(durations), 1), "wall_seconds": round(wall, 1)}


def sweep_study_names(study: type[Study], scale: str) -> list[str]:
    """Every sweep study a scale runs: per experiment and arm, its tuning study and its seed reruns."""
    tuning = [optuna_study_name(study, scale, experiment, arm) for experiment in study.experiments_at(scale)
              for arm in study.arms]
    return [name for each in tuning for name in (each, f"{each}/seeds")]


def duration(seconds: float) -> str:
    """A duration as a reader says it: seconds under two minutes, minutes under two hours, then hours
    (a 31 s smoke study is "31 s", not "0.00 hours")."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def budgets(study: type[Study], scale: str) -> str:
    """The parameter budget of each experiment run at ``scale``, in words."""
    sizes = {e.name: e.params or study.params for e in study.experiments_at(scale)}
    if len(set(sizes.values())) == 1:
        size = next(iter(sizes.values()))
        return f"{size:,}" if size else "none (hidden size as set)"
    return ", ".join(f"{name} {size:,}" if size else f"{name} none" for name, size in sizes.items())


def collect_study(study: type[Study], scale: str, tracking_uri: str | None, studies: Mapping[str, optuna.Study],
                  ) -> tuple[list[tuple[TaskReport, MlflowClient]], list[str]]:
    """Each of the scale's experiments that has finished runs, collected; the others, said."""
    collected, missing = [], []
    for experiment in study.experiments_at(scale):
        try:
            collected.append(collect(experiment.task, tracking_uri=tracking_uri, experiment=mlflow_experiment(study),
                                     arms=arm_names(study, scale, experiment), label=experiment.name, studies=studies))
        except UsageError:
            missing.append(experiment.name)
    return collected, missing


def scales_with_runs(study: type[Study], storage: str | BaseStorage | None) -> list[str]:
    """The study's scales (declared, then bent ones) that have sweep studies in ``storage``."""
    opened = storage if isinstance(storage, BaseStorage) else open_storage(storage)
    return labels_in(study, optuna.get_all_study_names(opened))


@dataclasses.dataclass(frozen=True)
class Judged:
    """A study's experiments collected and its claims judged at one scale: what a report renders."""

    study: type[Study]
    scale: str
    collected: list[tuple[TaskReport, MlflowClient]]
    missing: list[str]
    studies: dict[str, optuna.Study]
    design: Design
    verdicts: list[ClaimVerdict]

    @property
    def reports(self) -> dict[str, TaskReport]:
        return {r.label: r for r, _ in self.collected}


def judge_scale(study: type[Study], scale: str, tracking_uri: str | None, storage: str | BaseStorage | None) -> Judged:
    """Read a scale's runs and sweep studies once and judge every claim by the design its seeds ran under."""
    studies = open_studies(storage, set(sweep_study_names(study, scale)))
    collected, missing = collect_study(study, scale, tracking_uri, studies)
    reports = {r.label: r for r, _ in collected}
    design = design_of(study.scale(scale))  # fixed with the scale's label (bench.study.scales)
    return Judged(study, scale, collected, missing, studies, design,
                  judge_all(study, Evidence(reports, studies, design, missing)))


def claims_table(judged: Judged, hours: float) -> pd.DataFrame:
    """Per claim: verdict, the test that decided, effect ± interval, margin, n per arm, looks, hours."""
    rows = []
    for claim, verdict in zip(judged.study.claims, judged.verdicts, strict=True):
        margin = claim.margin
        decisions = dict(verdict.decisions)
        shown = [(name, d) for name, d in decisions.items() if d.look > 0]
        rows.append({
            "claim": verdict.statement, "verdict": verdict.verdict_text(),
            "test": "; ".join(dict.fromkeys(d.test for _, d in shown)) or ("fANOVA" if margin is None else "—"),
            "effect [interval]": "; ".join(f"{name} {d.effect:+.3g} [{d.low:+.3g}, {d.high:+.3g}]" for name, d in shown) or "—",
            "margin": ("; ".join(f"{name} ±{margin.of(name):g}" for name in claim.experiments if name in decisions)
                       if margin and margin.by_experiment else f"±{margin.value:g}" if margin else "—"),
            "n per arm": "; ".join(f"{name} {d.n_a}/{d.n_b}" for name, d in shown) or "—",
            "looks": "; ".join(f"{name} {d.look}/{d.looks}" for name, d in shown) or "—",
            "hours": round(hours, 2), "to decide": verdict.needed_text(), "source": getattr(claim, "source", ""),
        })
    return pd.DataFrame(rows)


def margins_text(study: type[Study]) -> list[str]:
    """Each claim's margin and why, as declared before running."""
    lines = []
    for claim in study.claims:
        if (margin := claim.margin) is not None:
            unit = " (in success rate)" if getattr(claim, "test", "") == "success" else ""
            lines.append(f"*{claim.statement()}*: ±{margin.value:g}{unit} — {margin.why}")
    return lines


def default_out(study: type[Study], scale: str) -> Path:
    """Where a report goes unless ``--out`` says: ``results/studies/NAME`` for the committed scale
    (:data:`COMMITTED`), the user's bench home for any other, so a smoke or bent report never
    replaces the committed results."""
    if scale == COMMITTED:
        return Path("results/studies") / study.name
    return bench_home() / "reports" / "studies" / f"{study.name}@{scale}"


COMMITTED = "laptop"
"""The scale whose reports ``results/studies/`` holds."""


def check_out(out: Path, study: type[Study], scale: str, replace: bool) -> None:
    """Refuse to overwrite a report of another scale (or study) in ``out`` unless ``replace``."""
    existing = out / "study.json"
    if replace or not existing.exists():
        return
    try:
        data = json.loads(existing.read_text())
    except (OSError, ValueError):
        return
    if (data.get("study"), data.get("scale")) != (study.name, scale):
        raise UsageError(f"{out} holds the report of {data.get('study')} at scale {data.get('scale')}, not {scale}; "
                         f"give another --out, or --replace to overwrite it")


def write_study_report(study: type[Study], asked: str | None, out: Path | None, tracking_uri: str | None = None,
                       storage: str | None = None, command: str = "", replace: bool = False,
                       ) -> tuple[Written, list[ClaimVerdict]]:
    """Write the study's report at scale ``asked`` (None: the largest scale with finished runs) into
    ``out`` (None: :func:`default_out`; for ``results/studies/NAME``, ``results/STUDIES.md`` is rebuilt);
    returns the written report (its path, warnings, tables and figures) and the claims' verdicts."""
    opened = open_storage(storage)  # once: every scale's studies are read from it
    available = scales_with_runs(study, opened)
    if asked is None and not available:
        raise UsageError(f"study {study.name} has no runs yet; start with `bench study run {study.name} --scale smoke`")
    judged = None
    for scale in ([asked] if asked is not None else list(reversed(available))):
        study, scale = from_label(study, scale)
        judged = judge_scale(study, scale, tracking_uri, opened)
        if judged.collected:
            break
    assert judged is not None
    chosen = study.scale(scale)
    if not judged.collected:
        others = f" (runs exist at scale {', '.join(available)})" if available else ""
        raise UsageError(f"study {study.name} has no finished runs at scale {scale}{others}; "
                         f"run `bench study run {study.name} --scale {scale}`")
    out = out or default_out(study, scale)
    check_out(out, study, scale, replace)
    reports, verdicts, design = judged.reports, judged.verdicts, judged.design
    paper = ours_vs_paper(study, scale, reports)
    spent = cost(study, scale, judged.studies)
    machines = sorted({str(m) for rep in reports.values() for r in rep.arch_runs.values()
                       for m in r.runs.get("tags.machine", pd.Series(dtype=object)).dropna()})
    tally = Tally.of(verdicts)

    lead = Document(study.name)
    lead.heading("Study", 2)
    lead.text(f"**{study.summary()}** Paper: {study.paper}.")
    reruns = (f"then the best rerun over seeds in planned looks at {', '.join(map(str, design.looks()))} seeds per arm, "
              "added only to the arms of claims still undecided" if chosen.seeds else
              "no seed reruns (its claims are about the tuning trials)")
    lead.text(f"Scale **{scale}**: {chosen.trials} tuning trial(s) per arm and experiment, {reruns}; {study.sampler} "
              f"search; parameter budget per arm: {budgets(study, scale)}. {chosen.differs}".strip())
    compute = spent.get("compute_seconds", spent["compute_hours"] * 3600)
    wall = spent.get("wall_seconds", spent["wall_hours"] * 3600)
    lead.text(f"**{tally.text()}.** Cost: {spent['runs']} runs, {duration(compute)} of compute (the runs' own "
              f"durations, summed) in {duration(wall)} wall-clock (first start to last end), on "
              f"{'; '.join(machines) or 'an unrecorded machine'}.")
    lead.text(f"Made with `bench study run {study.name} --scale {scale.split('~')[0]} --workers N` (data found as "
              f"`--data NAME=PATH` or under `$RNNBENCH_DATA`; `bench study show {study.name}` lists what it reads), then "
              f"`{command or f'bench study report {study.name} --scale {scale}'}`.")
    if judged.missing:
        lead.text(f"Not run at this scale (no finished runs): {', '.join(judged.missing)}; claims on them are judged on the rest.")
    lead.heading("Claims and verdicts", 2)
    lead.text("How a claim is decided: each experiment's two arms are compared at planned looks as seeds are added "
              "(an O'Brien–Fleming alpha-spending design: for one comparison of equal arms, at most 5% false "
              "'reproduced' or 'contradicted' over all looks, simulated in `results/decision_rule.md`; a claim over "
              "several experiments combines them without a multiplicity correction); *no practical difference* when two "
              "one-sided tests put the difference inside the margin declared below (the interval shown is then the one "
              "they invert), *undecided* when the cap came first. Other intervals are the looks' repeated confidence "
              "intervals, at the nominal level of the look that decided.")
    claims = claims_table(judged, spent["wall_hours"])
    lead.table(claims)
    for verdict in verdicts:
        why = f" *Why undecided:* {verdict.why}." if verdict.why else ""
        lead.text(f"*{verdict.statement}* — **{verdict.verdict_text()}**. " + " ".join(f"{e}." for e in verdict.evidence) + why)
    lead.heading("Would another tuning budget or reporting rule say otherwise?", 2)
    budget_figures, curves = budget_curves(study, scale, reports, judged.studies, out)
    for _, file, caption in budget_figures:
        lead.figure(file, caption)
    flags = budget_flags(study, curves, reports)
    lead.text(" ".join(f"**Flag:** {flag}." for flag in flags) if flags else
              "No comparison's arms change places in expected best validation score within the tuning budget "
              f"({chosen.trials} trial(s) per arm).")
    peers = peers_table(study, scale, reports, judged.studies, verdicts)
    lead.text("Each comparison judged as other benchmarks report, beside ours: the best of the seeds, the best "
              "tuning trial's test score, one run (seed 0). A point comparison has no interval; ⚑ marks a rule that "
              "names another winner than our verdict (where ours is *no practical difference* or *undecided*, a "
              "winner our seeds do not support); — where a rule has nothing to compare (tuning trials keep only the "
              "task's target metric on test).")
    if not peers.empty:
        lead.table(peers)
    lead.heading("Margins, declared before running", 2)
    lead.text("\n".join(f"- {line}" for line in margins_text(study)) or "No comparison claims.")
    lead.heading("Ours vs the paper", 2)
    if paper.empty:
        lead.text("The paper reports no number for what ran at this scale.")
    else:
        lead.table(paper)
    written = write_collected(judged.collected, out, f"Study {study.name} ({scale} scale)", command or
                              f"bench study report {study.name} --scale {scale}", tracking_uri, storage,
                              lead=lead, lead_tables={"claims": claims, "ours-vs-paper": paper, "peers-rules": peers})
    summary = {"study": study.name, "paper": study.paper, "scale": scale, "differs": chosen.differs,
               "trials": chosen.trials, "seeds": chosen.seeds, "looks": list(design.looks()) if chosen.seeds else [], **spent,
               "machines": machines, "experiments": sorted(reports), "not_run": judged.missing,
               "decided": tally.decided, "claims": [
                   {"claim": v.statement, "verdict": v.verdict_text(), "outcome": v.outcome, "judged": v.judged,
                    "named": v.named, "to_decide": v.needed_text(), "why": v.why, **row}
                   for v, row in zip(verdicts, claims.drop(columns=["claim", "verdict"]).to_dict("records"), strict=True)],
               "generated": f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC"}
    (out / "study.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    if out.resolve().parent.name == "studies" and out.resolve().parent.parent.name == "results":
        write_index(out.resolve().parent)
    return written, verdicts


def _decided(claim: dict[str, Any]) -> bool:
    return claim.get("outcome") not in ("undecided", "inconclusive")


def _tally_line(found: list[dict[str, Any]]) -> str:
    """How many claims are decided, counted apart for reports made before seeds were added in rounds."""
    new, old = [d for d in found if "looks" in d], [d for d in found if "looks" not in d]
    line = (f"**{sum(_decided(c) for d in new for c in d['claims'])} of {sum(len(d['claims']) for d in new)} claims "
            f"decided** in {len(new)} {'study' if len(new) == 1 else 'studies'} judged with rounds of seeds and margins.")
    if old:
        line += (f" Not yet rerun so ({', '.join(d['study'] for d in old)}: {sum(len(d['claims']) for d in old)} claims): "
                 "their reports predate margins and rounds, and their 'inconclusive' is this 'undecided'.")
    return line


def write_index(folder: Path) -> Path:
    """``STUDIES.md`` in ``folder``'s parent: every study report under ``folder`` in one table."""
    found = [{**json.loads(path.read_text()), "folder": path.parent.name} for path in sorted(folder.glob("*/study.json"))]
    lines = ["# Studies: published comparisons rerun, claim by claim", "",
             f"Every `study.json` under `{folder.name}/`, regenerated by `bench study report`. A verdict is "
             "reproduced / contradicted / no practical difference (within the claim's declared margin) / undecided "
             "at the scale shown, by a group-sequential design whose error rates are simulated in "
             "`decision_rule.md`; each report has the evidence per experiment.", "",
             _tally_line(found), "",
             "| study | scale | claim | verdict | test | effect [interval] | margin | n per arm | looks | to decide | wall h | machine | report |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for data in found:
        for claim in data["claims"]:
            lines.append(f"| {data['study']} | {data['scale']} | {claim['claim']} | **{claim['verdict']}** | "
                         f"{claim.get('test', '—')} | {claim.get('effect [interval]', '—')} | {claim.get('margin', '—')} | "
                         f"{claim.get('n per arm', '—')} | {claim.get('looks', '—')} | "
                         f"{claim.get('to decide', claim.get('seeds_to_settle', '—'))} | {data['wall_hours']:.2f} | "
                         f"{'; '.join(data['machines'])} | [{data['folder']}]({folder.name}/{data['folder']}/report.md) |")
    index = folder.parent / "STUDIES.md"
    index.write_text("\n".join(lines) + "\n")
    return index

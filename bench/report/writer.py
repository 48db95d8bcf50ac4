"""``bench report`` and ``bench inspect`` end to end: gather (:mod:`bench.report.collect`), draw
(:mod:`bench.report.figures`), look inside the models (:mod:`bench.report.inspection`), and write
``report.md``, ``report.html``, ``tables/`` (CSV, LaTeX) and ``figures/`` (PNG, SVG) into one folder.

The sections follow the question a reader has, in order: which is better and how sure (1, 2), how
they got there (3), whether it generalises (4), how much the tuning mattered (5), why (6), and how to
reproduce it (7).
"""
from __future__ import annotations

import datetime
import math
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import pandas as pd
from mlflow.tracking import MlflowClient

from bench.core.errors import UsageError
from bench.core.machine import cpu_name, usable_cores
from bench.report import figures, stats
from bench.report.collect import collect
from bench.report.inspection import attention_maps, gradient_table, load_run
from bench.report.render import Document, write_table
from bench.report.tables import TaskReport, win_matrix
from bench.tracking.optuna_store import default_storage_url, redact
from bench.tracking.store import Tracker, default_tracking_uri

if TYPE_CHECKING:
    from bench.core.architecture import WeightMaps

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

MAIN_COLUMNS = ["arch", "parameters", "published", "hyperparameters", "seconds per run", "steps to target"]


def _machine() -> str:
    return f"{platform.system()} {platform.release()}, {cpu_name()}, {usable_cores()} cores, Python {platform.python_version()}"


class Recorded(NamedTuple):
    """What a trained run's weights showed: the run and its attention or memory maps."""

    run_id: str
    maps: WeightMaps


def inside_models(report: TaskReport, client: MlflowClient, folder: Path) -> tuple[pd.DataFrame, dict[str, Recorded]]:
    """Gradient norms (initialisation vs trained) of each architecture's lowest-seed run, and the
    attention / memory weightings of trained ``attention`` and ``ntm`` runs."""

    tables: list[pd.DataFrame] = []
    maps: dict[str, Recorded] = {}
    for arch, runs in report.arch_runs.items():
        run_id = runs.runs.sort_values("params.train.seed", key=lambda s: pd.to_numeric(s, errors="coerce"))["run_id"].iloc[0]
        try:
            loaded = load_run(client, run_id)
            tables.append(gradient_table(loaded, arch))
            found = attention_maps(loaded)
        except Exception as exc:  # weights missing, data file gone: say so, keep the rest of the report
            report.note(6, f"{arch}: cannot look inside run {run_id[:8]} ({str(exc).splitlines()[0][:160]})")
            continue
        if found is not None:
            maps[arch] = Recorded(run_id, found)
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(
        columns=["arch", "run_id", "weights", "distance", "grad_norm"])
    return table, maps


def gradient_summary(gradients: pd.DataFrame) -> pd.DataFrame:
    """Per architecture and weights: the norm one step back, at the farthest distance, and their ratio."""
    rows = []
    for (arch, weights), group in gradients.groupby(["arch", "weights"], sort=False):
        by = group.groupby("distance")["grad_norm"].mean()
        near, far = float(by.iloc[0]), float(by.iloc[-1])
        rows.append({"arch": arch, "weights": weights, "distance 1": near, f"distance {int(by.index[-1])}": far,
                     "far / near": far / near if near > 0 else math.nan})
    return pd.DataFrame(rows)


def _task_sections(doc: dict[int, Document], report: TaskReport, client: MlflowClient, out: Path) -> dict[str, pd.DataFrame]:
    """Add one task's part of every section; return its tables for writing."""
    task, fig_dir = report.name, out / "figures"
    tables: dict[str, pd.DataFrame] = {f"main-{task}": report.main, f"pairwise-{task}": report.pairwise}
    direction = "higher" if report.mode == "max" else "lower"
    options = ", ".join(f"{k}={v}" for k, v in sorted(report.options.items())) or "defaults"
    d = doc[1]
    d.heading(f"{task} ({options})", 3)
    target = f"target {report.target_value:g}" + (f": {report.target_words}" if report.target_words else "")
    d.text(f"Test `{report.metric}` ({direction} is better; {target}), mean ± 95% t-interval "
           f"half-width over seeds, from MLflow experiment `{report.experiment}`; *seconds per run* is the "
           "training loop alone, without data preparation, evaluation and logging.")
    d.table(report.main[["arch", f"test {report.metric}"] + MAIN_COLUMNS[1:]])
    d.text("\n".join(f"**{a}**: {r.source}." for a, r in report.arch_runs.items()))

    d = doc[2]
    d.heading(task, 3)
    if report.pairwise.empty:
        d.text("Only one architecture: nothing to compare.")
    else:
        shown = report.pairwise.copy()
        shown["A − B [95% CI]"] = [f"{r['A − B']:.4g} [{r['ci_low']:.4g}, {r['ci_high']:.4g}]" for _, r in shown.iterrows()]
        d.table(shown[["A", "B", "n A", "n B", "A − B [95% CI]", "welch t", "df", "p (Welch)", "p (permutation)", "verdict"]])
        significant = shown[shown["winner"] != ""]
        first = shown.iloc[0]
        floor = stats.smallest_permutation_p(int(first["n A"]), int(first["n B"]))
        d.text(f"{len(significant)} of {len(shown)} differences are significant at p < 0.05 (Welch's t-test); "
               + ("none is: with these seeds the data do not say which architecture is better."
                  if significant.empty else
                  "; ".join(f"{r['A']} vs {r['B']}: {r['verdict']}" for _, r in significant.iterrows()) + ".")
               + f" With {int(first['n A'])} and {int(first['n B'])} seeds the exact permutation test cannot go "
                 f"below p = {floor:.3g}, so it can only confirm large, consistent gaps.")

    d = doc[3]
    d.heading(task, 3)
    name = figures.learning_curves(report.curves, report.metric, fig_dir, f"{task}-curves")
    d.figure(name, f"{task}: validation {report.metric} against update step (left) and seconds since the run "
                   "started (right); mean over seeds, band ± 1 sd; a run that stopped early keeps its last value.")
    if name is None:
        d.text("No validation history was logged.")
    tables[f"curves-{task}"] = report.curves

    d = doc[4]
    d.heading(task, 3)
    if report.lengths.empty:
        d.text("No longer-length evaluations (`test/lenN/…`): not a synthetic task, or none were asked for.")
    else:
        summary = report.lengths.groupby(["arch", "length"])["value"].agg(["mean", "std", "count"]).reset_index()
        d.figure(figures.length_generalisation(report.lengths, report.metric, fig_dir, f"{task}-lengths"),
                 f"{task}: test {report.metric} against evaluation length; mean over seeds, bars ± 1 sd.")
        d.table(summary.rename(columns={"mean": f"mean {report.metric}", "std": "sd", "count": "n"}))
        tables[f"lengths-{task}"] = summary

    d = doc[5]
    d.heading(task, 3)
    if report.importance.empty and report.trials.empty:
        d.text("No Optuna study behind these runs (they are `bench run` runs): nothing was tuned.")
    else:
        if not report.importance.empty:
            d.table(report.importance[["arch", "study", "param", "importance", "complete_trials"]])
        d.figure(figures.importance(report.importance, fig_dir, f"{task}-importance"),
                 f"{task}: fANOVA importance of each searched hyperparameter per architecture.")
        d.figure(figures.lr_slice(report.trials, report.metric, fig_dir, f"{task}-lr-slice"),
                 f"{task}: objective of every complete trial against its learning rate.")
        tables[f"importance-{task}"] = report.importance
        tables[f"trials-{task}"] = report.trials

    d = doc[6]
    d.heading(task, 3)
    gradients, maps = inside_models(report, client, out)
    tables[f"gradients-{task}"] = gradients
    if gradients.empty:
        d.text("No run's weights could be loaded.")
    else:
        d.figure(figures.gradient_norms(gradients, fig_dir, f"{task}-gradients"),
                 f"{task}: norm of ∂loss/∂state_t against the distance from the scored step (log scale), "
                 "at initialisation (dashed) and after training (solid), each architecture's lowest-seed run on "
                 "32 test sequences. A falling line is a vanishing gradient.")
        d.table(gradient_summary(gradients))
    for arch, found in maps.items():
        kind = found.maps.kind
        d.figure(figures.weight_maps(found.maps, f"{task}: {arch} {kind}, run {found.run_id[:8]}", fig_dir,
                                     f"{task}-{arch}-weights"),
                 f"{task}: {arch} {kind} on one test sequence (trained run {found.run_id[:8]}).")
    for section, notes in report.notes.items():
        for note in notes:
            doc[section].text(f"Note: {note}.")
    return tables


def provenance(doc: Document, reports: Sequence[TaskReport], command: str, tracking_uri: str, storage: str) -> pd.DataFrame:
    rows = []
    for report in reports:
        for arch, runs in report.arch_runs.items():
            for _, run in runs.runs.iterrows():
                rows.append({"task": report.name, "arch": arch, "run_id": run["run_id"],
                             "seed": run.get("params.train.seed"), "made by": run.get("tags.mlflow.source.name"),
                             "study": run.get("tags.sweep.study") or "", "git_commit": run.get("tags.git_commit"),
                             "device": run.get("tags.device"),
                             # sorted: the search's tag columns come in another order in every process
                             **{c[len("tags."):]: run[c] for c in sorted(run.index) if c.startswith("tags.version.")}})
    runs = pd.DataFrame(rows)
    doc.text(f"Report command: `{command}`, generated {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC "
             f"on {_machine()}.")
    doc.text(f"Runs read from MLflow store `{redact(tracking_uri)}`; studies from Optuna storage `{redact(storage)}`.")
    if not runs.empty:
        versions = [c for c in runs if c.startswith("version.")]
        doc.text("Git commits of the runs: " + ", ".join(f"`{c}`" for c in runs["git_commit"].dropna().unique())
                 + ". Devices: " + ", ".join(runs["device"].dropna().astype(str).unique()) + ". Packages: "
                 + "; ".join(f"{c[len('version.'):]} " + "/".join(runs[c].dropna().astype(str).unique()) for c in versions) + ".")
        doc.text("Each run's full config is its MLflow artifact `config.yaml`; `bench run --config config.yaml` "
                 "reruns it (same seed, same device and versions: same metrics). The runs and their seeds:")
        doc.table(runs[["task", "arch", "run_id", "seed", "made by", "study", "git_commit", "device"]])
    return runs


class Written(NamedTuple):
    """A written report: ``report.md``'s path, the warnings that open it (for the caller to show), and
    what it holds as objects, so that a caller (:mod:`bench.api`) need not parse the files back: the
    tables by name (an empty one has no CSV) and the figures' PNG file names (each has an SVG beside
    it in ``figures/``) with their captions."""

    path: Path
    warnings: list[str]
    tables: dict[str, pd.DataFrame]
    figures: dict[str, str]


def write_report(tasks: Sequence[str], out: Path, archs: Sequence[str] | None = None, tracking_uri: str | None = None,
                 storage: str | None = None, experiment: str | None = None, command: str = "bench report") -> Written:
    """Build the whole report for ``tasks`` into ``out`` (see :class:`Written`)."""

    collected = [collect(t, archs, tracking_uri, storage, experiment) for t in tasks]
    return write_collected(collected, Path(out), f"rnnbench report: {', '.join(tasks)}", command, tracking_uri, storage)


def write_collected(collected: Sequence[tuple[TaskReport, MlflowClient]], out: Path, title: str, command: str,
                    tracking_uri: str | None = None, storage: str | None = None, lead: Document | None = None,
                    lead_tables: dict[str, pd.DataFrame] | None = None) -> Written:
    """Write the report of already collected tasks into ``out``, ``lead``'s blocks (a study's
    claims and published numbers) first (see :class:`Written`)."""
    reports = [r for r, _ in collected]
    sections = {1: "1. Main results", 2: "2. Pairwise comparison", 3: "3. Learning curves",
                4: "4. Length generalisation", 5: "5. Hyperparameter importance", 6: "6. Inside the models",
                7: "7. How this was produced"}
    doc = {k: Document(title) for k, title in sections.items()}
    tables: dict[str, pd.DataFrame] = dict(lead_tables or {})
    for report, client in collected:
        tables.update(_task_sections(doc, report, client, out))
    matrix = win_matrix(reports)
    doc[2].heading("Win matrix across tasks", 3)
    doc[2].text(f"Row vs column: wins–ties–losses over the {len(reports)} task(s) where both ran; a win is a "
                "significant difference (Welch p < 0.05) in the row's favour, a tie anything else.")
    doc[2].table(matrix, index=True)
    tables["win-matrix"] = matrix
    tables["runs"] = provenance(doc[7], reports, command, tracking_uri or default_tracking_uri(),
                                storage or default_storage_url())

    names = ", ".join(r.name for r in reports)
    final = Document(title)
    archs_seen = list(dict.fromkeys(a for r in reports for a in r.arch_runs))
    final.text(f"Architectures {', '.join(archs_seen)} on {names}. Tables are also in `tables/` (CSV, LaTeX), "
               "figures in `figures/` (PNG, SVG).")
    warnings = [w for r in reports for w in r.warnings]
    for warning in warnings:
        final.text(f"**Warning:** {warning}.")
    if lead is not None:
        final.blocks += lead.blocks
    for _number, section in doc.items():
        final.heading(section.title, 2)
        final.blocks += section.blocks
    figures_shown = {b.content: b.caption for b in final.blocks if b.kind == "figure"}
    return Written(_write(final, tables, Path(out)), warnings, tables, figures_shown)


def _write(doc: Document, tables: dict[str, pd.DataFrame], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if not frame.empty:
            write_table(frame, out / "tables", name, index=name == "win-matrix")
    (out / "report.md").write_text(doc.markdown())
    (out / "report.html").write_text(doc.html(out / "figures"))
    return out / "report.md"


def write_inspection(run_id: str, out: Path, tracking_uri: str | None = None) -> Path:
    """``bench inspect RUN_ID``: section 6 of a report for one run."""

    out = Path(out)
    if not Tracker.exists(tracking_uri):
        raise UsageError(f"no run {run_id!r}: there is no tracking store here yet (or pass --tracking-uri)")
    loaded = load_run(Tracker(tracking_uri).client, run_id)
    arch, task = loaded.config.model.arch, loaded.config.task.name
    doc = Document(f"Inside run {run_id[:8]}: {arch} on {task}")
    gradients = gradient_table(loaded, arch)
    doc.figure(figures.gradient_norms(gradients, out / "figures", "gradients"),
               "Norm of ∂loss/∂state_t against the distance from the scored step (log scale), at initialisation "
               "(dashed, same seed) and after training (solid), on 32 test sequences.")
    doc.table(gradient_summary(gradients))
    maps = attention_maps(loaded)
    if maps is not None:
        doc.figure(figures.weight_maps(maps, f"{arch} {maps.kind}", out / "figures", "weights"),
                   f"{arch} {maps.kind} on one test sequence.")
    doc.code(loaded.config.to_yaml().rstrip())
    return _write(doc, {"gradients": gradients}, out)

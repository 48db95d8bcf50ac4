"""Reports and published studies from Python: what ``bench report`` and ``bench study`` do, returning
the report's tables as DataFrames, its figures as files (shown inline by a notebook) and the claims'
verdicts as a DataFrame.

As in :mod:`bench.api.running`, the command line calls these same functions and only prints what
they return; the tables come from the code that writes the report (:class:`bench.report.writer.Written`),
never parsed back from its files.
"""
from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from bench.api.running import check_workers, devices_text, names
from bench.core.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

    from bench.core.study import Study
    from bench.report.verdicts import ClaimVerdict
    from bench.report.writer import Written

VERDICT_COLUMNS = ["claim", "verdict", "outcome", "to decide", "why", "evidence"]


@dataclasses.dataclass(frozen=True)
class Figure:
    """One figure of a report: its PNG, the SVG beside it, its caption. A notebook shows it inline."""

    png: Path
    svg: Path
    caption: str

    def _repr_png_(self) -> bytes:
        return self.png.read_bytes()


@dataclasses.dataclass(frozen=True)
class Report:
    """A written report: ``report.md`` (``report.html`` beside it), its tables by name (``main-TASK``,
    ``pairwise-TASK``, ``win-matrix``, ``runs``, ...: the CSVs of ``tables/``, where not empty), its
    figures by name (``TASK-curves``, ...) and the warnings that open it."""

    path: Path
    tables: dict[str, pd.DataFrame]
    figures: dict[str, Figure]
    warnings: tuple[str, ...]


def _report_of(written: Written) -> Report:
    folder = written.path.parent / "figures"
    figures = {Path(file).stem: Figure(folder / file, (folder / file).with_suffix(".svg"), caption)
               for file, caption in written.figures.items()}
    return Report(written.path, dict(written.tables), figures, tuple(written.warnings))


def _command(words: Sequence[str], flags: Mapping[str, object]) -> str:
    """The command line that makes the same report, as its provenance section names it."""
    return " ".join([*words, *(f"--{flag.replace('_', '-')} {value}" for flag, value in flags.items() if value)])


def report(task: str | Sequence[str], arch: str | Sequence[str] | None = None, out: str | Path | None = None,
           tracking_uri: str | None = None, storage: str | None = None, experiment: str | None = None) -> Report:
    """``bench report``: tables, figures and comparisons of the runs and sweeps of ``task`` (several:
    a win matrix across them) into ``out`` (default ``results/report-TASK[-TASK...]``). Never trains."""
    from bench.report.writer import write_report

    tasks = names(task)
    if not tasks:
        raise UsageError("--task needs at least one task name")
    if experiment and len(tasks) > 1:
        raise UsageError("--experiment names one experiment: give one --task with it")
    folder = Path(out or f"results/report-{'-'.join(tasks)}")
    archs = names(arch)
    command = _command(["bench report", f"--task {','.join(tasks)}"], {
        "arch": ",".join(archs), "out": out, "experiment": experiment, "tracking_uri": tracking_uri, "storage": storage})
    return _report_of(write_report(tasks, folder, archs or None, tracking_uri, storage, experiment, command))


@dataclasses.dataclass(frozen=True)
class StudyResult:
    """What a study action gave: ``text`` (list, show); the last sweep's ``table`` (run); the report
    (report: ``report``, its path, tables and figures); the ``verdicts`` (run, report), one row per
    claim (:data:`VERDICT_COLUMNS`); ``skipped``: experiments left out for want of their data (run).
    ``scale``: the label run (a bent budget's included), or the one a report was asked for (None: the
    largest with runs)."""

    name: str | None
    action: str
    scale: str | None = None
    text: str = ""
    table: pd.DataFrame | None = None
    verdicts: pd.DataFrame | None = None
    report: Report | None = None
    skipped: tuple[str, ...] = ()


def verdicts_frame(verdicts: Sequence[ClaimVerdict]) -> pd.DataFrame:
    """The claims' verdicts as ``bench study`` prints them, one row each."""
    import pandas as pd

    return pd.DataFrame([{"claim": v.statement, "verdict": v.verdict_text(), "outcome": v.outcome, "to decide": v.needed_text(),
                          "why": v.why, "evidence": " ".join(f"{e}." for e in v.evidence)} for v in verdicts],
                        columns=VERDICT_COLUMNS)


@dataclasses.dataclass(frozen=True)
class StudyRequest:
    """``bench study``'s options: the scale, its data, a budget of one's own (run only), the workers, where."""

    scale: str | None = None
    data: Sequence[str] = ()
    """``NAME=PATH`` pairs, as ``--data`` takes them."""
    data_dir: str | None = None
    trials: int | None = None
    max_steps: int | None = None
    seeds: int | None = None
    max_seeds: int | None = None
    sampler: str | None = None
    tuning_seed: int | None = None
    experiments: str | None = None
    replace: bool = False
    workers: int | None = None
    devices: str | None = None
    workers_per_device: int = 0
    storage: str | None = None
    out: str | Path | None = None
    tracking_uri: str | None = None
    progress: bool = False


BENDS = ("trials", "max_steps", "seeds", "max_seeds", "sampler", "tuning_seed", "experiments")
"""The :class:`StudyRequest` fields that bend a scale's budget: a run's only, never a report's."""


def study_request(name: str | None, action: str, request: StudyRequest) -> StudyResult:
    """Do ``action`` on study ``name``: the one function behind ``bench study`` and :func:`study`."""
    from bench.core.registry import STUDIES

    if action == "list":
        from bench.study.catalog import listing

        return StudyResult(None, action, text=listing())
    if action not in ("show", "run", "report"):
        raise UsageError(f"bench study {action}: choose from list, show, run, report")
    if not name:
        raise UsageError(f"bench study {action} needs a study name (see `bench study list`)")
    found = STUDIES.get(name)
    if action == "show":
        from bench.study.catalog import describe

        return StudyResult(name, action, text=describe(found))
    return _report(found, request) if action == "report" else _run(found, request)


def _run(study: type[Study], request: StudyRequest) -> StudyResult:
    from bench.study import plan as plans
    from bench.study.rounds import run_rounds
    from bench.study.scales import Bend, bent
    from bench.sweep.orchestrator import SweepOptions, parse_devices, worker_count

    experiments = tuple(e.strip() for e in (request.experiments or "").split(",") if e.strip())
    bend = Bend(request.trials, request.max_steps, request.seeds, request.max_seeds, experiments, request.sampler,
                request.tuning_seed)
    study, scale = bent(study, request.scale or "laptop", bend)  # a bad scale or budget is one line first
    check_workers(request.workers)
    if request.workers_per_device < 0:
        raise UsageError("--workers-per-device must be at least 0")
    devices = parse_devices(request.devices)
    planned = plans.plan(study, scale, plans.parse_data(request.data, study), plans.data_folder(request.data_dir))
    skipped = tuple(planned.skipped) if planned.plans else ()  # with nothing to run, the error says it all
    for line in skipped:
        print(f"bench: skipping {line}", file=sys.stderr)
    options = SweepOptions(workers=worker_count(request.workers or 0, request.workers_per_device, devices), devices=devices,
                           storage=request.storage, tracking_uri=request.tracking_uri, progress=request.progress)
    table, verdicts = run_rounds(planned, options)
    return StudyResult(study.name, "run", scale, table=table, verdicts=verdicts_frame(verdicts), skipped=skipped)


def _report(study: type[Study], request: StudyRequest) -> StudyResult:
    from bench.study.report import write_study_report

    if any(getattr(request, k) is not None for k in BENDS):
        raise UsageError("a report judges the runs as they were run: give --scale LABEL (e.g. laptop~trials=3, as "
                         "`bench study run` printed), not " + "/".join(f"--{k.replace('_', '-')}" for k in BENDS))
    command = _command(["bench study report", study.name], {
        "scale": request.scale, "out": request.out, "tracking_uri": request.tracking_uri, "storage": request.storage})
    written, verdicts = write_study_report(study, request.scale, Path(request.out) if request.out else None,
                                           request.tracking_uri, request.storage, command, request.replace)
    return StudyResult(study.name, "report", request.scale, verdicts=verdicts_frame(verdicts), report=_report_of(written))


def study(name: str | None = None, action: Literal["run", "report", "show", "list"] = "run", *, scale: str | None = None,
          data: Mapping[str, str | Path] | None = None, data_dir: str | Path | None = None, trials: int | None = None,
          max_steps: int | None = None, seeds: int | None = None, max_seeds: int | None = None, sampler: str | None = None,
          tuning_seed: int | None = None, experiments: str | Sequence[str] | None = None, replace: bool = False,
          workers: int | None = None, devices: str | Sequence[int | str] | None = None, workers_per_device: int = 0,
          storage: str | None = None, out: str | Path | None = None, tracking_uri: str | None = None,
          progress: bool = False) -> StudyResult:
    """``bench study ACTION NAME``: ``run`` a published comparison in rounds of seeds until its claims
    are decided (``scale`` default laptop; ``trials`` ... ``experiments`` bend its budget), ``report``
    it (``scale`` default: the largest with runs), ``show`` its protocol, or ``list`` the studies.
    ``data`` names the files it reads, ``{"jsb": "JSB_Chorales.mat"}``, as ``--data jsb=...``."""
    chosen = ",".join(names(experiments)) or None
    request = StudyRequest(scale, [f"{k}={v}" for k, v in (data or {}).items()], str(data_dir) if data_dir else None,
                           trials, max_steps, seeds, max_seeds, sampler, tuning_seed, chosen, replace, workers,
                           devices_text(devices), workers_per_device, storage, out, tracking_uri, progress)
    return study_request(name, action, request)

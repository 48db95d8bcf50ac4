"""``bench study list | show | run | report``: published comparisons, rerun and judged claim by claim.

Kept beside :mod:`bench.cli.main` (which adds this parser and command). Like the rest of the command
line, only the standard library is imported until a command runs.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from bench.cli.report import add_tracking_uri
from bench.core.errors import UsageError

EPILOG = """examples:
  bench study list
  bench study show chung2014
  bench study run chung2014 --scale smoke                     a minute or two: checks the machinery
  bench study run chung2014 --scale laptop --workers 2 --data jsb=JSB_Chorales.mat --data nottingham=Nottingham.mat
  bench study run chung2014 --scale paper --storage postgresql://host/db    # on each machine
  bench study report chung2014                                 results/studies/chung2014/report.md
"""


def add_study_parser(sub: Any) -> None:
    study = sub.add_parser(
        "study", help="rerun a published comparison (studies/) at equal budgets; report each claim's verdict",
        description="A study is a published comparison written as one file in studies/: its experiments (tasks and\n"
                    "data), arms (architectures), protocol (parameter budget, optimizer, tuning trials and seeds per\n"
                    "arm), scales (smoke: CI minutes; laptop: a 2-core CPU, hours at most; paper: the paper's own\n"
                    "budget), published numbers and claims. `run` is `bench sweep` underneath (resumable, parallel\n"
                    "workers, --storage for many machines); `report` is `bench report` plus every claim's verdict\n"
                    "(reproduced / contradicted / inconclusive, with the seeds that would settle it) and ours vs the paper.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    study.add_argument("action", choices=("list", "show", "run", "report"), help="what to do")
    study.add_argument("name", nargs="?", metavar="STUDY", help="a study (see `bench study list`)")
    study.add_argument("--scale", metavar="NAME",
                       help="smoke, laptop or paper (run: default laptop; report: the largest scale with runs)")
    study.add_argument("--data", metavar="NAME=PATH", action="append", default=[],
                       help="a data file or folder the study reads (see `bench study show`); repeatable")
    study.add_argument("--data-dir", metavar="DIR",
                       help="folder holding the data at the paths `bench study show` lists (default: $RNNBENCH_DATA)")
    study.add_argument("--workers", type=int, default=0, help="worker processes (default: one per --devices entry, else 1)")
    study.add_argument("--devices", metavar="0,1,..", help="CUDA devices: one worker per device")
    study.add_argument("--workers-per-device", type=int, default=0, metavar="K", help="with --devices: K workers on each")
    study.add_argument("--storage", metavar="URL", help="Optuna storage (default as for `bench sweep`)")
    study.add_argument("--out", metavar="DIR", help="report folder (default: results/studies/STUDY)")
    add_tracking_uri(study)
    study.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_study(args: argparse.Namespace) -> int:
    from bench.core.registry import STUDIES

    if args.action == "list":
        from bench.study.catalog import listing

        print(listing())
        return 0
    if not args.name:
        raise UsageError(f"bench study {args.action} needs a study name (see `bench study list`)")
    study = STUDIES.get(args.name)
    if args.action == "show":
        from bench.study.catalog import describe

        print(describe(study))
        return 0
    if args.action == "report":
        return _report(study, args)
    return _run(study, args)


def _run(study: Any, args: argparse.Namespace) -> int:
    from bench.study import plan as plans
    from bench.sweep.orchestrator import SweepOptions, parse_devices, worker_count

    scale = args.scale or "laptop"
    study.scale(scale)  # an unknown scale is one line before any work
    if args.workers < 0 or args.workers_per_device < 0:
        raise UsageError("--workers and --workers-per-device must be at least 0")
    devices = parse_devices(args.devices)
    planned = plans.plan(study, scale, plans.parse_data(args.data, study), plans.data_folder(args.data_dir))
    for line in planned.skipped if planned.plans else []:  # with nothing to run, the error says it all
        print(f"bench: skipping {line}", file=sys.stderr)
    options = SweepOptions(workers=worker_count(args.workers, args.workers_per_device, devices), devices=devices,
                           storage=args.storage, tracking_uri=args.tracking_uri, progress=not args.no_progress)
    table = plans.run(planned, options)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"\nnext: bench study report {study.name} --scale {scale}")
    return 0


def _report(study: Any, args: argparse.Namespace) -> int:
    from pathlib import Path

    from bench.study.report import write_study_report

    out = Path(args.out or f"results/studies/{study.name}")
    command = " ".join(["bench study report", study.name] + [f"--{flag.replace('_', '-')} {getattr(args, flag)}" for flag in
                                                             ("scale", "out", "tracking_uri", "storage") if getattr(args, flag)])
    path, verdicts, warnings = write_study_report(study, args.scale, out, args.tracking_uri, args.storage, command)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for verdict in verdicts:
        needed = f" (seeds to settle: {verdict.needed_text()})" if verdict.outcome == "inconclusive" else ""
        print(f"{verdict.verdict_text()}: {verdict.statement}{needed}")
    index = out.resolve().parent.parent / "STUDIES.md"
    print(f"wrote {path} and {path.with_suffix('.html')}" + (f"; index: {index}" if out.resolve().parent.name == "studies" else ""))
    return 0

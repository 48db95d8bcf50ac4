"""``bench study list | show | run | report``: published comparisons, rerun and judged claim by claim.

Kept beside :mod:`bench.cli.main` (which adds this parser and command). Like the rest of the command
line, only the standard library is imported until a command runs.
"""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bench.cli.report import add_tracking_uri

if TYPE_CHECKING:
    import pandas as pd

    from bench.api.reading import Report
    from bench.cli.report import Subcommands

EPILOG = """examples:
  bench study list
  bench study show chung2014
  bench study run chung2014 --scale smoke                     a minute or two: checks the machinery
  bench study run chung2014 --scale laptop --workers 2 --data jsb=JSB_Chorales.mat --data nottingham=Nottingham.mat
  bench study run chung2014 --scale paper --storage postgresql://host/db    # on each machine
  bench study run le2015 --scale laptop --max-seeds 20 --experiments adding150     your own budget
  bench study report chung2014                                 results/studies/chung2014/report.md

Seeds are added in rounds: the first look's seeds per arm, then every claim judged, then more seeds
only for the arms of undecided claims, up to the scale's cap (--max-seeds), under a group-sequential
design that keeps false verdicts of one comparison at 5% (results/decision_rule.md). The same
command resumes.
A report at another scale than laptop goes to .bench/reports/ unless --out says otherwise, and never
replaces a report of another scale without --replace.
"""


def add_study_parser(sub: Subcommands) -> None:
    study = sub.add_parser(
        "study", help="rerun a published comparison (studies/) at equal budgets; report each claim's verdict",
        description="A study is a published comparison written as one file in studies/: its experiments (tasks and\n"
                    "data), arms (architectures), protocol (parameter budget, optimizer, tuning trials and seeds per\n"
                    "arm), scales (smoke: CI minutes; laptop: a 2-core CPU, hours at most; paper: the paper's own\n"
                    "budget), published numbers and claims. `run` is `bench sweep` underneath (resumable, parallel\n"
                    "workers, --storage for many machines); `report` is `bench report` plus every claim's verdict\n"
                    "(reproduced / contradicted / no practical difference within its declared margin / undecided, with why)\n"
                    "and ours vs the paper.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    study.add_argument("action", choices=("list", "show", "run", "report"), help="what to do")
    study.add_argument("name", nargs="?", metavar="STUDY", help="a study (see `bench study list`)")
    study.add_argument("--scale", metavar="NAME",
                       help="smoke, laptop or paper (run: default laptop; report: the largest scale with runs)")
    study.add_argument("--data", metavar="NAME=PATH", action="append", default=[],
                       help="a data file or folder the study reads (see `bench study show`); repeatable")
    study.add_argument("--data-dir", metavar="DIR",
                       help="folder holding the data at the paths `bench study show` lists (default: $RNNBENCH_DATA)")
    bend = study.add_argument_group("your own budget (run: a scale of its own, e.g. laptop~max_seeds=20, said in its report)")
    bend.add_argument("--trials", type=int, metavar="N", help="tuning trials per arm and experiment")
    bend.add_argument("--max-steps", type=int, metavar="N", help="updates per run at most")
    bend.add_argument("--seeds", type=int, metavar="N", help="seeds per arm at the first look (default: the scale's)")
    bend.add_argument("--max-seeds", type=int, metavar="N", help="seeds per arm at most: the cap of the rounds")
    bend.add_argument("--sampler", choices=("tpe", "random"),
                      help="tuning search (random: the expected-best-vs-trials figure is then exact)")
    bend.add_argument("--tuning-seed", type=int, metavar="N",
                      help="repeat the whole tuning with other draws (N >= 1): how much the verdicts owe to tuning")
    bend.add_argument("--experiments", metavar="A,B", help="only these of the scale's experiments")
    study.add_argument("--replace", action="store_true", help="report: overwrite a report of another scale in --out")
    study.add_argument("--workers", type=int, default=None, help="worker processes (default: one per --devices entry, else 1)")
    study.add_argument("--devices", metavar="0,1,..", help="CUDA devices: one worker per device")
    study.add_argument("--workers-per-device", type=int, default=0, metavar="K", help="with --devices: K workers on each")
    study.add_argument("--storage", metavar="URL", help="Optuna storage (default as for `bench sweep`)")
    study.add_argument("--out", metavar="DIR", help="report folder (default: results/studies/STUDY at the laptop "
                       "scale, else .bench/reports/studies/STUDY@SCALE)")
    add_tracking_uri(study)
    study.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_study(args: argparse.Namespace) -> int:
    from bench.api.reading import StudyRequest, study_request

    request = StudyRequest(
        scale=args.scale, data=args.data, data_dir=args.data_dir, trials=args.trials, max_steps=args.max_steps,
        seeds=args.seeds, max_seeds=args.max_seeds, sampler=args.sampler, tuning_seed=args.tuning_seed,
        experiments=args.experiments, replace=args.replace, workers=args.workers, devices=args.devices,
        workers_per_device=args.workers_per_device, storage=args.storage, out=args.out, tracking_uri=args.tracking_uri,
        progress=not args.no_progress)
    result = study_request(args.name, args.action, request)
    if result.text:
        print(result.text)
    elif result.report is None:
        assert result.table is not None and result.verdicts is not None
        print(result.table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print()
        for verdict in result.verdicts.itertuples():
            print(f"{verdict.verdict}: {verdict.claim}")
        print(f"\nnext: bench study report {result.name} --scale {result.scale}")
    else:
        assert result.verdicts is not None
        _print_report(result.report, result.verdicts)
    return 0


def _print_report(report: Report, verdicts: pd.DataFrame) -> None:
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for _, verdict in verdicts.iterrows():
        needed = f" ({verdict['to decide']})" if verdict["outcome"] == "undecided" else ""
        print(f"{verdict['verdict']}: {verdict['claim']}{needed}")
    path = report.path
    folder = path.parent.resolve()
    index = folder.parent.parent / "STUDIES.md"
    print(f"wrote {path} and {path.with_suffix('.html')}" + (f"; index: {index}" if index.exists() and folder.parent.name == "studies" else ""))

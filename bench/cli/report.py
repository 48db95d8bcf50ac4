"""``bench report``, ``bench ui`` and ``bench inspect``: the reading side of the command line.

Kept beside :mod:`bench.cli.main` (which adds these parsers and commands) so that the run/sweep CLI and
the report CLI can change independently. Like ``bench.cli.main``, only the standard library is imported
until a command runs.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]
    """What ``add_subparsers`` returns: each module of the command line adds its commands to it."""


def add_tracking_uri(parser: argparse.ArgumentParser) -> None:
    """``--tracking-uri``, as every command that reads runs takes it."""
    parser.add_argument("--tracking-uri", metavar="URI", help="MLflow store (default as for `bench run`)")


def add_report_parsers(sub: Subcommands) -> None:
    report = sub.add_parser(
        "report", help="tables, figures and verdicts from a task's runs and sweeps (report.md/.html)",
        description="Turn a task's finished runs (sweep seed reruns, else `bench run` runs with identical configs\n"
                    "apart from the seed) and Optuna studies into report.md and report.html, tables as CSV and\n"
                    "LaTeX, figures as PNG and SVG: main table with 95% CIs, pairwise tests and a win matrix,\n"
                    "learning curves, length generalisation, hyperparameter importance, gradient norms and\n"
                    "attention/memory maps, and how it was produced. Reads only; never trains.",
        epilog="examples:\n  bench report --task parity\n"
               "  bench report --task parity,copy,addition --arch gru,lstm,vanilla --out results/synthetic\n"
               "  bench report --task music --experiment music-jsb-benchmark",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    report.add_argument("--task", required=True, metavar="NAME[,NAME...]", help="task(s); several give a win matrix across them")
    report.add_argument("--arch", metavar="NAME[,NAME...]", help="architectures to include (default: every one with runs)")
    report.add_argument("--out", metavar="DIR", help="output folder (default: results/report-TASK[-TASK...])")
    report.add_argument("--experiment", metavar="NAME", help="MLflow experiment to read (default: the task name; one task only)")
    add_tracking_uri(report)
    report.add_argument("--storage", metavar="URL", help="Optuna storage of the sweeps (default as for `bench sweep`)")

    ui = sub.add_parser("ui", help="the MLflow UI on this harness's runs (prints the URL)",
                        description="Start the MLflow UI on the tracking store (loopback only, a free port unless "
                                    "--port) and print its URL, then each experiment's runs table (architecture, "
                                    "parameters and test metric as columns, best first); runs until Ctrl-C.")
    ui.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    add_tracking_uri(ui)

    inspect = sub.add_parser("inspect", help="gradient norms over time and attention/memory maps of one run",
                             description="Section 6 of a report for one run: the norm of dloss/dstate_t against the "
                                         "distance from the scored step at initialisation and after training (from the "
                                         "run's saved weights), and attention or NTM read/write weightings.")
    inspect.add_argument("run_id", metavar="RUN_ID", help="MLflow run id (see `bench runs --task TASK`)")
    inspect.add_argument("--out", metavar="DIR", help="output folder (default: results/inspect-RUNID8)")
    add_tracking_uri(inspect)


def cmd_report(args: argparse.Namespace) -> int:
    from bench.api.reading import report

    written = report(args.task, args.arch, args.out, args.tracking_uri, args.storage, args.experiment)
    for warning in written.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    out = written.path.parent
    print(f"wrote {written.path} and {written.path.with_suffix('.html')} (tables: {out / 'tables'}, figures: {out / 'figures'})")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from bench.tracking.ui import serve

    return serve(args.port, args.tracking_uri)


def cmd_inspect(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bench.report.writer import write_inspection

    out = Path(args.out or f"results/inspect-{args.run_id[:8]}")
    path = write_inspection(args.run_id, out, args.tracking_uri)
    print(f"wrote {path} and {path.with_suffix('.html')}")
    return 0


REPORT_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "report": cmd_report, "ui": cmd_ui, "inspect": cmd_inspect}

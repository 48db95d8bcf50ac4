"""The ``bench`` command line.

Only the standard library is imported at start-up; torch, Lightning and MLflow are imported by the
subcommand that needs them, so ``bench --help`` answers at once. Every user mistake becomes one
line on stderr and exit code 2; a run that fails after starting exits 1 and is FAILED in MLflow.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bench.cli.listing import add_list_parser, cmd_list
from bench.cli.report import REPORT_COMMANDS, add_report_parsers, add_tracking_uri
from bench.cli.study import add_study_parser, cmd_study
from bench.core.errors import DiskFull, RunFailed, Terminated, UsageError, disk_full_line, forget_signals, raise_on_signal

if TYPE_CHECKING:
    import pandas as pd

    from bench.api.running import Run, Settings
    from bench.cli.report import Subcommands

EXAMPLES = """examples:
  bench run --task parity --arch gru              train on the defaults, log to MLflow
  bench run --task parity --arch lstm --opt length=16 --opt score=final
  bench run --config run.yaml --seed 3            rerun a logged config with another seed
  bench list                                      tasks and architectures
  bench list parity                               one task's options and their defaults
  bench runs --task parity --format md            logged runs as a table
  bench sweep --task parity --arch gru,lstm --trials 50 --workers 2 --seeds 5
  bench reproduce RUN_ID                          rerun a logged run, compare every metric
  bench run --resume RUN_ID                       continue a killed run from its last checkpoint
  bench study list                                published comparisons to rerun (bench study --help)
  bench study run chung2014 --scale laptop        one, claim by claim; then bench study report chung2014
"""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) instead of a usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _section_options(parser: argparse.ArgumentParser) -> None:
    """One ``--flag`` per config field, help and default taken from the dataclass (never written twice)."""
    from bench.core.config import ModelConfig, TaskConfig, TrainConfig
    from bench.core.options import describe

    renamed = {"name": "task", "arch": "arch"}
    for title, cls in (("task", TaskConfig), ("model", ModelConfig), ("training", TrainConfig)):
        group = parser.add_argument_group(f"{title} options")
        for name, type_name, default, help_text in describe(cls):
            if name == "options":
                continue
            help_text = help_text.replace("%", "%%")  # argparse formats help with %
            flag = "--" + renamed.get(name, name).replace("_", "-")
            if type_name == "bool":
                group.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None,
                                   help=f"{help_text} (default: {default})")
            else:
                metavar = "NAME" if name in renamed else name.upper().replace("_", "")
                group.add_argument(flag, dest=name, default=None, metavar=metavar,
                                   help=f"{help_text} (default: {default})")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bench",
        description="rnnbench: which recurrent architecture is best for this kind of sequence, and how sure are we?",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub: Subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser(
        "run", help="train one task x architecture, evaluate it, log it to MLflow",
        description="Train one task with one architecture, evaluate train/val/test (and longer lengths), "
                    "and log everything to MLflow. Precedence: defaults < task recommendations < --config < flags.",
    )
    run.add_argument("--config", metavar="FILE", help="YAML config (e.g. a run's logged config.yaml)")
    run.add_argument("--resume", metavar="RUN_ID",
                     help="continue a stopped (killed, failed, interrupted) run in the same MLflow run from its "
                          "last checkpoint, with its logged config")
    run.add_argument("--opt", metavar="KEY=VALUE", action="append", default=[],
                     help="a task or architecture option (see `bench list NAME`); repeatable; "
                          "prefix task. or model. if both have KEY")
    _section_options(run)
    tracking = run.add_argument_group("tracking")
    tracking.add_argument("--tracking-uri", metavar="URI",
                          help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite in $RNNBENCH_HOME or ./.bench); "
                               "an http:// server's outage is waited out for $RNNBENCH_TRACKING_PATIENCE s (180)")
    tracking.add_argument("--experiment", metavar="NAME", help="MLflow experiment (default: the task name)")
    tracking.add_argument("--run-name", metavar="NAME", help="MLflow run name (default: MLflow picks one)")
    tracking.add_argument("--no-progress", action="store_true",
                          help="no progress output (default: a live bar on a terminal, a plain line per validation in a file or pipe)")
    tracking.add_argument("--dry-run", action="store_true", help="print the resolved config as YAML and exit")

    add_list_parser(sub)

    runs = sub.add_parser("runs", help="table of logged runs of a task",
                          description="Read a task's runs back from MLflow into a table.")
    runs.add_argument("--task", required=True, metavar="NAME", help="task (MLflow experiment) to list")
    runs.add_argument("--format", choices=("table", "md", "csv"), default="table", help="output format (default: table)")
    runs.add_argument("--all-columns", action="store_true", help="every param, metric and tag, not the summary")
    add_tracking_uri(runs)
    runs.add_argument("--experiment", metavar="NAME", help="experiment to read (default: the task name)")
    _add_sample_parser(sub)
    _add_sweep_parser(sub)
    add_report_parsers(sub)
    add_study_parser(sub)
    _add_reproduce_parser(sub)
    return parser


def _add_sweep_parser(sub: Subcommands) -> None:
    """``bench sweep``: an Optuna study per architecture, run by parallel workers (bench.sweep.orchestrator)."""
    sweep = sub.add_parser(
        "sweep", help="tune each architecture with Optuna (same budget each), then rerun the best over seeds",
        description="One Optuna study per architecture (named TASK/ARCH/params=N), run by parallel worker\n"
                    "processes; every trial is an MLflow run under the study's parent run. Running the same\n"
                    "command again resumes. `bench sweep status --task T` shows the studies. --arch takes a\n"
                    "comma-separated list; the run flags below fix everything that is not searched.",
        epilog="examples:\n  bench sweep --task parity --arch gru,lstm --trials 50 --workers 2\n"
               "  bench sweep --task music --arch gru,lstm,vanilla --trials 200 --params 20000 --seeds 5\n"
               "  bench sweep --task parity --arch gru --storage postgresql://host/db \\\n"
               "      --tracking-uri http://mlflow-host:5000   # the same on each machine (docs/sweeps.md: Many machines)\n"
               "  bench sweep status --task parity\n  optuna-dashboard sqlite:///.bench/optuna.db",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sweep.add_argument("action", nargs="?", choices=("run", "status"), default="run",
                       help="run (default) or status: trials done/running/failed/pruned per study, best so far")
    group = sweep.add_argument_group("sweep")
    group.add_argument("--trials", type=int, default=20, help="trials per architecture (default: 20)")
    group.add_argument("--seeds", type=int, default=0,
                       help="afterwards, rerun each architecture's best configuration with seeds 0..N-1 (default: 0)")
    group.add_argument("--workers", type=int, default=None,
                       help="worker processes on this machine (default: one per --devices entry, else 1)")
    group.add_argument("--devices", metavar="0,1,..", help="CUDA devices: one worker per device, pinned with CUDA_VISIBLE_DEVICES")
    group.add_argument("--workers-per-device", type=int, default=0, metavar="K",
                       help="with --devices: K workers on each device (default: 1)")
    group.add_argument("--storage", metavar="URL",
                       help="Optuna storage (default: sqlite in $RNNBENCH_HOME or ./.bench); postgresql://... for many machines")
    group.add_argument("--sampler", choices=("tpe", "random"), default="tpe",
                       help="tpe (default) or random search, as Greff et al. 2017")
    group.add_argument("--pruner", choices=("median", "hyperband", "none"), default="median",
                       help="stop unpromising trials early (default: median)")
    group.add_argument("--space", metavar="FILE", help="YAML of search-space overrides (key: spec, or key: null to drop)")
    group.add_argument("--study-suffix", default="", metavar="TEXT", help="start separate studies named .../TEXT")
    group.add_argument("--heartbeat", type=int, default=10,
                       help="seconds between worker heartbeats; a trial silent for 3 beats is failed and retried (default: 10)")
    group.add_argument("--max-failures", type=int, default=0,
                       help="stop a study after this many failed trials (default: max(10, --trials))")
    sweep.add_argument("--config", metavar="FILE", help="YAML config for the fixed part of every trial")
    sweep.add_argument("--opt", metavar="KEY=VALUE", action="append", default=[], help="a task or architecture option")
    _section_options(sweep)
    add_tracking_uri(sweep)
    sweep.add_argument("--format", choices=("table", "md", "csv"), default="table", help="summary format")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_sweep(args: argparse.Namespace) -> int:
    from bench.api.running import SweepRequest, sweep_settings, sweep_status

    if args.action == "status":
        _print_table(sweep_status(args.name, args.storage), args.format)
        return 0
    request = SweepRequest(
        trials=args.trials, seeds=args.seeds, workers=args.workers, devices=args.devices,
        workers_per_device=args.workers_per_device, storage=args.storage, sampler=args.sampler, pruner=args.pruner,
        space=args.space, study_suffix=args.study_suffix, heartbeat=args.heartbeat, max_failures=args.max_failures,
        tracking_uri=args.tracking_uri, progress=not args.no_progress)
    _print_table(sweep_settings(run_settings(args), request), args.format)
    return 0


def _print_table(table: pd.DataFrame, form: str) -> None:
    if form == "csv":
        print(table.to_csv(index=False), end="")
    elif form == "md":
        print(table.to_markdown(index=False, floatfmt=".4g"))
    else:
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def _add_sample_parser(sub: Subcommands) -> None:
    """``bench sample``: text from a trained character-level model (bench.train.sample)."""
    sample = sub.add_parser("sample", help="generate text from a trained charlm run",
                            description="Generate text from a logged run's saved weights (model.pt), "
                                        "one character at a time. The run's data file must still be readable.")
    sample.add_argument("run_id", metavar="RUN_ID", help="MLflow run id (see `bench runs --task charlm`)")
    sample.add_argument("--chars", type=int, default=500, help="characters to generate (default: 500)")
    sample.add_argument("--temperature", type=float, default=0.8,
                        help="softmax temperature: lower is more conservative (default: 0.8)")
    sample.add_argument("--prime", default="\n", help="text read before sampling (default: a newline)")
    sample.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    add_tracking_uri(sample)


def cmd_sample(args: argparse.Namespace) -> int:
    from bench.train.sample import load_run_model, sample

    task, model = load_run_model(args.run_id, args.tracking_uri)
    print(sample(task, model, args.chars, args.temperature, args.seed, args.prime))
    return 0


def _parse_opts(pairs: Sequence[str]) -> dict[str, object]:
    from bench.core.options import parse_scalar

    options: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--opt {pair!r}: write KEY=VALUE, e.g. --opt length=16")
        options[key.strip()] = parse_scalar(value)
    return options


def run_settings(args: argparse.Namespace) -> Settings:
    """What the config flags, ``--opt`` and ``--config`` ask for, as :mod:`bench.api` resolves it
    (the flags' strings are read there, as an API keyword's string is)."""
    from bench.api.running import Settings, config_fields

    return Settings({name: getattr(args, name, None) for name in config_fields()}, _parse_opts(args.opt), args.config)


def cmd_run(args: argparse.Namespace) -> int:
    from bench.api.running import run_config, run_resolved

    config = run_config(run_settings(args), args.resume, args.tracking_uri)
    if args.dry_run:
        print(config.to_yaml(), end="")
        return 0
    result = run_resolved(config, args.tracking_uri, args.experiment, args.run_name, not args.no_progress, args.resume)
    print(format_result(result))
    return 0


def format_result(result: Run) -> str:
    """What ``bench run`` prints at the end: final metrics per split, the run id, where to look."""
    config, uri = result.config, result.tracking_uri
    table = result.table().to_string(float_format=lambda v: f"{v:.4f}")
    ui = f"mlflow ui --backend-store-uri {uri}" if uri.startswith("sqlite") else uri
    return (
        f"\n{config.task.name} x {config.model.arch}: {result.num_parameters:,} parameters, "
        f"{result.steps} steps in {result.seconds:.1f} s on {result.device} ({result.stop_reason})\n"
        f"{table}\n"
        f"MLflow run {result.run_id} (experiment {result.experiment!r}); browse: {ui}"
    )


def _add_reproduce_parser(sub: Subcommands) -> None:
    reproduce = sub.add_parser(
        "reproduce", help="rerun a logged run from its config; print old vs new metrics",
        description="Rerun a finished run from its logged config.yaml (as a new run tagged reproduces=RUN_ID) "
                    "and print every final metric old vs new. Warns where the code commit or package versions "
                    "differ. Exit code 0 if all metrics are identical, 1 if not.")
    reproduce.add_argument("run_id", metavar="RUN_ID", help="MLflow run id (see `bench runs --task TASK`)")
    add_tracking_uri(reproduce)
    reproduce.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_reproduce(args: argparse.Namespace) -> int:
    from bench.train.reproduce import reproduce

    table, identical, differences, new_id = reproduce(args.run_id, args.tracking_uri, not args.no_progress)
    for line in differences:
        print(f"bench: warning: {line}", file=sys.stderr)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    if not identical:
        raise RunFailed(f"run {new_id} does not reproduce run {args.run_id}: "
                        f"{int((~table['identical']).sum())} of {len(table)} metrics differ")
    print(f"run {new_id} reproduces run {args.run_id}: all {len(table)} metrics identical")
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from bench.api.running import runs

    _print_table(runs(args.task, args.experiment, args.tracking_uri, args.all_columns), args.format)
    return 0


COMMANDS = {"run": cmd_run, "list": cmd_list, "runs": cmd_runs, "sample": cmd_sample, "sweep": cmd_sweep,
            "reproduce": cmd_reproduce, "study": cmd_study}
COMMANDS.update(REPORT_COMMANDS)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    if threading.current_thread() is threading.main_thread():  # SIGTERM (a scheduler, `timeout`) like Ctrl-C
        signal.signal(signal.SIGTERM, raise_on_signal)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not when started with it ignored
            signal.signal(signal.SIGINT, raise_on_signal)
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except RunFailed as exc:
        print(f"bench: {exc}" if isinstance(exc, DiskFull) else f"bench: run failed: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        forget_signals()
        print("bench: interrupted", file=sys.stderr)
        return 130
    except Terminated as exc:
        forget_signals()
        print(f"bench: {exc}; what was running is marked KILLED, and the same command resumes it", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # `bench list | head`: the reader has gone; nothing is wrong, nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if (line := disk_full_line(exc)) is None:
            raise
        print(line, file=sys.stderr)
        return 1



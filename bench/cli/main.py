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
from bench.cli.report import REPORT_COMMANDS, add_report_parsers, add_tracking_uri, check_workers
from bench.cli.study import add_study_parser, cmd_study
from bench.core.errors import DiskFull, RunFailed, Terminated, UsageError, disk_full_line, forget_signals, raise_on_signal

if TYPE_CHECKING:
    import pandas as pd

    from bench.cli.report import Subcommands
    from bench.core.config import RunConfig
    from bench.train.run import RunResult

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
    from bench.sweep import orchestrator as sweeps

    if args.action == "status":
        from bench.tracking.optuna_store import open_storage, status_table

        if not args.name:
            raise UsageError("bench sweep status needs --task NAME")
        _print_table(status_table(open_storage(args.storage), args.name), args.format)
        return 0
    for flag in ("trials", "workers_per_device", "heartbeat", "max_failures", "seeds"):
        low = 1 if flag in ("trials", "heartbeat") else 0
        if getattr(args, flag) < low:
            raise UsageError(f"--{flag.replace('_', '-')} must be at least {low}")
    check_workers(args.workers)
    devices = sweeps.parse_devices(args.devices)
    workers = sweeps.worker_count(args.workers or 0, args.workers_per_device, devices)
    if not args.arch:
        raise UsageError("bench sweep needs --arch NAME[,NAME...] (see `bench list`)")
    space = None
    if args.space:
        from bench.sweep.search_space import load_space_file

        space = load_space_file(args.space)
    plans = []
    for arch in dict.fromkeys(a.strip() for a in args.arch.split(",") if a.strip()):
        plans.append(sweeps.plan_study(resolve_run_config(args, arch=arch), space, args.study_suffix))
    options = sweeps.SweepOptions(
        trials=args.trials, seeds=args.seeds, workers=workers, devices=devices,
        storage=args.storage, tracking_uri=args.tracking_uri, sampler=args.sampler, pruner=args.pruner,
        heartbeat=args.heartbeat, max_failures=args.max_failures, progress=not args.no_progress)
    _print_table(sweeps.run_sweep(plans, options), args.format)
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


def resolve_run_config(args: argparse.Namespace, arch: str | None = None) -> RunConfig:
    """The RunConfig the flags ask for (``arch`` replaces ``--arch``: a sweep resolves one per architecture)."""
    from bench.core.config import load_yaml, section_fields
    from bench.core.options import parse_scalar
    from bench.core.resolve import resolve

    yaml_values = load_yaml(args.config) if args.config else {}
    overrides: dict[str, dict[str, object]] = {"task": {}, "model": {}, "train": {}}
    for section in overrides:
        for name in section_fields(section):
            value = arch if (name == "arch" and arch) else getattr(args, name, None)
            if value is not None:
                overrides[section][name] = parse_scalar(value) if isinstance(value, str) and name not in ("name", "arch", "device") else value
    return resolve(yaml_values, overrides, _parse_opts(args.opt))


def cmd_run(args: argparse.Namespace) -> int:
    config = _resumed_config(args) if args.resume else resolve_run_config(args)
    if args.dry_run:
        print(config.to_yaml(), end="")
        return 0
    from bench.tracking.store import Tracker

    tracker = Tracker(args.tracking_uri)  # a bad store is one line now, before the training stack loads
    from bench.train.run import run

    result = run(config, tracker, experiment=args.experiment, run_name=args.run_name,
                 progress=not args.no_progress, resume=args.resume)
    print(format_result(config, result, args.tracking_uri, args.experiment))
    return 0


def format_result(config: RunConfig, result: RunResult, tracking_uri: str | None,
                  experiment: str | None = None) -> str:
    """What ``bench run`` prints at the end: final metrics per split, the run id, where to look."""
    from bench.tracking.runs import metrics_frame
    from bench.tracking.store import default_tracking_uri

    uri = tracking_uri or default_tracking_uri()
    table = metrics_frame(result.metrics).to_string(float_format=lambda v: f"{v:.4f}")
    ui = f"mlflow ui --backend-store-uri {uri}" if uri.startswith("sqlite") else uri
    return (
        f"\n{config.task.name} x {config.model.arch}: {result.num_parameters:,} parameters, "
        f"{result.steps} steps in {result.seconds:.1f} s on {result.device} ({result.stop_reason})\n"
        f"{table}\n"
        f"MLflow run {result.run_id} (experiment {(experiment or config.task.name)!r}); browse: {ui}"
    )


def _resumed_config(args: argparse.Namespace) -> RunConfig:
    """A resumed run keeps its logged config: other config flags would make it a different run."""
    from bench.core.config import section_fields
    from bench.tracking.logged import logged_config, open_logged_run

    given = [name for section in ("task", "model", "train") for name in section_fields(section)
             if getattr(args, name, None) is not None and name not in ("name", "arch")]
    if given or args.config or args.opt:
        flags = ", ".join(f"--{n.replace('_', '-')}" for n in given) or "--config/--opt"
        raise UsageError(f"--resume continues the run's logged config; drop {flags}")
    tracker, _ = open_logged_run(args.resume, args.tracking_uri)
    config = logged_config(tracker.client, args.resume)
    for flag, asked, logged in (("--task", args.name, config.task.name), ("--arch", args.arch, config.model.arch)):
        if asked is not None and asked != logged:
            raise UsageError(f"run {args.resume} is {flag} {logged}, not {asked}")
    return config


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
    from bench.tracking.runs import runs_table

    table = runs_table(args.task, tracking_uri=args.tracking_uri, experiment=args.experiment,
                       all_columns=args.all_columns)
    _print_table(table, args.format)
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



"""``bench sweep``: the fair "GRU or LSTM?" — each architecture gets the same tuning budget.

For each architecture: one Optuna study (:mod:`bench.tracking.optuna_store`) of ``--trials`` trials over its
search space (:mod:`bench.sweep.search_space`), then, with ``--seeds N``, its best configuration rerun
with seeds 0..N-1 — the runs reports compare. The work is done by worker processes
(:mod:`bench.sweep.worker`), one per share of the CPU cores or one per GPU; this process prepares the
studies and their MLflow parent runs, starts the workers, shows progress, restarts a worker that
died, and on Ctrl-C stops them cleanly. Re-running the same command resumes: studies only ever grow
to the requested count.
"""
from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import optuna
from optuna.storages import BaseStorage
from tqdm.auto import tqdm

from bench.core.errors import DiskFull, RunFailed, Terminated, UsageError, disk_full, raise_if_signalled
from bench.core.machine import usable_cores
from bench.core.network import build_task
from bench.core.registry import ARCHITECTURES, TASKS
from bench.sweep.jobs import EXIT_DISK_FULL, EXIT_TOO_MANY_FAILURES, Job, WorkerSpec
from bench.sweep.search_space import build_space
from bench.sweep.summary import summary_table
from bench.tracking.optuna_store import (
    ATTR_PARENT_RUN,
    DONE_STATES,
    Direction,
    claim_lock,
    create_or_check,
    open_storage,
    study_name,
    trial_counts,
)
from bench.tracking.outages import TrackingUnavailable
from bench.tracking.store import Tracker, bench_home

if TYPE_CHECKING:
    import pandas as pd
    from optuna.storages import RDBStorage

    from bench.core.config import RunConfig, Sections
    from bench.sweep.search_space import Space


@dataclasses.dataclass
class StudyPlan:
    """One architecture's study: its name, direction, space and fixed (resolved) config."""

    arch: str
    name: str
    direction: Direction
    space: Space
    config: RunConfig
    experiment: str | None = None
    """The MLflow experiment of its runs (default: the task's name; a study's runs go to the study's)."""
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    """Tags each of its runs carries (a study's experiment and arm: columns of the MLflow runs table)."""

    @property
    def seeds_name(self) -> str:
        return f"{self.name}/seeds"


@dataclasses.dataclass
class SweepOptions:
    trials: int = 20
    seeds: int = 0
    workers: int = 1
    devices: Sequence[str] = ()
    storage: str | None = None
    tracking_uri: str | None = None
    sampler: str = "tpe"
    tuning_seed: int = 0
    """Offsets every worker's sampler seed (0: the sweep's usual draws; see ``Scale.tuning_seed``)."""
    pruner: str = "median"
    heartbeat: int = 10
    max_failures: int = 0
    progress: bool = True


def plan_study(config: RunConfig, space_overrides: Mapping[str, Mapping[str, object] | None] | None, suffix: str = "",
               experiment: str | None = None, tags: dict[str, str] | None = None, name: str | None = None) -> StudyPlan:
    """The study for one resolved config: its name, the direction of the task's target, its space
    (and the MLflow experiment of its runs, default the task's name). The name is ``name`` where the
    caller owns it (a published study's arm), else ``task/arch/params=N`` and ``/suffix``."""

    task = build_task(config)
    space = build_space(TASKS.get(config.task.name), ARCHITECTURES.get(config.model.arch), config.model.params,
                        space_overrides)
    name = name or study_name(config.task.name, config.model.arch, config.model.params) + (f"/{suffix}" if suffix else "")
    direction: Direction = "maximize" if task.target_mode == "max" else "minimize"
    return StudyPlan(config.model.arch, name, direction, space, config, experiment, dict(tags or {}))


def _base_config(config: RunConfig) -> Sections:
    """The fixed part stored with a study: where a study runs (threads, device) is not part of it."""
    base = config.to_dict()
    base["train"].pop("threads", None)
    base["train"].pop("device", None)
    return base


def prepare(plans: list[StudyPlan], options: SweepOptions) -> RDBStorage:
    """Create or check every study (one-line error on a mismatch) and its MLflow parent run."""

    storage = open_storage(options.storage)
    tracker = Tracker(options.tracking_uri)
    for plan in plans:
        create_or_check(storage, plan.name, plan.direction, plan.space, _base_config(plan.config))
        with claim_lock(storage, plan.name):
            study = optuna.load_study(study_name=plan.name, storage=storage)
            end_runs_of_failed_trials(study, tracker)
            parent = study.user_attrs.get(ATTR_PARENT_RUN)
            if parent:
                tracker.client.update_run(parent, status="RUNNING")
            else:
                parent = tracker.start_run(
                    plan.experiment or plan.config.task.name, plan.name, plan.config.flat(),
                    {"sweep.study": plan.name, "sweep.role": "parent", "task": plan.config.task.name,
                     "arch": plan.arch, "mlflow.source.name": "bench sweep", **plan.tags},
                    plan.config.to_yaml())
                study.set_user_attr(ATTR_PARENT_RUN, parent)
    return storage


def end_runs_of_failed_trials(study: optuna.Study, tracker: Tracker) -> None:
    """A failed trial whose MLflow run is still RUNNING — its worker stopped while the tracking
    server was down and could not end it — gets its run ended FAILED with the trial's reason."""
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,)):
        run_id = trial.user_attrs.get("mlflow_run_id")
        if run_id:
            tracker.end_later(run_id, "FAILED", trial.user_attrs.get("fail_reason", "its worker stopped"))
    tracker.close_pending()


class WorkerPool:
    """The worker processes of this machine, each with its log file, restarted if one dies."""

    def __init__(self, plans: list[StudyPlan], options: SweepOptions) -> None:
        self.options = options
        self.seed = plans[0].config.train.seed
        self.jobs = [Job(p.name, options.trials, p.direction, experiment=p.experiment, tags=p.tags) for p in plans]
        if options.seeds:
            self.jobs += [Job(p.seeds_name, options.seeds, p.direction, seeds_of=p.name, experiment=p.experiment,
                              tags=p.tags)
                          for p in plans]
        self.log_folder = bench_home() / "sweep-logs"
        self.log_folder.mkdir(parents=True, exist_ok=True)
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * options.workers
        # Logs are appended to across sweeps: only what this sweep's workers write is news.
        self.read_up_to = [self.log_path(i).stat().st_size if self.log_path(i).exists() else 0
                           for i in range(options.workers)]
        self.restarts = 0
        self.threads = 1 if options.devices else max(1, usable_cores() // options.workers)

    def log_path(self, index: int) -> Path:
        return self.log_folder / f"worker-{index}.log"

    def start(self, index: int) -> None:
        options = self.options
        spec = WorkerSpec(
            jobs=self.jobs, storage=options.storage, tracking_uri=options.tracking_uri, heartbeat=options.heartbeat,
            sampler=options.sampler, pruner=options.pruner, sampler_seed=10007 * self.seed + 7919 * options.tuning_seed,
            threads=self.threads, device="cuda:0" if options.devices else None,
            max_failures=options.max_failures or max(10, options.trials),
        )
        env = {**os.environ, "OMP_NUM_THREADS": str(self.threads)}
        if options.devices:
            env["CUDA_VISIBLE_DEVICES"] = physical_device(options.devices[index % len(options.devices)])
        # The spec holds the storage URL, maybe with a password: in a file only this user can read, never
        # on the command line (which every local user sees in `ps`); the worker deletes it once read.
        spec_file = self.log_folder / f"worker-{index}.spec.json"
        spec_file.unlink(missing_ok=True)
        with os.fdopen(os.open(spec_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
            handle.write(spec.to_json())
        log = open(self.log_path(index), "a")
        # Own session: Ctrl-C reaches this process only, which then stops each worker exactly once.
        self.processes[index] = subprocess.Popen([sys.executable, "-m", "bench.sweep.worker", "--spec-file", str(spec_file)],
                                                 stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()

    def start_all(self) -> None:
        for index in range(self.options.workers):
            self.start(index)

    def poll(self, write: Callable[[str], None]) -> dict[int, int]:
        """Exit codes of workers that ended for good; a worker that died (a signal, a crash) is
        restarted, up to twice the number of workers in all."""
        ended = {}
        for index, process in enumerate(self.processes):
            code = process.poll() if process is not None else None
            if code is None:
                continue
            if code in (0, 2, EXIT_TOO_MANY_FAILURES, EXIT_DISK_FULL, 130) or self.restarts >= 2 * self.options.workers:
                ended[index] = code
                continue
            self.restarts += 1
            write(f"worker {index} died (exit code {code}); restarting it (log: {self.log_path(index)})")
            self.start(index)
        return ended

    def notices(self) -> list[str]:
        """New lines the workers addressed to the user (``bench: ...``, e.g. that the tracking server
        is unreachable and they wait for it), each prefixed with its worker."""
        lines = []
        for index in range(len(self.processes)):
            try:
                with open(self.log_path(index), "rb") as log:
                    log.seek(self.read_up_to[index])
                    new = log.read()
            except OSError:
                continue
            if len(new) == 0 and self.log_path(index).stat().st_size < self.read_up_to[index]:
                self.read_up_to[index] = 0  # the log was replaced: read the new one from its start
            complete = new[:new.rfind(b"\n") + 1]  # a line still being written waits for the next look
            self.read_up_to[index] += len(complete)
            lines += [f"worker {index}: {line.removeprefix('bench: ')}"
                      for line in complete.decode(errors="replace").splitlines() if line.startswith("bench: ")]
        return lines

    def alive(self) -> bool:
        return any(p is not None and p.poll() is None for p in self.processes)

    def stop(self, signum: int = signal.SIGINT, timeout: float = 60.0) -> None:
        """The signal the sweep got, passed on: each worker marks its trial failed and its MLflow run
        KILLED with that signal named, then exits."""
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.send_signal(signum)
        deadline = time.monotonic() + timeout
        for process in self.processes:
            if process is None:
                continue
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()

    def disk_full_words(self, index: int) -> str:
        """What worker ``index`` said filled up (SQLite's words or the system's), from its log."""
        said = self.last_line(index)
        return said[said.find("disk full (") + 11:said.find(")")] if "disk full (" in said else "No space left on device"

    def last_line(self, index: int) -> str:
        lines = [line for line in self.log_path(index).read_text(errors="replace").splitlines() if line.strip()]
        return lines[-1] if lines else "(empty log)"


def _count_done(storage: BaseStorage, names: list[str], failed_seen: dict[str, set[int]], write: Callable[[str], None]) -> int:
    """Complete + pruned trials over the studies; reports each newly failed trial once."""

    done = 0
    for name in names:
        try:
            study = optuna.load_study(study_name=name, storage=storage)
        except KeyError:  # a seed study not created yet
            continue
        counts = trial_counts(study)
        done += sum(counts[s] for s in DONE_STATES)
        if counts["FAIL"] > len(failed_seen.setdefault(name, set())):
            for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,)):
                if trial.number not in failed_seen[name]:
                    failed_seen[name].add(trial.number)
                    reason = trial.user_attrs.get("fail_reason", "its worker stopped; retried")
                    write(f"{name} trial {trial.number} failed: {reason}")
    return done


def run_sweep(plans: list[StudyPlan], options: SweepOptions) -> pd.DataFrame:
    """Run every study to its count (resuming what exists) and return the summary table."""

    storage = prepare(plans, options)
    pool = WorkerPool(plans, options)
    names = [job.study for job in pool.jobs]
    total = sum(job.trials for job in pool.jobs)
    bar = tqdm(total=total, unit="trial", desc="sweep", disable=not options.progress, dynamic_ncols=True)
    write = tqdm.write if options.progress else (lambda line: print(line, file=sys.stderr))
    failed_seen: dict[str, set[int]] = {}
    ended: dict[int, int] = {}
    try:
        pool.start_all()
        while True:
            time.sleep(1.0)
            raise_if_signalled()
            done = _count_done(storage, names, failed_seen, write)
            bar.update(done - bar.n)
            for line in pool.notices():
                write(line)
            ended = pool.poll(write)
            if len(ended) == len(pool.processes):
                break
    except (KeyboardInterrupt, Terminated) as exc:  # Ctrl-C, or SIGTERM from a scheduler: the workers stop too
        bar.close()
        print("bench: stopping the workers (their running trials are marked failed)...", file=sys.stderr)
        pool.stop(exc.signum if isinstance(exc, Terminated) else signal.SIGINT)
        _end_parent_runs(storage, plans, options, "KILLED")
        raise
    bar.update(_count_done(storage, names, failed_seen, write) - bar.n)
    for line in pool.notices():  # what the workers said in their last second
        write(line)
    bar.close()
    for index, code in ended.items():
        if code == EXIT_DISK_FULL:  # its line was relayed above, if the log had room for it
            try:
                _end_parent_runs(storage, plans, options, "FAILED")
            except Exception as exc:  # no room to end them either: the same command, run again, ends them
                if disk_full(exc) is None:
                    raise
            raise DiskFull(pool.disk_full_words(index))
        if code != 0:
            _end_parent_runs(storage, plans, options, "FAILED")
            message = f"worker {index} stopped: {pool.last_line(index)} (log: {pool.log_path(index)})"
            raise UsageError(message) if code == 2 else RunFailed(message)
    _end_parent_runs(storage, plans, options, "FINISHED")

    return summary_table(storage, plans, options.seeds)


def _end_parent_runs(storage: BaseStorage, plans: list[StudyPlan], options: SweepOptions, status: str) -> None:
    """Each study's parent run: its best value and parameters, and how the sweep ended."""

    # prepare() reached the store: an outage is waited out — briefly after Ctrl-C, where the user waits.
    try:
        tracker = Tracker(options.tracking_uri, wait_out_outages=True, patience=10 if status == "KILLED" else None)
    except UsageError:
        if status == "KILLED":
            return  # the parent runs stay as they are; the interruption is what the user hears of
        raise
    for plan in plans:
        study = optuna.load_study(study_name=plan.name, storage=storage)
        parent = study.user_attrs.get(ATTR_PARENT_RUN)
        if not parent:
            continue
        try:
            best = study.best_trial
            if best.value is not None:
                tracker.log_metrics(parent, {"best_value": best.value}, step=best.number)
            tracker.set_tags(parent, {"best_trial": best.number,
                                      **{f"best.{k}": v for k, v in best.params.items()}})
        except ValueError:  # no complete trial yet
            pass
        try:
            tracker.end_run(parent, status)
        except TrackingUnavailable:
            if status != "KILLED":
                raise


def parse_devices(text: str | None) -> list[str]:
    if not text:
        return []
    devices = [d.strip() for d in text.split(",") if d.strip()]
    if not all(d.isdigit() for d in devices):
        raise UsageError(f"--devices {text!r}: give CUDA device numbers, e.g. --devices 0,1,2,3")
    # Checked here, once: otherwise every worker's every trial would fail on its missing device.
    import torch  # here: `bench sweep status` need not import it

    if not torch.cuda.is_available():
        raise UsageError(f"--devices {text}: CUDA is not available on this machine; "
                         "leave out --devices (use --workers N for CPU workers)")
    missing = [d for d in devices if int(d) >= torch.cuda.device_count()]
    if missing:
        raise UsageError(f"--devices {text}: this machine has {torch.cuda.device_count()} CUDA device(s) "
                         f"(0 to {torch.cuda.device_count() - 1}), not {', '.join(missing)}")
    return devices


def physical_device(index: str) -> str:
    """What a worker's ``CUDA_VISIBLE_DEVICES`` must say for ``--devices`` entry ``index``: ``--devices``
    counts the devices this process sees, which a scheduler (SLURM) may already have narrowed with
    ``CUDA_VISIBLE_DEVICES=3,5``; entry 1 is then device 5."""
    visible = [d.strip() for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    return visible[int(index)] if visible and int(index) < len(visible) else index


def worker_count(workers: int, per_device: int, devices: Sequence[str]) -> int:
    """Worker processes for ``--workers`` / ``--workers-per-device`` / ``--devices``: ``--workers`` if
    given, else ``per_device`` (default 1) per device, else 1. Workers are pinned to the devices in
    turn (:meth:`WorkerPool.start`), so K per device puts exactly K on each."""
    if per_device and not devices:
        raise UsageError("--workers-per-device needs --devices (e.g. --devices 0 --workers-per-device 2)")
    if per_device and workers:
        raise UsageError("give --workers or --workers-per-device, not both")
    return workers or max(1, (per_device or 1) * len(devices))

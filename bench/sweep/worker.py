"""A sweep worker: claims trials of its studies one at a time and runs each as one MLflow run.

``bench sweep`` starts these as processes (``python -m bench.sweep.worker SPEC_JSON``); on many machines
each machine's ``bench sweep`` starts its own, all sharing one storage. A worker goes through its
jobs in order. For each study it loops: under the study's claim lock, fail trials whose worker
stopped beating (they are retried), then take a trial if complete + pruned + running trials are
fewer than asked; run it through :func:`bench.train.run.run` (the one training path), report
validations to Optuna for pruning, and tell Optuna how it ended. With nothing left to claim it
waits while other workers' trials run, since one of them may die and free its slot.

Exit codes: 0 all jobs complete, 2 a usage error or an unreachable server, 3 a study had too many
failed trials, 4 a full disk, 130 interrupted, 128 + N stopped by signal N.
"""
from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import lightning.pytorch as pl
import optuna
from lightning.pytorch.callbacks import Callback
from optuna.pruners import BasePruner
from optuna.samplers import BaseSampler
from optuna.storages._heartbeat import BaseHeartbeat
from optuna.trial import FrozenTrial, TrialState

from bench.core.errors import DiskFull, RunFailed, Terminated, UsageError, disk_full, forget_signals, raise_if_signalled, raise_on_signal
from bench.core.network import build_task
from bench.core.registry import ARCHITECTURES, TASKS
from bench.core.resolve import resolve
from bench.sweep.jobs import EXIT_DISK_FULL, EXIT_TOO_MANY_FAILURES, Job, WorkerSpec
from bench.sweep.search_space import as_overrides, suggest
from bench.tracking.optuna_store import (
    ATTR_BASE,
    ATTR_PARENT_RUN,
    DONE_STATES,
    claim_lock,
    create_or_check,
    open_storage,
    trial_counts,
)
from bench.tracking.outages import TrackingUnavailable
from bench.tracking.store import Tracker
from bench.train.run import Hooks, default_threads, run

SEED_SPACE = {"train.seed": {"type": "int", "low": 0, "high": 2**31 - 1}}


class TooManyFailures(Exception):
    pass


def make_sampler(name: str, seed: int) -> BaseSampler:
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def trial_seed(sampler_seed: int, number: int) -> int:
    """The seed of trial ``number``'s sampling: the sweep's, mixed with the trial's number."""
    return (sampler_seed * 1_000_003 + number) % 2**32


def make_pruner(name: str, max_steps: int, eval_every: int) -> BasePruner:
    """Median (Optuna's default rule) after 5 trials and a quarter of the steps, Hyperband, or none."""

    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=eval_every, max_resource=max_steps)
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=max_steps // 4)
    return optuna.pruners.NopPruner()


def pruning_callback(trial: optuna.Trial, monitor: str) -> Callback:
    """Report each validation to Optuna at its update step, and stop the run when Optuna prunes it.

    optuna-integration's PyTorchLightningPruningCallback reports at ``current_epoch``; a synthetic
    task trains in one long epoch, so every report would land on step 0 and pruning would compare
    nothing. This is the same callback keyed by ``global_step``.
    """

    class PruneOnValidation(Callback):
        def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
            value = trainer.callback_metrics.get(monitor)
            if trainer.sanity_checking or value is None:
                return
            step = trainer.global_step
            trial.report(float(value), step=step)
            if trial.should_prune():
                trial.set_user_attr("pruned_at_step", step)
                raise optuna.TrialPruned(f"pruned at step {step} ({monitor} = {float(value):.4g})")

    return PruneOnValidation()


class Heartbeat:
    """Records the trial's heartbeat every ``interval`` seconds in a thread, so a live worker is never
    mistaken for a dead one however long its trial trains."""

    def __init__(self, storage: BaseHeartbeat, trial_id: int, interval: int) -> None:
        self.storage, self.trial_id, self.interval = storage, trial_id, interval
        self.stopped = threading.Event()
        storage.record_heartbeat(trial_id)
        self.thread = threading.Thread(target=self._beat, daemon=True)
        self.thread.start()

    def _beat(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.storage.record_heartbeat(self.trial_id)
            except Exception:  # a transient database error must not kill the trial
                pass

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)


def stale_trial_handler(tracker: Callable[[], Tracker]) -> Callable[[optuna.Study, FrozenTrial], None]:
    """Optuna's callback for a trial whose worker stopped beating: have its MLflow run ended FAILED
    (nobody else will) once the claim lock is released — it is called under that lock, which no
    worker on any machine should wait on the tracking server for — then enqueue the same
    parameters again (Optuna's RetryHeartbeatStaleTrialCallback)."""

    retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3)

    def handle(study: optuna.Study, trial: FrozenTrial) -> None:
        run_id = trial.user_attrs.get("mlflow_run_id")
        if run_id:
            tracker().end_later(run_id, "FAILED", "its worker stopped (no heartbeat); the trial was retried")
        retry(study, trial)

    return handle


class Worker:
    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        # Its coordinator reached the tracking store before starting the workers, so an unreachable
        # server from now on is an outage to wait out (bench.tracking.outages).
        self.tracker = Tracker(spec.tracking_uri, wait_out_outages=True)
        self.storage = open_storage(spec.storage, spec.heartbeat, stale_trial_handler(lambda: self.tracker))
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        # Import the training stack (seconds) before claiming a trial, not while its heartbeat is due.
        for module in ("lightning.pytorch", "bench.train.run", "bench.train.model", "bench.train.data"):
            importlib.import_module(module)
        TASKS.load()
        ARCHITECTURES.load()

    def load(self, job: Job) -> optuna.Study:
        study = optuna.load_study(study_name=job.study, storage=self.storage)
        train = study.user_attrs[ATTR_BASE]["train"]
        return optuna.load_study(
            study_name=job.study, storage=self.storage,
            sampler=make_sampler(self.spec.sampler, self.spec.sampler_seed),
            pruner=make_pruner(self.spec.pruner, train["max_steps"], train["eval_every"]),
        )

    def run_jobs(self) -> None:
        try:
            for job in self.spec.jobs:
                if job.seeds_of:
                    self.prepare_seed_study(job)
                self.work_on(job, self.load(job))
        finally:
            self.tracker.close_pending()

    def prepare_seed_study(self, job: Job) -> None:
        """Create the seed-rerun study from the finished search: its best parameters fixed, one
        enqueued trial per seed 0..N-1 (enqueued once, whichever worker gets here first)."""

        search = optuna.load_study(study_name=job.seeds_of, storage=self.storage)
        best = search.best_trial
        base = json.loads(json.dumps(search.user_attrs[ATTR_BASE]))
        for section, values in as_overrides(best.params).items():
            base.setdefault(section, {}).update(values)
        base["train"].pop("seed", None)
        study = create_or_check(self.storage, job.study, job.direction, SEED_SPACE, base,
                                {ATTR_PARENT_RUN: search.user_attrs.get(ATTR_PARENT_RUN),
                                 "rnnbench.best_trial": best.number})
        with claim_lock(self.storage, job.study):
            for seed in range(job.trials):
                study.enqueue_trial({"train.seed": seed}, skip_if_exists=True)

    def work_on(self, job: Job, study: optuna.Study) -> None:
        while True:
            trial = None
            raise_if_signalled()  # a stop that came while the last trial ended: it claims no other
            self.tracker.close_pending()  # runs left open by an outage or a stale trial, outside the lock
            with claim_lock(self.storage, job.study):
                optuna.storages.fail_stale_trials(study)
                counts = trial_counts(study)
                done = sum(counts[s] for s in DONE_STATES)
                if counts["FAIL"] > self.spec.max_failures:
                    raise TooManyFailures(f"study {job.study!r}: {counts['FAIL']} trials failed (limit "
                                          f"{self.spec.max_failures}); see `bench sweep status` and the failed runs")
                if done + counts["RUNNING"] < job.trials:
                    trial = study.ask()
                    self.storage.record_heartbeat(trial._trial_id)
            if trial is not None:
                self.run_trial(job, study, trial)
            elif done >= job.trials:
                return
            else:
                time.sleep(self.spec.poll_seconds)

    def run_trial(self, job: Job, study: optuna.Study, trial: optuna.Trial) -> None:
        """Run one claimed trial and tell Optuna how it ended; whatever happens, it does not stay RUNNING."""
        heartbeat = Heartbeat(self.storage, trial._trial_id, self.spec.heartbeat)
        state, value = TrialState.FAIL, None
        stop: Exception | None = None  # why this worker claims no more trials after this one
        try:
            trial.set_user_attr("worker", self.name)
            base = study.user_attrs[ATTR_BASE]
            # Sampled with a generator seeded by the trial's number, which the storage hands out once per
            # study: two machines running the same sweep (worker 0 on each, the same sampler seed) draw
            # different configurations, and one worker's sweep draws the same ones every time it is rerun.
            study.sampler = make_sampler(self.spec.sampler, trial_seed(self.spec.sampler_seed, trial.number))
            values = suggest(trial, study.user_attrs.get("rnnbench.space") or {})
            overrides = as_overrides(values)
            if self.spec.device:
                overrides.setdefault("train", {})["device"] = self.spec.device
            config = resolve(base, overrides)
            if self.spec.threads and not config.train.threads:
                # This worker's share of the cores, but no more than the model can use: a small
                # model on two contended threads is many times slower than on one.
                config.train.threads = min(self.spec.threads, default_threads(config))
            role = "seed" if job.seeds_of else "trial"
            label = f"seed {config.train.seed}" if job.seeds_of else f"trial {trial.number}"
            monitor = f"val/{build_task(config).target_metric}"
            callbacks = [] if job.seeds_of else [pruning_callback(trial, monitor)]
            hooks = Hooks(
                tags={"mlflow.parentRunId": study.user_attrs.get(ATTR_PARENT_RUN) or "",
                      "sweep.study": job.study.removesuffix("/seeds"), "sweep.role": role,
                      "sweep.trial": trial.number, "mlflow.source.name": "bench sweep", **job.tags},
                callbacks=callbacks, stop_exceptions=(optuna.TrialPruned,),
                on_start=lambda run_id: trial.set_user_attr("mlflow_run_id", run_id), role=label,
            )
            result = run(config, self.tracker, hooks, experiment=job.experiment, progress=False)
            value = result.metrics[monitor]
            test_key = monitor.replace("val/", "test/", 1)
            trial.set_user_attr(test_key, result.metrics.get(test_key))
            trial.set_user_attr("steps", result.steps)
            trial.set_user_attr("seconds", round(result.seconds, 2))
            trial.set_user_attr("num_parameters", result.num_parameters)
            state = TrialState.COMPLETE
        except optuna.TrialPruned:
            state = TrialState.PRUNED
        except KeyboardInterrupt:
            self._fail_reason(trial, "interrupted (Ctrl-C)")
            raise
        except Terminated as exc:
            self._fail_reason(trial, f"its worker was {exc}; retried")
            raise
        except TrackingUnavailable as exc:
            self._fail_reason(trial, str(exc))
            stop = UsageError(str(exc))
        except Exception as exc:
            if (full := disk_full(exc)) is not None:
                self._fail_reason(trial, f"disk full ({full})")
                stop = DiskFull(full)
            else:
                known = isinstance(exc, (RunFailed, UsageError))
                self._fail_reason(trial, str(exc) if known else f"{type(exc).__name__}: {exc}")
        finally:
            heartbeat.stop()
            # skip_if_finished: a trial failed as stale while it was slow stays failed (it was retried).
            study.tell(trial, value if state == TrialState.COMPLETE else None, state=state, skip_if_finished=True)
        if stop is not None:
            # Past the patience, or no space left: claiming more trials would only fail them one after
            # another (each counted against --max-failures on every machine). This worker stops with
            # the reason; the same command resumes once the server is back or space is freed.
            raise stop

    @staticmethod
    def _fail_reason(trial: optuna.Trial, reason: str) -> None:
        try:
            trial.set_user_attr("fail_reason", reason[:2000])
        except Exception:
            pass


def stop_when_orphaned(poll_seconds: float = 1.0) -> None:
    """SIGTERM this worker once the process that started it is gone (reparented: ``getppid``
    changes). A sweep killed with SIGKILL cannot stop its workers, and they run in sessions of their
    own (so that a terminal's Ctrl-C reaches them only through the sweep): without this they would
    train on as orphans until the study ends. SIGTERM then ends the trial and run as a scheduler's
    stop does."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, raise_on_signal)  # its trial failed with the reason, its run KILLED
    # The coordinator stops a worker with SIGINT (Ctrl-C's path: the trial failed "interrupted", the
    # run KILLED). A sweep started in the background by a script or a scheduler inherits SIGINT
    # ignored, and Python then leaves it ignored: the worker would train on until it is killed, its
    # trial RUNNING and its run with it. Only the coordinator can send it one (its own session).
    signal.signal(signal.SIGINT, raise_on_signal)
    stop_when_orphaned()
    if argv[:1] == ["--spec-file"]:  # how the coordinator hands it over: never on the command line
        spec_file = Path(argv[1])
        spec = WorkerSpec.from_json(spec_file.read_text())
        spec_file.unlink(missing_ok=True)
    else:  # the JSON itself, from a coordinator of an earlier version still running
        spec = WorkerSpec.from_json(argv[0])
    try:
        Worker(spec).run_jobs()
    except TooManyFailures as exc:
        print(f"bench worker: {exc}", file=sys.stderr)
        return EXIT_TOO_MANY_FAILURES
    except UsageError as exc:
        print(f"bench worker: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a full disk anywhere (the Optuna storage, the log): said once, never retried
        if (full := disk_full(exc)) is None:
            raise
        try:  # the line the coordinator relays; the exit code says it even if the log has no room for it
            print(f"bench: {DiskFull(full)}", file=sys.stderr, flush=True)
        except OSError:
            pass
        return EXIT_DISK_FULL
    except KeyboardInterrupt:
        forget_signals()
        return 130
    except Terminated as exc:
        forget_signals()
        print(f"bench worker: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""One run, end to end: build → fit → evaluate → record. The only training loop is Lightning's.

:func:`fit` trains and evaluates one resolved config (sweeps call it too); :func:`run` wraps it in
an MLflow run whose status always ends FINISHED, FAILED (with the reason) or KILLED.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch

from bench.core.config import RunConfig
from bench.core.errors import RunFailed, UsageError
from bench.core.network import build_task
from bench.tracking.store import Tracker, git_commit, package_versions


@dataclasses.dataclass
class RunResult:
    """What a run produced: final metrics by ``split/metric`` name, and how it ended."""

    run_id: str | None
    metrics: dict[str, float]
    num_parameters: int
    steps: int
    seconds: float
    stop_reason: str
    device: str
    step_function: str = "fused kernel"
    model: Any = dataclasses.field(default=None, repr=False, compare=False)
    """The trained SequenceModel (best-validation weights with ``patience``); :func:`run` saves its weights."""


def default_threads(config: RunConfig) -> int:
    """CPU threads for torch when ``--threads 0``.

    Small recurrent steps are dominated by per-op overhead, which more threads only add to: measured
    here, a 64-unit step at batch 64 took 3.8 ms on 1 thread and 4.6 ms on 2, while a 128-unit
    LSTM step over 100 steps took 102 ms on 1 and 74 ms on 2. So: one thread below
    batch·hidden² = 2^19, else one per available core, at most 4.
    """
    if config.train.batch_size * config.model.hidden_size ** 2 < 2**19:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def _accelerator(device: str) -> dict[str, Any]:
    if device == "auto":
        return {"accelerator": "auto", "devices": 1}
    if device == "cpu":
        return {"accelerator": "cpu", "devices": 1}
    if device == "mps":
        return {"accelerator": "mps", "devices": 1}
    if device == "cuda" or device.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {device}: CUDA is not available here; use --device cpu or auto")
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise UsageError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here")
        return {"accelerator": "gpu", "devices": [index]}
    raise UsageError(f"--device {device!r}: use auto, cpu, cuda, cuda:N or mps")


def _quiet_lightning() -> None:
    """Keep the terminal for the progress bar and results: Lightning's banners and tips add nothing here."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*overridden `transfer_batch_to_device`.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")  # torch 2.13 pytree deprecation in Lightning
    # A resumed run replays its stream to the checkpoint (bench.train.data.ReplayedStream): it is resumable.
    warnings.filterwarnings("ignore", message=".*your dataloader is not resumable.*")


def unprofiled() -> Any:
    """A Lightning profiler that profiles nothing, at no cost.

    Lightning wraps each of its ~70 hook and strategy calls per training step in
    ``trainer.profiler.profile(name)``; its default (``PassThroughProfiler``) records nothing but
    still builds a generator-based context manager each time. This one hands back one reusable
    empty context (with :meth:`bench.train.model.SequenceModel.__setattr__`: 1.29x → 1.24x for a bare
    Lightning loop on a tiny model, results/BENCHMARKS.md). bench has no ``--profiler``: profile a
    run from outside (py-spy, or ``torch.profiler`` around :func:`fit`).
    """
    import contextlib

    from lightning.pytorch.profilers import PassThroughProfiler

    class Unprofiled(PassThroughProfiler):
        _nothing = contextlib.nullcontext()

        def profile(self, action_name: str) -> Any:  # type: ignore[override]
            return self._nothing

    return Unprofiled()


def best_weights_callback(monitor: str, mode: str) -> Any:
    """A callback that keeps a copy of the weights at the best validation so far, in memory (no
    checkpoint files), so that a run with ``patience`` is evaluated as early stopping means: at its
    best validation. Read ``.state``, ``.value`` and ``.step`` after fitting."""
    from lightning.pytorch.callbacks import Callback

    class BestWeights(Callback):
        def __init__(self) -> None:
            self.value: float | None = None
            self.step = 0
            self.state: dict[str, torch.Tensor] | None = None

        def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
            current = trainer.callback_metrics.get(monitor)
            if current is None or trainer.sanity_checking:
                return
            value = float(current)
            if self.value is None or (value < self.value if mode == "min" else value > self.value):
                self.value, self.step = value, trainer.global_step
                self.state = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}

        def state_dict(self) -> dict[str, Any]:
            return {"value": self.value, "step": self.step, "state": self.state}

        def load_state_dict(self, state: dict[str, Any]) -> None:
            self.value, self.step, self.state = state["value"], state["step"], state["state"]

    return BestWeights()


def fit(
    config: RunConfig,
    logger: Any = False,
    progress: bool = True,
    callbacks: Sequence[Any] = (),
    checkpoint: str | None = None,
) -> RunResult:
    """Train ``config`` with Lightning, then evaluate train/val/test (and longer lengths).

    Same config, same device, same versions → same metrics: weights, data and dropout all derive
    from ``config.train.seed``. ``checkpoint``: a local checkpoint file to continue from (see
    :mod:`bench.train.checkpoints`); the result is the same as an uninterrupted run's.
    """
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import EarlyStopping, TQDMProgressBar

    from bench.core.architecture import SteppedRecurrent
    from bench.tracking.store import bench_home
    from bench.train.compiled import CompileWhenItPays
    from bench.train.data import SequenceDataModule
    from bench.train.model import SequenceModel

    _quiet_lightning()
    train = config.train
    accelerator = _accelerator(train.device)
    torch.set_num_threads(train.threads or default_threads(config))
    pl.seed_everything(train.seed, workers=True, verbose=False)
    task = build_task(config)
    model = SequenceModel(task, config)
    datamodule = SequenceDataModule(task, config)

    compiler = CompileWhenItPays(config.model.compile)
    # Only a stepped (custom) cell has a step function to decide about: every callback costs a few
    # µs per hook per step, which a fused kernel's run should not pay for nothing.
    all_callbacks = [*callbacks, compiler] if isinstance(model.net.core, SteppedRecurrent) else [*callbacks]
    stopper = None
    monitor = f"val/{task.target_metric}"
    patience = train.patience
    if train.early_stop or patience:
        # Lightning stops on strictly better than the threshold, compared in float32.
        nudge = 1e-6 * max(1.0, abs(task.target_value))
        threshold = task.target_value - nudge if task.target_mode == "max" else task.target_value + nudge
        stopper = EarlyStopping(
            monitor=monitor,
            mode=task.target_mode,
            stopping_threshold=threshold if train.early_stop else None,
            patience=patience or 2**31,  # without patience: stop on reaching the target only
            check_finite=False,  # a non-finite loss is a failure, raised by the model
        )
        all_callbacks.append(stopper)
    best = best_weights_callback(monitor, task.target_mode) if patience else None
    if best is not None:
        all_callbacks.append(best)
    if progress:
        all_callbacks.append(TQDMProgressBar(refresh_rate=10))

    trainer = pl.Trainer(
        **accelerator,
        max_steps=train.max_steps,
        max_epochs=train.max_epochs or -1,
        val_check_interval=min(train.eval_every, train.max_steps),
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        gradient_clip_val=train.clip_grad_norm or None,
        gradient_clip_algorithm="norm",
        logger=logger,
        log_every_n_steps=train.log_every,
        callbacks=all_callbacks,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=progress,
        default_root_dir=str(bench_home() / "lightning"),
        deterministic=train.deterministic or None,
        profiler=unprofiled(),
    )
    trainer.fit(model, datamodule=datamodule, ckpt_path=checkpoint, weights_only=False)
    seconds = model.seconds_trained  # a resumed run's includes the time before its checkpoint
    steps = trainer.global_step
    reason = str(stopper.stopping_reason) if stopper is not None and stopper.stopping_reason is not None else ""
    stop_reason = "target reached" if "THRESHOLD" in reason else (
        f"no better {monitor} for {patience} validations" if "PATIENCE" in reason else "step limit")
    if best is not None and best.state is not None:
        model.load_state_dict(best.state)
        stop_reason += f"; evaluated the best {monitor} ({best.value:.4g} at step {best.step})"
    trainer.test(model, datamodule=datamodule, verbose=False)
    metrics = dict(model.final_metrics)
    return RunResult(
        run_id=None,
        metrics=metrics,
        num_parameters=model.num_parameters,
        steps=steps,
        seconds=seconds,
        stop_reason=stop_reason,
        device=str(trainer.strategy.root_device),
        step_function=compiler.decision,
        model=model,
    )


def run(
    config: RunConfig,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    run_name: str | None = None,
    progress: bool = True,
    tags: dict[str, Any] | None = None,
    callbacks: Sequence[Any] = (),
    stop_exceptions: tuple[type[BaseException], ...] = (),
    on_start: Callable[[str], None] | None = None,
    resume: str | None = None,
) -> RunResult:
    """:func:`fit` inside an MLflow run (experiment = task name unless given).

    The store is opened (and checked) before the run is created; whatever happens during training,
    the run ends FINISHED, FAILED with a ``failure_reason`` tag, or KILLED on Ctrl-C.

    Sweeps pass extra ``tags`` (parent run, trial number), Lightning ``callbacks`` (pruning),
    ``stop_exceptions`` — deliberate early stops such as a pruned trial, which end the run FINISHED
    with the tag ``stopped_by`` and are re-raised — and ``on_start``, called with the new run id.

    ``resume``: the id of a stopped run of this same config, continued in that MLflow run from its
    last checkpoint (metric steps go on without gap or repeat; see :mod:`bench.train.checkpoints`).
    """
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        return _run_tracked(config, Tracker(tracking_uri), experiment, run_name, progress, tags or {}, callbacks,
                            stop_exceptions, on_start, resume, folder)


def _run_tracked(config: RunConfig, tracker: Tracker, experiment: str | None, run_name: str | None, progress: bool,
                 tags: dict[str, Any], callbacks: Sequence[Any], stop_exceptions: tuple[type[BaseException], ...],
                 on_start: Callable[[str], None] | None, resume: str | None, folder: str) -> RunResult:
    from bench.tracking.logger import MLflowMetricsLogger
    from bench.train.checkpoints import MLflowCheckpoints, prepare_resume

    all_tags = {
        "task": config.task.name,
        "arch": config.model.arch,
        "seed": config.train.seed,
        "git_commit": git_commit(),
        "device": "cuda" if torch.cuda.is_available() and config.train.device != "cpu" else "cpu",
        "mlflow.source.name": "bench run",
        **{f"version.{k}": v for k, v in package_versions().items()},
        **tags,
    }
    checkpoint, logged = None, {}
    if resume:
        run_id = resume
        checkpoint, logged = prepare_resume(tracker, run_id, config, folder)
    else:
        run_id = tracker.start_run(experiment or config.task.name, run_name, config.flat(), all_tags, config.to_yaml())
    logger = MLflowMetricsLogger(tracker, run_id, already_logged=logged)
    saver = MLflowCheckpoints(tracker, run_id, config, config.train.checkpoint_every)
    try:
        if on_start is not None:
            on_start(run_id)
        result = fit(config, logger=logger, progress=progress, callbacks=[*callbacks, saver], checkpoint=checkpoint)
        logger.flush()
        tracker.log_metrics(run_id, {
            "num_parameters": result.num_parameters,
            "steps": result.steps,
            "train_seconds": result.seconds,
            **({"steps_to_target": result.steps} if result.stop_reason == "target reached" else {}),
        }, step=result.steps)
        tracker.set_tags(run_id, {"stop_reason": result.stop_reason, "device": result.device,
                                  "step_function": result.step_function})
        _log_weights(tracker, run_id, result.model)
    except (KeyboardInterrupt, SystemExit):  # Lightning turns Ctrl-C into sys.exit(1)
        _end_quietly(tracker, logger, run_id, "KILLED", "interrupted (Ctrl-C)")
        raise
    except RunFailed as exc:
        _end_quietly(tracker, logger, run_id, "FAILED", str(exc))
        raise
    except stop_exceptions as exc:
        _end_quietly(tracker, logger, run_id, "FINISHED", None, {"stopped_by": f"{type(exc).__name__}: {exc}"})
        raise
    except BaseException as exc:
        _end_quietly(tracker, logger, run_id, "FAILED", f"{type(exc).__name__}: {exc}")
        raise
    tracker.end_run(run_id, "FINISHED")
    result.run_id = run_id
    return result


def _log_weights(tracker: Tracker, run_id: str, model: Any) -> None:
    """The evaluated weights as artifact ``model.pt`` (a CPU state_dict of the SequenceModel), so
    that a run can be used afterwards (``bench sample``) with its logged ``config.yaml``."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.pt")
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, path)
        tracker.client.log_artifact(run_id, path)


def _end_quietly(tracker: Tracker, logger: Any, run_id: str, status: str, reason: str | None,
                 tags: dict[str, str] | None = None) -> None:
    """Record how the run ended without letting a second error hide the first."""
    try:
        logger.flush()
    except Exception:
        pass
    try:
        if tags:
            tracker.set_tags(run_id, tags)
        tracker.end_run(run_id, status, reason)
    except Exception:
        pass

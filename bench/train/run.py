"""One run, end to end. The only training loop is Lightning's.

:func:`fit` trains and evaluates one resolved config (sweeps call it through :func:`run` too);
:func:`run` wraps it in an MLflow run. Each reads top to bottom as its steps.
"""
from __future__ import annotations

import dataclasses
import logging
import tempfile
import warnings
from collections.abc import Callable, Sequence

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import Logger

from bench.core.architecture import SteppedRecurrent
from bench.core.config import RunConfig, TrainConfig
from bench.core.datafiles import bench_home
from bench.core.errors import UsageError
from bench.core.machine import usable_cores
from bench.core.network import build_task
from bench.tracking.store import Tracker
from bench.train.compiled import StepFunction
from bench.train.data import SequenceDataModule
from bench.train.memory import out_of_memory_as_usage_error
from bench.train.model import SequenceModel
from bench.train.progress import Progress, progress_callbacks, progress_mode
from bench.train.record import Tags, TrackedRun
from bench.train.speedups import flush_denormals, unprofiled
from bench.train.stopping import Stopping


@dataclasses.dataclass(frozen=True, kw_only=True)
class Trained:
    """What training produced: final metrics by ``split/metric`` name, and how it ended."""

    metrics: dict[str, float]
    num_parameters: int
    steps: int
    seconds: float
    stop_reason: str
    device: str
    step_function: str = "fused kernel"
    steps_to_target: int | None = None
    """The update at which validation first met the task's target; None if it never did."""
    data_statistics: dict[str, float] = dataclasses.field(default_factory=dict)
    """Facts about the training data, logged once (e.g. a dataset's ``padding_waste``)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunResult(Trained):
    """What a logged run produced: :class:`Trained` and the MLflow run that holds it."""

    run_id: str


@dataclasses.dataclass(frozen=True)
class Hooks:
    """What a caller that manages its runs (a sweep's worker) adds to one; ``bench run`` adds nothing.

    ``tags``: extra run tags (parent run, trial number); ``callbacks``: Lightning callbacks (pruning);
    ``stop_exceptions``: deliberate early stops such as a pruned trial, which end the run FINISHED
    with the tag ``stopped_by`` and are re-raised; ``on_start``: called with the new run's id;
    ``role``: what the run is to its caller (``trial 3``), in place of ``seed N`` in its name."""

    tags: Tags = dataclasses.field(default_factory=dict)
    callbacks: Sequence[Callback] = ()
    stop_exceptions: tuple[type[BaseException], ...] = ()
    on_start: Callable[[str], None] | None = None
    role: str = ""


def run(
    config: RunConfig,
    tracker: Tracker | None = None,
    hooks: Hooks | None = None,
    *,
    experiment: str | None = None,
    run_name: str | None = None,
    progress: bool | Progress = True,
    resume: str | None = None,
) -> RunResult:
    """:func:`fit` inside an MLflow run that always ends FINISHED, FAILED (with the reason) or KILLED.

    ``tracker``: the store (None: the default one, ``MLFLOW_TRACKING_URI`` or ``$RNNBENCH_HOME``),
    opened and checked before any run is created. ``resume``: the id of a stopped run of this same
    config, continued in that MLflow run from its last checkpoint (metric steps go on without gap or
    repeat; see :mod:`bench.train.checkpoints`). Without ``run_name`` the run is named for what it is
    (:func:`bench.train.record.run_label`).
    """
    tracker = tracker or Tracker()
    hooks = hooks or Hooks()
    with tempfile.TemporaryDirectory() as folder:
        tracked = TrackedRun.open(tracker, config, folder, experiment, run_name, hooks.tags, resume, hooks.role)
        # An out-of-memory error becomes one line (exit 2) and the run FAILED with it.
        with tracked.closing(hooks.stop_exceptions), out_of_memory_as_usage_error(config):
            if hooks.on_start is not None:
                hooks.on_start(tracked.run_id)
            trained, model = fit_model(config, logger=tracked.logger, progress=progress,
                                       callbacks=[*hooks.callbacks, tracked.checkpoints], checkpoint=tracked.checkpoint)
            tracked.record(trained, model)
    return RunResult(run_id=tracked.run_id, **{f.name: getattr(trained, f.name) for f in dataclasses.fields(Trained)})


def fit(
    config: RunConfig,
    logger: Logger | bool = False,
    progress: bool | Progress = True,
    callbacks: Sequence[Callback] = (),
    checkpoint: str | None = None,
) -> Trained:
    """Train ``config`` with Lightning, then evaluate train/val/test (and longer lengths); no MLflow
    run unless ``logger`` is one. :func:`fit_model` also hands back the trained model.

    Same config, same device, same versions → same metrics: weights, data and dropout all derive
    from ``config.train.seed``. ``checkpoint``: a local checkpoint file to continue from (see
    :mod:`bench.train.checkpoints`); the result is the same as an uninterrupted run's.
    """
    return fit_model(config, logger, progress, callbacks, checkpoint)[0]


def fit_model(
    config: RunConfig,
    logger: Logger | bool = False,
    progress: bool | Progress = True,
    callbacks: Sequence[Callback] = (),
    checkpoint: str | None = None,
) -> tuple[Trained, SequenceModel]:
    """:func:`fit`, and the trained model (its best-validation weights with ``patience``)."""
    train = config.train
    accelerator = lightning_accelerator(train.device)
    quiet_lightning()
    torch.set_num_threads(train.threads or default_threads(config))
    pl.seed_everything(train.seed, workers=True, verbose=False)

    task = build_task(config)
    model = SequenceModel(task, config)
    data = SequenceDataModule(task, config)

    stopping = Stopping.for_run(task, train)
    compiler = StepFunction(config.model.compile)
    # Only a stepped (custom) cell has a step function to decide about; a fused kernel's run
    # should not pay a callback's per-step hooks for nothing.
    stepped = isinstance(model.net.core, SteppedRecurrent)
    shown = progress_mode(progress)
    # The caller's callbacks (the checkpoint writer among them) go last: a checkpoint written after a
    # validation must hold the state every other callback reached at that validation, or a resumed
    # run forgets, e.g., that this very validation first met the target.
    all_callbacks = [*([compiler] if stepped else []), *stopping.callbacks, *progress_callbacks(shown), *callbacks]

    trainer = make_trainer(train, accelerator, logger, all_callbacks, progress_bar=shown == "bar")
    with flush_denormals():
        trainer.fit(model, datamodule=data, ckpt_path=checkpoint, weights_only=False)
        seconds = model.seconds_trained  # a resumed run's includes the time before its checkpoint
        steps = trainer.global_step
        stop_reason = stopping.restore_best(model, steps)
        steps_to_target = stopping.steps_to_target(steps)
        trainer.test(model, datamodule=data, verbose=False)
    return Trained(
        metrics=dict(model.final_metrics),
        num_parameters=model.num_parameters,
        steps=steps,
        seconds=seconds,
        stop_reason=stop_reason,
        steps_to_target=steps_to_target,
        device=str(trainer.strategy.root_device),
        step_function=compiler.decision,
        data_statistics=task.data_statistics(train.batch_size, train.seed),
    ), model


def make_trainer(train: TrainConfig, accelerator: dict[str, object], logger: Logger | bool,
                 callbacks: list[Callback], progress_bar: bool) -> pl.Trainer:
    """The one Trainer setup for every task × architecture: steps, validation, clipping, logging."""
    return pl.Trainer(
        **accelerator,  # type: ignore[arg-type]
        max_steps=train.max_steps,
        max_epochs=1,  # the training stream is one Lightning epoch (see bench.train.data)
        val_check_interval=min(train.eval_every, train.max_steps),
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        gradient_clip_val=train.clip_grad_norm or None,
        gradient_clip_algorithm="norm",
        logger=logger,
        log_every_n_steps=train.log_every,
        callbacks=callbacks,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=progress_bar,
        default_root_dir=str(bench_home() / "lightning"),
        deterministic=train.deterministic or None,
        profiler=unprofiled(),
    )


def default_threads(config: RunConfig) -> int:
    """CPU threads for torch when ``--threads 0``.

    Small recurrent steps are dominated by per-op overhead, which more threads only add to; large
    ones gain from a few (measured on 2-core machines: a 64-unit step at batch 64 was slower on two
    threads than on one, a 128-unit LSTM step faster). So: one thread below batch·hidden² = 2^19,
    else one per available core, at most 4.
    """
    if config.train.batch_size * config.model.hidden_size ** 2 < 2**19:
        return 1
    return max(1, min(usable_cores(), 4))


def lightning_accelerator(device: str) -> dict[str, object]:
    """Trainer arguments for ``--device``; a UsageError for a device this machine does not have."""
    if device == "auto":
        return {"accelerator": "auto", "devices": 1}
    if device in ("cpu", "mps"):
        return {"accelerator": device, "devices": 1}
    if device == "cuda" or device.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {device}: CUDA is not available here; use --device cpu or auto")
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise UsageError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here")
        return {"accelerator": "gpu", "devices": [index]}
    raise UsageError(f"--device {device!r}: use auto, cpu, cuda, cuda:N or mps")


def quiet_lightning() -> None:
    """Keep the terminal for the progress and the results: Lightning's banners and tips add nothing here."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*overridden `transfer_batch_to_device`.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")  # torch 2.13 pytree deprecation in Lightning
    # A resumed run replays its stream to the checkpoint (bench.train.data.ReplayedStream): it is resumable.
    warnings.filterwarnings("ignore", message=".*your dataloader is not resumable.*")

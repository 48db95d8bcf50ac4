"""When a run stops, and which weights it is evaluated with.

Three rules, from :class:`~bench.core.config.TrainConfig`: the step limit (or a dataset's ``max_epochs``); ``early_stop`` (stop as
soon as validation reaches the task's target); ``patience`` (stop after that many validations
without a better target metric, then evaluate the best-validation weights, as early stopping means).
And a stop signal (Ctrl-C, a scheduler's SIGTERM) ends it at the next step even if Python dropped the
exception its handler raised (:func:`bench.core.errors.raise_on_signal`).
"""
from __future__ import annotations

import dataclasses
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping

from bench.core.config import TrainConfig
from bench.core.errors import raise_if_signalled
from bench.core.metrics import reaches
from bench.core.task import Task


class BestWeights(Callback):
    """Keeps a copy of the weights at the best validation so far, in memory (no checkpoint files)."""

    def __init__(self, monitor: str, mode: str) -> None:
        self.monitor, self.mode = monitor, mode
        self.value: float | None = None
        self.step = 0
        self.state: dict[str, torch.Tensor] | None = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        current = trainer.callback_metrics.get(self.monitor)
        if current is None or trainer.sanity_checking:
            return
        value = float(current)
        if self.value is None or (value < self.value if self.mode == "min" else value > self.value):
            self.value, self.step = value, trainer.global_step
            self.state = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}

    def state_dict(self) -> dict[str, Any]:
        return {"value": self.value, "step": self.step, "state": self.state}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.value, self.step, self.state = state_dict["value"], state_dict["step"], state_dict["state"]


class FirstReached(Callback):
    """The update at which validation first met the task's target, whether or not the run stops
    there: a run trained to its step limit on purpose (no ``early_stop``) still says whether, and
    how soon, it learned the task."""

    def __init__(self, monitor: str, target: float, mode: str) -> None:
        self.monitor, self.target, self.mode = monitor, target, mode
        self.step: int | None = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        current = trainer.callback_metrics.get(self.monitor)
        if self.step is not None or current is None or trainer.sanity_checking:
            return
        value = float(current)
        if reaches(value, self.target, self.mode):
            self.step = trainer.global_step

    def state_dict(self) -> dict[str, Any]:
        return {"step": self.step}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.step = state_dict.get("step")


class StopOnSignal(Callback):
    """Raise, at the end of any training or evaluation step, the stop of a signal already received:
    its own exception may have been dropped, raised inside a finalizer or a weakref callback."""

    def on_train_batch_end(self, *args: object) -> None:
        raise_if_signalled()

    def on_validation_batch_end(self, *args: object) -> None:
        raise_if_signalled()

    def on_test_batch_end(self, *args: object) -> None:
        raise_if_signalled()


@dataclasses.dataclass
class Stopping:
    """The stopping callbacks of one run, and the sentence that says why it stopped."""

    monitor: str
    patience: int
    stopper: EarlyStopping | None
    best: BestWeights | None
    max_steps: int = 0
    max_epochs: int = 0
    first: FirstReached | None = None

    @classmethod
    def for_run(cls, task: Task, train: TrainConfig) -> Stopping:
        monitor = f"val/{task.target_metric}"
        stopper = None
        if train.early_stop or train.patience:
            # Lightning stops on strictly better than the threshold, compared in float32.
            nudge = 1e-6 * max(1.0, abs(task.target_value))
            threshold = task.target_value - nudge if task.target_mode == "max" else task.target_value + nudge
            stopper = EarlyStopping(
                monitor=monitor,
                mode=task.target_mode,
                stopping_threshold=threshold if train.early_stop else None,
                patience=train.patience or 2**31,  # without patience: stop on reaching the target only
                check_finite=False,  # a non-finite loss is a failure, raised by the model
            )
        best = BestWeights(monitor, task.target_mode) if train.patience else None
        first = FirstReached(monitor, task.target_value, task.target_mode)
        return cls(monitor, train.patience, stopper, best, train.max_steps, train.max_epochs, first)

    @property
    def callbacks(self) -> list[Callback]:
        return [StopOnSignal(), *(c for c in (self.stopper, self.best, self.first) if c is not None)]

    def steps_to_target(self, steps: int) -> int | None:
        """The update at which validation first met the target (``steps`` when the run stopped
        there), None if it never did."""
        if self.reason(steps) == "target reached":
            return steps
        return self.first.step if self.first is not None else None

    def reason(self, steps: int) -> str:
        """Why training ended after ``steps`` updates: ``target reached``, ``no better ... for N
        validations``, ``epoch limit (N)`` (a dataset's ``max_epochs`` passes) or ``step limit``."""
        stopped = self.stopper.stopping_reason if self.stopper is not None else None
        text = str(stopped) if stopped is not None else ""
        if "THRESHOLD" in text:
            return "target reached"
        if "PATIENCE" in text:
            return f"no better {self.monitor} for {self.patience} validations"
        if self.max_epochs and steps < self.max_steps:
            return f"epoch limit ({self.max_epochs})"
        return "step limit"

    def restore_best(self, model: pl.LightningModule, steps: int) -> str:
        """Load the best-validation weights (with ``patience``); the stop reason, saying so."""
        reason = self.reason(steps)
        if self.best is not None and self.best.state is not None:
            model.load_state_dict(self.best.state)
            reason += f"; evaluated the best {self.monitor} ({self.best.value:.4g} at step {self.best.step})"
        return reason

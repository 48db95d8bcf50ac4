"""SequenceModel: the one LightningModule every task × architecture pair trains as.

It trains a :class:`bench.core.network.SequenceNetwork` (adapters + architecture + head). The loss and
the standard metrics follow from the task's output kind (:mod:`bench.core.metrics`); evaluation pools
each metric exactly over a whole evaluation set. Nothing here knows a task or an architecture by name.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor

from bench.core.architecture import State
from bench.core.config import RunConfig
from bench.core.errors import RunFailed
from bench.core.metrics import masked_mean_loss
from bench.core.network import SequenceNetwork
from bench.core.task import Batch, Task
from bench.train.speedups import LightningShortcuts


def detach_state(state: State) -> State:
    """Cut the graph behind a recurrent state (truncated BPTT), whatever its structure."""
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    if isinstance(state, dict):
        return {k: detach_state(v) for k, v in state.items()}
    return state


class SequenceModel(LightningShortcuts, pl.LightningModule):
    """Adapters + architecture + head, with the training and evaluation steps for any task.

    (:class:`~bench.train.speedups.LightningShortcuts` trims Lightning's per-step bookkeeping;
    it changes nothing that is trained, logged or shown.)"""

    def __init__(self, task: Task, config: RunConfig) -> None:
        super().__init__()
        self.task = task
        self.config = config
        self.net = SequenceNetwork(task, config.model)
        self._totals: dict[str, list[Tensor]] = {}
        self._train_state: State = None
        self._eval_state: State = None
        self._seconds_before, self._fit_started = 0.0, time.perf_counter()

    @property
    def num_parameters(self) -> int:
        return self.net.num_parameters

    def forward(self, inputs: Tensor, state: State = None) -> tuple[Tensor, State]:
        outputs, state = self.net(inputs, state)
        return outputs, state

    def transfer_batch_to_device(self, batch: Batch, device: torch.device, dataloader_idx: int) -> Batch:
        """Synthetic batches are born on the device; Lightning's generic version deep-copies
        dataclasses at every step, this one moves tensors only when needed."""
        return batch if batch.inputs.device == device else batch.to(device)

    # -- training -----------------------------------------------------------------------------
    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        outputs, state = self.net(batch.inputs, self._train_state if batch.continues else None)
        self._train_state = detach_state(state)  # for a next batch that continues this one
        loss = masked_mean_loss(self.task.output_kind, outputs, batch.targets, batch.mask)
        if self.global_step % self.config.train.log_every == 0:
            # Checked only when logging: a NaN poisons the weights, so it is still there next time,
            # and checking every step would cost a device sync per step on a GPU.
            if not torch.isfinite(loss):
                raise RunFailed(f"non-finite training loss ({loss.item()}) at step {self.global_step}; "
                                "lower the learning rate or clip gradients (--clip-grad-norm)")
        return loss

    # -- the training clock, across a resume ----------------------------------------------------
    @property
    def seconds_trained(self) -> float:
        """Seconds of training behind the current weights: this fit's so far and, in a resumed run,
        the time up to the checkpoint it resumed from (what was trained after that checkpoint and
        lost with the stop is not counted: it is trained again)."""
        return self._seconds_before + time.perf_counter() - self._fit_started

    def on_fit_start(self) -> None:  # after a checkpoint is restored
        self._fit_started = time.perf_counter()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["rnnbench_train_seconds"] = self.seconds_trained
        # A checkpoint between two windows of the same sequences: the next one starts from this state.
        checkpoint["rnnbench_train_state"] = self._train_state

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._seconds_before = float(checkpoint.get("rnnbench_train_seconds", 0.0))
        self._train_state = checkpoint.get("rnnbench_train_state")

    def configure_optimizers(self) -> Any:
        """The optimizer and, with ``lr_decay`` below 1, a step-down of its learning rate when the
        task's validation metric stops improving (PyTorch's ReduceLROnPlateau, checked at every
        validation; Lightning saves its state in checkpoints)."""
        train = self.config.train
        params = self.parameters()
        optimizer: torch.optim.Optimizer
        if train.optimizer == "adam":
            optimizer = torch.optim.Adam(params, lr=train.lr, weight_decay=train.weight_decay)
        elif train.optimizer == "rmsprop":
            optimizer = torch.optim.RMSprop(params, lr=train.lr, momentum=train.momentum, weight_decay=train.weight_decay)
        else:
            optimizer = torch.optim.SGD(params, lr=train.lr, momentum=train.momentum, weight_decay=train.weight_decay)
        if train.lr_decay >= 1.0:
            return optimizer
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=self.task.target_mode, factor=train.lr_decay, patience=train.lr_patience)
        return {"optimizer": optimizer, "lr_scheduler": {
            "scheduler": plateau, "monitor": f"val/{self.task.target_metric}", "interval": "step",
            "frequency": min(train.eval_every, train.max_steps)}}

    # -- evaluation: metrics pooled exactly over each evaluation set ----------------------------
    def _accumulate(self, batch: Batch, batch_idx: int, dataloader_idx: int) -> None:
        outputs, self._eval_state = self(batch.inputs, self._eval_state if batch.continues else None)
        prefix = self._loader_name(dataloader_idx)
        for name, (total, count) in self.task.metrics(outputs, batch).items():
            key = f"{prefix}/{name}"
            if key in self._totals:
                self._totals[key][0] += total
                self._totals[key][1] += count
            else:
                self._totals[key] = [total.detach().clone().double(), torch.as_tensor(count).double()]

    def _loader_name(self, dataloader_idx: int) -> str:
        """The metric prefix of an evaluation set: ``val``, ``test``, ``test/len32``..."""
        loaders = self.trainer.test_dataloaders if self.trainer.testing else self.trainer.val_dataloaders
        if not isinstance(loaders, (list, tuple)):
            loaders = [loaders]
        return str(loaders[dataloader_idx].name)

    def _pooled(self) -> dict[str, float]:
        pooled = {k: (t / c.clamp_min(1)).item() for k, (t, c) in self._totals.items()}
        self._totals = {}
        return pooled

    def validation_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._accumulate(batch, batch_idx, dataloader_idx)

    def on_validation_epoch_end(self) -> None:
        metrics = self._pooled()
        if not math.isfinite(metrics.get("val/loss", 0.0)):
            raise RunFailed(f"non-finite validation loss at step {self.global_step}; "
                            "lower the learning rate or clip gradients (--clip-grad-norm)")
        target = f"val/{self.task.target_metric}"
        for key, value in metrics.items():
            self.log(key, value, prog_bar=key == target)
        if self.config.train.lr_decay < 1.0:  # where the plateau schedule has brought it
            self.log("train/lr", self.trainer.optimizers[0].param_groups[0]["lr"])
        if not self.trainer.sanity_checking:  # the task's feedback hook, e.g. a curriculum
            val = {key.split("/", 1)[1]: value for key, value in metrics.items() if key.startswith("val/")}
            for key, value in self.task.on_validation(val, self.evaluate).items():
                self.log(f"val/{key}", float(value))

    def evaluate(self, batches: Iterable[Batch]) -> dict[str, float]:
        """The task's metrics pooled over ``batches`` with the current weights, without gradients,
        each batch from a fresh state (what :meth:`Task.on_validation` calls to score sets of its own)."""
        totals: dict[str, list[Tensor]] = {}
        with torch.no_grad():
            for batch in batches:
                outputs, _ = self(batch.inputs)
                for name, (total, count) in self.task.metrics(outputs, batch).items():
                    pair = totals.setdefault(name, [torch.zeros((), dtype=torch.float64, device=total.device)] * 2)
                    pair[0] = pair[0] + total.double()
                    pair[1] = pair[1] + torch.as_tensor(count).double()
        return {name: (total / count.clamp_min(1)).item() for name, (total, count) in totals.items()}

    def test_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._accumulate(batch, batch_idx, dataloader_idx)

    def on_test_epoch_end(self) -> None:
        self.final_metrics: dict[str, Any] = self._pooled()
        self.log_dict(self.final_metrics)

"""SequenceDataModule: a task's batches, in the shape Lightning's loops expect.

Synthetic tasks generate their data on the run's device, so batches never cross from host to
device; the training stream is a sized iterable of ``max_steps`` batches (one Lightning epoch; a
dataset goes through its own epochs inside it), so the progress bar knows its end. Evaluation sets
are fixed lists of batches with a name — the metric prefix (``val``, ``test``, ``test/len32``).
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

import lightning.pytorch as pl
import torch

from bench.core.config import RunConfig
from bench.core.task import Batch, Draw, Split, Task


class EvalSet:
    """A named, fixed evaluation set (a sized iterable of batches)."""

    def __init__(self, name: str, batches: list[Batch]) -> None:
        self.name, self.batches = name, batches

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[Batch]:
        return iter(self.batches)


class ReplayedStream:
    """A resumed run's training stream: the same stream, with the batches consumed before the
    checkpoint generated again and dropped, so that the next batch is exactly the one an
    uninterrupted run would train on — whatever state the task's stream keeps (generators,
    shuffles, a dataset's epochs). Costs only the generation time of those batches."""

    def __init__(self, stream: Iterable[Batch], consumed: int) -> None:
        self.stream, self.consumed = stream, consumed

    def __len__(self) -> int:
        return len(self.stream)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Batch]:
        return itertools.islice(self.stream, self.consumed, None)


class SequenceDataModule(pl.LightningDataModule):
    """Training stream, validation set and final evaluation sets of one task."""

    def __init__(self, task: Task, config: RunConfig) -> None:
        super().__init__()
        self.task, self.config = task, config

    @property
    def device(self) -> torch.device:
        return self.trainer.strategy.root_device if self.trainer is not None else torch.device("cpu")

    def draw(self, length: int | None = None) -> Draw:
        """The run's request to its task: its batch size, seed and device, its steps, evaluation size
        and passes (the same for every kind of task: each takes what applies to it)."""
        train = self.config.train
        return Draw(train.batch_size, train.seed, self.device, batches=train.max_steps, examples=train.eval_size,
                    length=length, max_epochs=train.max_epochs)

    def eval_set(self, split: Split, length: int | None = None) -> EvalSet:
        batches = self.task.eval_batches(split, self.draw(length))
        return EvalSet(split if length is None else f"{split}/len{length}", batches)

    def train_dataloader(self) -> Iterable[Batch]:
        stream = self.task.train_batches(self.draw())
        consumed = self.trainer.global_step if self.trainer is not None else 0
        return ReplayedStream(stream, consumed) if consumed else stream

    def val_dataloader(self) -> list[EvalSet]:
        return [self.eval_set("val")]

    def test_dataloader(self) -> list[EvalSet]:
        """Final evaluation: train, val and test splits, then test at each longer length."""
        sets = [self.eval_set("train"), self.eval_set("val"), self.eval_set("test")]
        sets += [self.eval_set("test", length) for length in self.task.eval_lengths()]
        return sets

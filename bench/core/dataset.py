"""SequenceDataset: the base of tasks that read a fixed set of real sequences (music, speech, text).

A dataset task says only what its sequences are: :meth:`SequenceDataset.examples` returns the
examples of a split, each ``(inputs (T, ...), targets (T, ...))`` of its own length T. Everything
else is here, once, so that every dataset trains at the speed of a plain loop:

* **Length-bucketed batches.** An epoch sorts the training examples by their length times a random
  factor near 1, cuts that order into batches and shuffles the batches: a batch holds examples of
  similar length (little padding), and both the batches and their order differ from epoch to epoch
  and from seed to seed. Padding every batch to its longest piece in random batches wastes several
  times the real work on sets whose lengths vary (e.g. Nottingham's pieces).
* **Truncated BPTT.** With ``bptt=N`` each batch is cut into consecutive windows of N steps; the model
  carries the (detached) recurrent state from a window to the next window of the same examples
  (``Batch.continues``), so the gradient reaches N steps back and the state the whole example.
  ``bptt=0`` trains on whole examples.
* **Exact evaluation.** A split is scored in batches of examples sorted by length, in the same
  windows with the state carried, which computes exactly what one whole-example call computes; every
  step is scored once and the metrics are pooled over the split.

The training stream is one pass of ``num_batches`` windows through as many epochs as it takes, the
way a synthetic task's stream is ``num_batches`` fresh batches: Lightning then sees one stream of
known length whatever the epochs hold.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor
from typing_extensions import TypeVar

from bench.core.metrics import Metric
from bench.core.options import option
from bench.core.task import Batch, Draw, Split, Task

Example = tuple[Tensor, Tensor]
"""One sequence: ``(inputs, targets)``, both with the time steps first and of the same length."""

LENGTH_JITTER = 0.1
"""Training examples are sorted by length × U(1 − jitter, 1 + jitter): examples within about 10% of
each other's length trade batches from epoch to epoch, at little cost in padding."""

PER_SEQUENCE_METRICS = ("seq_acc", "bits_per_seq")
"""Standard metrics that count rows of a batch: with windows a row is a piece of an example, so they
mean nothing for a dataset (its own metrics are per step or per frame)."""


@dataclasses.dataclass
class DatasetOptions:
    """Knobs every dataset task has; a task's Options dataclass extends this one (and may redefine
    ``data``'s help and ``bptt``'s default)."""

    data: str = option("", "the data file or folder (see the task's help); empty: the task's default data")
    bptt: int = option(
        0, "truncated backpropagation through time: training windows of this many steps, the recurrent state "
        "carried from window to window of the same sequences; 0: whole sequences", min=0)


def next_step(sequence: Tensor) -> Example:
    """The example of predicting each step of ``sequence`` from those before it (views, no copy)."""
    return sequence[:-1], sequence[1:]


def collate(examples: Sequence[Example], input_dtype: torch.dtype, target_dtype: torch.dtype) -> Batch:
    """Examples padded with zeros to the longest; the mask marks each example's real steps."""
    longest = max(len(x) for x, _ in examples)
    first_x, first_y = examples[0]
    inputs = torch.zeros((len(examples), longest, *first_x.shape[1:]), dtype=input_dtype)
    targets = torch.zeros((len(examples), longest, *first_y.shape[1:]), dtype=target_dtype)
    mask = torch.zeros((len(examples), longest), dtype=torch.bool)
    for row, (x, y) in enumerate(examples):
        inputs[row, :len(x)] = x
        targets[row, :len(y)] = y
        mask[row, :len(x)] = True
    return Batch(inputs, targets, mask)


def windows(batch: Batch, bptt: int) -> list[Batch]:
    """``batch`` cut along time into consecutive windows of ``bptt`` steps (0: the batch whole); every
    window after the first continues the one before it."""
    steps = batch.inputs.shape[1]
    if bptt <= 0 or bptt >= steps:
        return [batch]
    return [Batch(batch.inputs[:, t:t + bptt], batch.targets[:, t:t + bptt], batch.mask[:, t:t + bptt],
                  continues=t > 0) for t in range(0, steps, bptt)]


def window_count(length: int, bptt: int) -> int:
    return 1 if bptt <= 0 else math.ceil(length / bptt)


def bucketed_batches(lengths: Sequence[int], batch_size: int, generator: torch.Generator) -> list[list[int]]:
    """One epoch's batches as lists of example indices: sorted by a jittered length, cut into
    batches of ``batch_size``, the batches in a random order (see :data:`LENGTH_JITTER`)."""
    jitter = 1 + LENGTH_JITTER * (2 * torch.rand(len(lengths), generator=generator, dtype=torch.float64) - 1)
    order = torch.argsort(torch.tensor(lengths, dtype=torch.float64) * jitter).tolist()
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def padding_waste(lengths: Sequence[int], batches: Sequence[Sequence[int]]) -> float:
    """Steps computed (each batch padded to its longest) ÷ real steps: 1.0 wastes nothing."""
    computed = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    return computed / max(1, sum(lengths[i] for b in batches for i in b))


class TrainingStream:
    """``num_batches`` training windows: epoch after epoch of bucketed batches, each batch cut into
    ``bptt`` windows; at most ``max_epochs`` epochs when it is set. Sized (the progress bar knows the
    end) and re-iterable: each ``iter()`` starts again from the first epoch of ``seed``, so that a
    resumed run can replay it to where it stopped."""

    def __init__(self, task: SequenceDataset, examples: list[Example], batch_size: int, num_batches: int,
                 seed: int, device: torch.device, max_epochs: int = 0) -> None:
        self.task, self.examples, self.batch_size, self.device = task, examples, batch_size, device
        self.num_batches, self.seed, self.max_epochs = num_batches, seed, max_epochs
        self.lengths = [len(x) for x, _ in examples]
        self.bptt = task.options.bptt

    def epochs(self) -> Iterator[list[list[int]]]:
        """The batches (example indices) of each epoch in turn."""
        generator = torch.Generator().manual_seed(self.seed)
        epoch = 0
        while not self.max_epochs or epoch < self.max_epochs:
            yield bucketed_batches(self.lengths, self.batch_size, generator)
            epoch += 1

    def __len__(self) -> int:
        if not self.max_epochs:
            return self.num_batches
        windows_in_epochs = sum(window_count(max(self.lengths[i] for i in batch), self.bptt)
                                for epoch in self.epochs() for batch in epoch)
        return min(self.num_batches, windows_in_epochs)

    def __iter__(self) -> Iterator[Batch]:
        made = 0
        for epoch in self.epochs():
            for indices in epoch:
                batch = self.task.collate([self.examples[i] for i in indices]).to(self.device)
                for window in windows(batch, self.bptt):
                    if made == self.num_batches:
                        return
                    yield window
                    made += 1


DatasetOptionsT = TypeVar("DatasetOptionsT", bound=DatasetOptions, covariant=True, default=DatasetOptions)


class SequenceDataset(Task[DatasetOptionsT]):
    """A task over a fixed set of real sequences: implement :meth:`examples` (see the module docstring)."""

    def examples(self, split: Split, batch_size: int) -> list[Example]:
        """The examples of ``split``, each at least one step long. Called for every stream and
        evaluation set, so a task keeps what it loaded. ``batch_size`` matters only to a task whose
        split is one long sequence (a text), which cuts it into that many rows; others ignore it."""
        raise NotImplementedError

    def collate(self, examples: Sequence[Example]) -> Batch:
        """Examples padded into one batch, as the task's input and output kinds want them."""
        return collate(examples, torch.long if self.input_kind == "tokens" else torch.float32,
                       torch.long if self.output_kind == "categorical" else torch.float32)

    def train_batches(self, draw: Draw) -> TrainingStream:
        return TrainingStream(self, self.examples("train", draw.batch_size), draw.batch_size, draw.batches,
                              draw.seed, draw.device, draw.max_epochs)

    def eval_batches(self, split: Split, draw: Draw) -> list[Batch]:
        """The whole split (``draw.examples`` and ``draw.length`` are for generated sets): batches of
        examples sorted by length, in ``bptt`` windows with the state carried."""
        size = draw.batch_size
        examples = sorted(self.examples(split, size), key=lambda e: len(e[0]))
        batches: list[Batch] = []
        for i in range(0, len(examples), size):
            batches += windows(self.collate(examples[i:i + size]).to(draw.device), self.options.bptt)
        return batches

    def data_statistics(self, batch_size: int, seed: int) -> dict[str, float]:
        """The first training epoch's padding waste (computed steps ÷ real steps), the number of
        training sequences and of training windows per epoch."""
        lengths = [len(x) for x, _ in self.examples("train", batch_size)]
        epoch = bucketed_batches(lengths, batch_size, torch.Generator().manual_seed(seed))
        return {
            "padding_waste": padding_waste(lengths, epoch),
            "train_sequences": float(len(lengths)),
            "windows_per_epoch": float(sum(window_count(max(lengths[i] for i in b), self.options.bptt) for b in epoch)),
        }

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, Metric]:
        metrics = super().metrics(outputs, batch)
        for name in PER_SEQUENCE_METRICS:
            metrics.pop(name, None)
        return metrics

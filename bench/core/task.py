"""The task contract: every task speaks one stream format, so every architecture fits every task.

A :class:`Batch` holds

* ``inputs``  — ``(B, T)`` token ids (``input_kind == "tokens"``) or ``(B, T, D)`` floats;
* ``targets`` — ``(B, T)`` class ids (``categorical``) or ``(B, T, K)`` floats (``bernoulli``/``real``);
* ``mask``    — ``(B, T)`` bool, the steps that are scored.

Phased tasks (read, then write) are one stream with a delimiter; the read phase is masked out.
A batch that ``continues`` the previous one (a truncated-BPTT window) starts from its final state.

A :class:`Task` declares its input and output kinds and sizes, whether it is causal, the metric
that says it is "solved", and its knobs as an ``Options`` dataclass. :class:`SyntheticTask` adds the
machinery that generated tasks share: vectorised generation on the run's device, a content hash
that puts every possible example in exactly one of train/val/test, fixed seeded evaluation sets, and
evaluation at longer lengths than training (length generalisation).
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import ClassVar, Generic, Literal

import torch
from torch import Tensor
from typing_extensions import TypeVar

from bench.core.metrics import Metric, OutputKind, standard_metrics
from bench.core.options import NoOptions, option, options_parameter
from bench.core.registry import Described

InputKind = Literal["tokens", "features"]
Split = Literal["train", "val", "test"]
_SPLIT_IDS = {"train": 0, "val": 1, "test": 2}


def to_device(tensor: Tensor, device: torch.device | str) -> Tensor:
    """``tensor`` on ``device``. From the CPU to a CUDA device the copy goes through page-locked
    memory and does not block: a copy from ordinary (pageable) memory synchronises the host with
    the device, which a task that builds its batches on the CPU would otherwise pay at every update."""
    device = torch.device(device)
    if device.type == "cuda" and tensor.device.type == "cpu":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


@dataclasses.dataclass
class Batch:
    """One batch in the common stream format (see the module docstring)."""

    inputs: Tensor
    targets: Tensor
    mask: Tensor
    continues: bool = False
    """Whether row b continues row b of the previous batch (a truncated-BPTT window after the first):
    the model then starts from the state the previous batch ended in, detached."""

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def select(self, index: Tensor) -> Batch:
        return Batch(self.inputs[index], self.targets[index], self.mask[index])

    def to(self, device: torch.device | str) -> Batch:
        return Batch(to_device(self.inputs, device), to_device(self.targets, device), to_device(self.mask, device),
                     self.continues)

    @staticmethod
    def cat(batches: list[Batch]) -> Batch:
        inputs, targets, mask = (torch.cat([getattr(b, f) for b in batches]) for f in ("inputs", "targets", "mask"))
        return Batch(inputs, targets, mask)


@dataclasses.dataclass(frozen=True)
class Draw:
    """What to draw from a task: the one request every task answers, generated or a dataset, so the
    training side never asks which kind it has (compare the Chomsky-hierarchy repository's
    ``sample_batch(rng, batch_size, length)``).

    A training stream is ``batches`` batches long; a dataset's stream stops sooner after
    ``max_epochs`` passes over its training split when that is set (a generated stream has no passes).
    An evaluation set of a generated task holds ``examples`` examples of ``length`` (None: the
    task's own length); a dataset's evaluation set is always its whole split, its sequences as long
    as they are. The same ``seed`` draws the same batches on the same ``device``."""

    batch_size: int
    seed: int = 0
    device: torch.device = torch.device("cpu")
    batches: int = 0
    examples: int = 0
    length: int | None = None
    max_epochs: int = 0


OptionsT = TypeVar("OptionsT", covariant=True, default=object)
"""A task's options dataclass; the harness sees ``Task`` (options unknown to it), a plugin its own."""


class Task(Described, Generic[OptionsT]):
    """Base of every task. Subclasses set the class attributes and implement the two batch methods.

    Sizes may depend on options, so they are instance attributes set in ``__init__``.
    """

    name: ClassVar[str]
    Options: ClassVar[type] = NoOptions
    causal: ClassVar[bool] = True
    """Whether the target at step t may depend only on inputs up to t (bidirectional models need False)."""
    # Class defaults; a task whose goal depends on its options sets them per instance.
    target_metric: str = "loss"
    """Validation metric (without split prefix) that says the task is solved, e.g. ``seq_acc``."""
    target_mode: Literal["max", "min"] = "min"
    target_value: float = 0.0
    target_words: str = ""
    """What reaching ``target_value`` means, for a report's reader (e.g. "every sequence right", or
    that it is never reached and runs end on patience)."""
    recommended: ClassVar[dict[str, object]] = {}
    """Config defaults this task needs to learn in a default run, e.g. ``{"train.lr": 3e-3}``.
    They apply below the YAML file and the command line."""

    input_kind: InputKind
    input_size: int
    output_kind: OutputKind
    output_size: int

    def __init__(self, options: OptionsT) -> None:
        self.options = options

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.Options = options_parameter(cls) or cls.Options

    @classmethod
    def published(cls, options: Mapping[str, object], arch: str, test_loss: float | None = None) -> list[str]:
        """What papers (or the task's own definition: a baseline) report for ``arch`` on this task with
        ``options`` (a run's task options), one short note each ("8.45 (Bai et al. 2018, test NLL/frame)"),
        for the report's "published" column. Only numbers measured in the same setting as the run; where
        the published metric is not the task's target, the note names it. ``test_loss``: our mean test
        loss, for a note that compares with a loss. None by default."""
        return []

    @classmethod
    def example_options(cls, folder: Path) -> dict[str, object]:
        """Options for a run of a few steps on tiny data, for the test that runs every task with every
        architecture (it discovers tasks, so a new task needs no other file edited). A data task
        writes tiny files of its standard format into ``folder`` and points its options at them; a
        synthetic task needs nothing."""
        return {}

    def train_batches(self, draw: Draw) -> Iterable[Batch]:
        """The training stream of ``draw`` (see :class:`Draw`), from a seeded start each time it is iterated."""
        raise NotImplementedError

    def eval_batches(self, split: Split, draw: Draw) -> list[Batch]:
        """A fixed evaluation set of ``split``, as ``draw`` asks (see :class:`Draw`)."""
        raise NotImplementedError

    def eval_lengths(self) -> list[int]:
        """Lengths, beyond the training length, at which the test split is also evaluated."""
        return []

    def data_statistics(self, batch_size: int, seed: int) -> dict[str, float]:
        """Facts about the training data that a run logs once as metrics (a dataset's padding
        waste, say); none by default."""
        return {}

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, Metric]:
        """Metrics for one batch as ``(total, count)``; the output kind's standard set by default."""
        return standard_metrics(self.output_kind, outputs, batch.targets, batch.mask)

    def on_validation(
        self, metrics: dict[str, float], evaluate: Callable[[Iterable[Batch]], dict[str, float]]
    ) -> dict[str, float]:
        """Called after each validation during training, with that validation's metrics (names
        without the ``val/`` prefix); returns extra values to log as ``val/NAME``. ``evaluate(batches)``
        runs the model being trained (no gradients, each batch from a fresh state) and returns the
        task's metrics pooled over ``batches``: a set of the task's own, e.g. a curriculum's current
        difficulty (``tasks/program.py`` moves its curriculum up here). Does nothing by default."""
        return {}


@dataclasses.dataclass
class SyntheticOptions:
    """Knobs every synthetic task has; a task's own Options dataclass extends this one."""

    length: int = option(8, "sequence length (what 'length' means is in the task's help)", min=1)
    eval_lengths: tuple[int, ...] = option(
        (), "longer lengths to test length generalisation at (empty: 2x and 4x the length)", min=1
    )


@functools.lru_cache(maxsize=64)
def _hash_coefficients(width: int, device: torch.device) -> Tensor:
    """The hash's coefficients for inputs of ``width`` values: drawn on the CPU (the same numbers on
    every device), copied to ``device`` once. (A copy per batch would be a host→device copy, which
    synchronises with a CUDA device, at every update.)"""
    generator = torch.Generator().manual_seed(0x5EED)
    return torch.randint(1, 2**31 - 1, (width,), generator=generator, dtype=torch.long).to(device)


def _content_bucket(inputs: Tensor) -> Tensor:
    """A bucket 0..9 per example from a hash of its inputs alone, the same on every device and seed.

    Every possible example therefore falls in exactly one split, whatever the seed: buckets 0–7 are
    train, 8 val, 9 test.
    """
    flat = inputs.reshape(inputs.shape[0], -1)
    if flat.is_floating_point():
        codes = flat.float().view(torch.int32).long() & 0xFFFFFFFF
    else:
        codes = flat.long() & 0xFFFFFFFF
    width = codes.shape[1]
    h = (codes * _hash_coefficients(width, codes.device)).sum(-1) + width * 0x9E3779B1
    h = h ^ (h >> 29)
    h = h * 0x2545F4914F6CDD1D % (2**61 - 1)
    h = h ^ (h >> 31)
    return torch.remainder(h, 10)


def _bucket_mask(inputs: Tensor, split: Split) -> Tensor:
    bucket = _content_bucket(inputs)
    if split == "train":
        return bucket < 8
    return bucket == (8 if split == "val" else 9)


def _generator(seed: int, split: Split, length: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed * 1_000_003 + _SPLIT_IDS[split] * 7919 + length)


class TrainStream:
    """``num_batches`` freshly generated training batches: a sized iterable Lightning can show progress
    for, drawn from the seed's start each time it is iterated (as a dataset's stream is)."""

    def __init__(self, task: SyntheticTask, batch_size: int, num_batches: int, seed: int, device: torch.device):
        self.task, self.batch_size, self.num_batches = task, batch_size, num_batches
        self.seed, self.device = seed, device

    def __len__(self) -> int:
        return self.num_batches

    def __iter__(self) -> Iterator[Batch]:
        generator = _generator(self.seed, "train", self.task.options.length, self.device)
        for _ in range(self.num_batches):
            yield self.task.train_batch(self.batch_size, generator, self.device)


SyntheticOptionsT = TypeVar("SyntheticOptionsT", bound=SyntheticOptions, covariant=True, default=SyntheticOptions)


class SyntheticTask(Task[SyntheticOptionsT]):
    """A task whose examples are generated: implement :meth:`generate`, vectorised on ``device``."""

    def generate(self, n: int, length: int, generator: torch.Generator, device: torch.device) -> Batch:
        """``n`` random examples of the given length, drawn with ``generator`` on ``device``."""
        raise NotImplementedError

    def train_batch(self, batch_size: int, generator: torch.Generator, device: torch.device) -> Batch:
        """One training batch, without a host sync: oversample, put train-bucket examples first,
        and mask out (never score) the rare leftover example from another split."""
        candidates = self.generate(batch_size + batch_size // 2 + 4, self.options.length, generator, device)
        is_train = _bucket_mask(candidates.inputs, "train")
        order = torch.argsort((~is_train).to(torch.int8), stable=True)[:batch_size]
        batch = candidates.select(order)
        batch.mask = batch.mask & is_train[order, None]
        return batch

    def train_batches(self, draw: Draw) -> Iterable[Batch]:
        return TrainStream(self, draw.batch_size, draw.batches, draw.seed, draw.device)

    def eval_batches(self, split: Split, draw: Draw) -> list[Batch]:
        length, num_examples, batch_size, device = draw.length or self.options.length, draw.examples, draw.batch_size, draw.device
        generator = _generator(draw.seed, split, length, device)
        kept: list[Batch] = []
        have = 0
        for _ in range(1000):
            candidates = self.generate(max(num_examples - have, 64) * 2, length, generator, device)
            chosen = candidates.select(_bucket_mask(candidates.inputs, split))
            kept.append(chosen)
            have += len(chosen)
            if have >= num_examples:
                break
        else:
            raise RuntimeError(f"{self.name}: could not draw {num_examples} {split} examples at length {length}")
        data = Batch.cat(kept).select(torch.arange(num_examples, device=device))
        return [data.select(torch.arange(i, min(i + batch_size, num_examples), device=device))
                for i in range(0, num_examples, batch_size)]

    def eval_lengths(self) -> list[int]:
        lengths = self.options.eval_lengths or (2 * self.options.length, 4 * self.options.length)
        return [n for n in lengths if n != self.options.length]

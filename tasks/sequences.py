"""Your own sequences: a classification, labelling, regression or next-step set from a standard file.

``--opt data=PATH`` reads, by extension (details in ``tasks/_sequence_files.py``):

* ``.npz``: ``inputs`` (an object array of ``(T_i,)`` integer token arrays or ``(T_i, D)`` float arrays,
  or one padded array with ``lengths``), optional ``targets`` (one per sequence, or one per step
  as arrays like the inputs), ``split`` (train/valid/test per sequence) and ``ids``;
* ``.csv`` or ``.parquet``, long form: one row per step with columns ``sequence``, ``step``, the
  feature columns (numbers) or one ``token`` column (integers or strings), and optional ``target``
  and ``split``;
* ``.ts``, the UEA/UCR time-series classification (and regression) archive's format: give
  ``NAME_TRAIN.ts``; ``NAME_TEST.ts`` beside it is the test split. Files with missing values or
  time stamps are refused: fill or drop the gaps first.

What is predicted (``--opt target=``; ``auto`` infers it):

* ``class`` — one label per sequence (integers or strings), scored at the sequence's last step:
  the label is known once the whole sequence has been read. Inferred from one label per sequence
  (in long form: a target constant within every sequence) that is not a float.
* ``per_step`` — a label at every step. Inferred from labels that vary within a sequence.
* ``real`` — real values, one per sequence (scored at the last step) or one per step; inferred from
  float targets and from a .ts file's ``@targetLabel true``. They are scaled by the training split's
  mean and standard deviation, so ``mse`` is in units of the training variance: 1.0 is what
  predicting the training mean scores.
* ``next`` — the next step of the input itself (the next token's class, or the next feature vector
  in ``mse``); inferred when the file has no targets.

Labels become classes 0..K-1 in sorted order. Real features are scaled by the training split's mean
and standard deviation per feature (``normalise=false`` keeps them as they are). Splits: the file's
own (``split``, or a .ts TRAIN/TEST pair; without a val split, val is the training sequences in
one hash bucket of nine); otherwise each sequence goes to train, val or test (80/10/10) by a hash
of its id, the same whatever else the file holds. The sequences are a :class:`bench.SequenceDataset`:
length-bucketed batches, ``bptt`` windows and exact evaluation come with it.

A bad file is one line before any run: an unknown extension, ragged feature widths, NaN or
infinite values, a per-step target whose length differs from its input, a split with no
sequences, a single class.

Without ``data`` the default is a generated example (written once to ``$RNNBENCH_HOME/cache``):
600 noisy sine waves of 20 to 40 steps in long-form CSV, the class telling a slow wave from a
fast one — a stand-in to try the task on, and a template of the format.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from bench import Batch, DatasetOptions, Example, SequenceDataset, Split, UsageError, cache_dir, file_key, option, register_task
from tasks._sequence_files import FORMATS, RawSet, read, split_names

TargetKind = Literal["class", "per_step", "real", "next"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")


@dataclasses.dataclass
class SequencesOptions(DatasetOptions):
    data: str = option("", f"a file of sequences: {', '.join(FORMATS)} (formats above); empty: a generated example CSV "
                           "(two classes of noisy sine waves)")
    target: Literal["auto", "class", "per_step", "real", "next"] = option(
        "auto", "what is predicted: class (one label per sequence), per_step (a label per step), real (real values), "
                "next (the next step of the input); auto: inferred from the file")
    normalise: bool = option(True, "scale real features and real targets by the training split's mean and std")

    def check(self) -> None:
        """Read and check the file while the config is resolved: a bad file is one line before any run."""
        prepared = prepare(self.data, self.target, self.normalise)
        if self.bptt and prepared.per_sequence:
            raise UsageError("sequences: one target per sequence is scored at its last step, so truncated windows "
                             "(bptt) would train on nothing but the last; leave --opt bptt=0")


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A file's sequences as examples of each split, and what the model reads and predicts."""

    examples: dict[str, list[Example]]
    kind: TargetKind
    per_sequence: bool
    tokens: bool
    input_size: int
    output_size: int
    classes: tuple[str, ...] = ()


def prepare(data: str, target: str, normalise: bool) -> Prepared:
    path = Path(data) if data else example_file()
    return _prepare(file_key(str(path), "sequences", f"a sequence file ({', '.join(FORMATS)})"), target, normalise)


@functools.lru_cache(maxsize=4)  # the config check, the budget match and the run read the same file
def _prepare(key: tuple[str, int, int], target: str, normalise: bool) -> Prepared:
    path = Path(key[0])
    raw = read(path)
    where = str(path)
    if not raw.inputs:
        raise UsageError(f"sequences: {where} holds no sequences")
    _check_inputs(raw, where)
    kind, per_sequence = _target_kind(raw, target, where)
    splits = _splits(raw, where)
    train = [i for i, s in enumerate(splits) if s == "train"]
    inputs = [_as_inputs(x, raw.tokens) for x in raw.inputs]
    if not raw.tokens and normalise:
        inputs = _scaled(inputs, train)
    targets, output_size, classes = _targets(raw, inputs, kind, per_sequence, train, normalise, where)
    examples: dict[str, list[Example]] = {split: [] for split in SPLITS}
    for i in sorted(range(len(splits)), key=raw.ids.__getitem__):  # by id: a file's row order changes nothing
        split, x = splits[i], inputs[i]
        if kind == "next":
            examples[split].append((x[:-1], targets[i][1:]))
        elif per_sequence:
            y = targets[i]
            examples[split].append((x, y.expand(len(x), *y.shape)))
        else:
            examples[split].append((x, targets[i]))
    input_size = (max(int(x.max()) for x in inputs) + 1) if raw.tokens else inputs[0].shape[1]
    return Prepared(examples, kind, per_sequence, raw.tokens, input_size, output_size, classes)


def _check_inputs(raw: RawSet, where: str) -> None:
    """Every sequence at least a step long, one feature width, finite values, token ids from 0."""
    if len(set(raw.ids)) < len(raw.ids):
        twice = next(k for k in raw.ids if raw.ids.count(k) > 1)
        raise UsageError(f"sequences: {where}: id {twice!r} names more than one sequence; give each its own")
    widths: dict[tuple[int, ...], str] = {}
    for key, x in zip(raw.ids, raw.inputs):
        if len(x) == 0:
            raise UsageError(f"sequences: {where}: sequence {key!r} has no steps")
        if raw.tokens:
            if x.ndim != 1 or (x < 0).any():
                raise UsageError(f"sequences: {where}: sequence {key!r}'s tokens must be non-negative integers, one per step")
            continue
        if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
            raise UsageError(f"sequences: {where}: sequence {key!r}'s inputs are {x.dtype}, not numbers")
        widths.setdefault(x.shape[1:] if x.ndim > 1 else (), key)
        if len(widths) > 1:
            (shape_a, first), (shape_b, other) = list(widths.items())[:2]
            raise UsageError(f"sequences: {where}: ragged feature widths: sequence {first!r} has {_width(shape_a)} "
                             f"per step, sequence {other!r} {_width(shape_b)}; every step needs the same features")
        if not np.isfinite(x.astype(np.float64)).all():
            raise UsageError(f"sequences: {where}: sequence {key!r} has NaN or infinite inputs; fill or drop them first")
    shape = next(iter(widths), ())
    if not raw.tokens and len(shape) > 1:
        raise UsageError(f"sequences: {where}: inputs are {1 + len(shape)}-D per sequence; give (T,) or (T, D)")


def _width(shape: tuple[int, ...]) -> str:
    return f"{shape[0] if shape else 1} feature(s)"


def _target_kind(raw: RawSet, asked: str, where: str) -> tuple[TargetKind, bool]:
    """The target kind (asked, or inferred) and whether there is one target per sequence."""
    if asked == "next" or (asked == "auto" and raw.targets is None):
        if any(len(x) < 2 for x in raw.inputs):
            short = next(k for k, x in zip(raw.ids, raw.inputs) if len(x) < 2)
            raise UsageError(f"sequences: {where}: predicting the next step needs sequences of 2 steps or more; "
                             f"sequence {short!r} has 1")
        return "next", False
    if raw.targets is None:
        raise UsageError(f"sequences: {where} has no targets, so only target=next (or auto) can be learnt from it")
    for key, x, y in zip(raw.ids, raw.inputs, raw.targets):
        if y.ndim and len(y) != len(x):
            raise UsageError(f"sequences: {where}: sequence {key!r} has {len(x)} steps but {len(y)} targets; "
                             "a target per step needs one for every step")
    one_each = all(y.ndim == 0 for y in raw.targets)
    constant = one_each or all(y.ndim == 1 and (y == y[0]).all() for y in raw.targets)
    real = raw.target_is_real if raw.target_is_real is not None else all(
        np.issubdtype(y.dtype, np.floating) for y in raw.targets)
    kind: TargetKind = asked if asked != "auto" else ("real" if real else "class" if constant else "per_step")  # type: ignore[assignment]
    if kind == "class" and not constant:
        varying = next(k for k, y in zip(raw.ids, raw.targets) if not (y == y.reshape(-1)[0]).all())
        raise UsageError(f"sequences: {where}: target=class needs one label per sequence; sequence {varying!r}'s "
                         "target changes from step to step (use target=per_step)")
    per_sequence = kind == "class" or (kind == "real" and constant)
    return kind, per_sequence


def _splits(raw: RawSet, where: str) -> list[str]:
    """The file's splits (val carved out of train when the file names none), else hashed 80/10/10."""
    if raw.splits is None:
        splits = ["train" if b < 8 else "val" if b == 8 else "test" for b in map(_bucket, raw.ids)]
        fix = "add a split column (train/val/test) or more sequences"
    else:
        splits = split_names(raw.splits, where)
        if "val" not in splits:
            splits = ["val" if s == "train" and _bucket(k) % 9 == 0 else s for s, k in zip(splits, raw.ids)]
        fix = "give every split some sequences"
    for split in SPLITS:
        if split not in splits:
            raise UsageError(f"sequences: {where}: split {split!r} has no sequences ({len(splits)} in all); {fix}")
    return splits


def _bucket(key: str) -> int:
    """0..9 from the SHA-256 of a sequence id: 0-7 train, 8 val, 9 test."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % 10


def _as_inputs(x: np.ndarray, tokens: bool) -> torch.Tensor:
    if tokens:
        return torch.as_tensor(x.astype(np.int64))
    values = torch.as_tensor(x.astype(np.float32))
    return values[:, None] if values.ndim == 1 else values


def _scaled(values: Sequence[torch.Tensor], train: Sequence[int]) -> list[torch.Tensor]:
    """Each column shifted and scaled by the training split's mean and standard deviation (a column
    constant in training keeps its scale)."""
    stacked = torch.cat([values[i] for i in train]).double()
    mean, std = stacked.mean(0), stacked.std(0, correction=0)
    std = torch.where(std > 0, std, torch.ones_like(std))
    return [((v.double() - mean) / std).float() for v in values]


def _targets(raw: RawSet, inputs: list[torch.Tensor], kind: TargetKind, per_sequence: bool, train: list[int],
             normalise: bool, where: str) -> tuple[list[torch.Tensor], int, tuple[str, ...]]:
    """Each sequence's targets as tensors, the output size and (for labels) the class names."""
    if kind == "next":
        return inputs, (max(int(x.max()) for x in inputs) + 1 if raw.tokens else inputs[0].shape[1]), ()
    assert raw.targets is not None
    given = [y.reshape(-1)[0] if per_sequence else y for y in raw.targets]
    if kind == "real":
        try:
            values = [torch.as_tensor(np.asarray(y, dtype=np.float64)).float() for y in given]
        except (TypeError, ValueError):
            raise UsageError(f"sequences: {where}: target=real needs numeric targets") from None
        values = [v.reshape(1) if per_sequence else (v[:, None] if v.ndim == 1 else v) for v in values]
        bad = next((k for k, v in zip(raw.ids, values) if not torch.isfinite(v).all()), None)
        if bad is not None:
            raise UsageError(f"sequences: {where}: sequence {bad!r} has NaN or infinite targets; fill or drop them first")
        if len({v.shape[-1] for v in values}) > 1:
            raise UsageError(f"sequences: {where}: ragged target widths; every target needs the same number of values")
        return (_scaled(values, train) if normalise else values), values[0].shape[-1], ()
    labels = [np.asarray(y).reshape(-1) for y in given]
    bad = next((k for k, label in zip(raw.ids, labels) if any(_missing(v) for v in label.tolist())), None)
    if bad is not None:
        raise UsageError(f"sequences: {where}: sequence {bad!r} has missing targets; fill or drop them first")
    names = sorted({_label(v) for label in labels for v in label.tolist()}, key=_label_order)
    seen_in_training = {_label(v) for i in train for v in labels[i].tolist()}
    if len(seen_in_training) < 2:
        raise UsageError(f"sequences: {where}: the training split has a single class ({', '.join(seen_in_training)}); "
                         "a classifier needs two or more")
    index = {name: i for i, name in enumerate(names)}
    ids = [torch.tensor([index[_label(v)] for v in label.tolist()], dtype=torch.long) for label in labels]
    return ([t.reshape(()) for t in ids] if per_sequence else ids), len(names), tuple(names)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def _label(value: object) -> str:
    """A label as text, so that 1, 1.0 and "1" are one class whichever format spelt it."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _label_order(name: str) -> tuple[int, float, str]:
    """Numbers in numeric order, then other names alphabetically."""
    try:
        return 0, float(name), ""
    except ValueError:
        return 1, math.nan, name


def example_file() -> Path:
    """The default data: two classes of noisy sine waves in long-form CSV, written once."""
    path = cache_dir() / "sequences-example-v1.csv"
    if not path.exists():
        write_example_csv(path, sequences=600, seed=0)
    return path


def write_example_csv(path: Path, sequences: int, seed: int) -> None:
    """Long-form CSV (``sequence, step, value, target``) of noisy sines of 20-40 steps: class 1 turns
    about three times as fast as class 0. Written to a temporary name first, so no reader sees half a file."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = []
    for s in range(sequences):
        label, steps = int(rng.integers(2)), int(rng.integers(20, 41))
        t = np.arange(steps)
        wave = np.sin((0.15 if label == 0 else 0.45) * t + rng.uniform(0, 2 * np.pi)) + 0.3 * rng.standard_normal(steps)
        rows.append(pd.DataFrame({"sequence": f"s{s:04d}", "step": t, "value": wave.round(4), "target": label}))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    pd.concat(rows).to_csv(partial, index=False)
    partial.replace(path)


@register_task("sequences")
class Sequences(SequenceDataset[SequencesOptions]):
    """Your own sequences from a .npz, CSV/Parquet (long form) or UEA/UCR .ts file: class, per_step, real or next."""

    causal = True

    def __init__(self, options: SequencesOptions) -> None:
        super().__init__(options)
        self.prepared = prepare(options.data, options.target, options.normalise)
        self.input_kind = "tokens" if self.prepared.tokens else "features"
        self.input_size = self.prepared.input_size
        self.output_kind = "real" if self.prepared.kind == "real" or (
            self.prepared.kind == "next" and not self.prepared.tokens) else "categorical"
        self.output_size = self.prepared.output_size
        if self.output_kind == "categorical":
            self.target_metric, self.target_mode, self.target_value = "acc", "max", 1.0
            self.target_words = ("every scored step right: rarely reached on real data, so a run usually ends on patience "
                                 "or on the step limit")
        else:
            self.target_metric, self.target_mode, self.target_value = "mse", "min", 0.0
            self.target_words = "no error at all: not reached on real data, so a run ends on patience or on the step limit"

    @classmethod
    def example_options(cls, folder: Path) -> dict[str, object]:
        """A tiny generated CSV: 40 two-class sine waves."""
        path = folder / "tiny_sequences.csv"
        write_example_csv(path, sequences=40, seed=1)
        return {"data": str(path)}

    def examples(self, split: Split, batch_size: int) -> list[Example]:
        return self.prepared.examples[split]

    def collate(self, examples: Sequence[Example]) -> Batch:
        """One target per sequence is scored at each sequence's last real step only."""
        batch = super().collate(examples)
        if self.prepared.per_sequence:
            last = batch.mask.sum(1) - 1
            batch.mask = torch.zeros_like(batch.mask)
            batch.mask[torch.arange(len(last)), last] = True
        return batch

    def data_statistics(self, batch_size: int, seed: int) -> dict[str, float]:
        statistics = super().data_statistics(batch_size, seed)
        statistics.update({f"{split}_sequences": float(len(self.prepared.examples[split])) for split in ("val", "test")})
        if self.prepared.classes:
            statistics["classes"] = float(len(self.prepared.classes))
        return statistics

"""Character-level language modelling (Karpathy's char-rnn; Graves 2013), scored in bits per character.

Any UTF-8 text file loads with ``--opt data=PATH``; it is split by position, 90/5/5 into
train/val/test. The vocabulary is the characters of the training text plus one unknown token for
characters that appear only in val/test.

Without ``data`` the corpus is the source of the running interpreter's standard library — the
Python version of Karpathy's "Linux source code" experiment, present on every machine without a
download: its ``.py`` files in sorted path order (test suites, IDLE, tkinter, lib2to3 left out, as
they are mostly boilerplate), joined and cut at 2 MB. It therefore depends on the Python version.

Training is truncated BPTT over long streams, the classic layout: the split is cut into B parallel
streams (B = batch size), and batch i holds segment i (``bptt`` characters) of every stream, so row
b of batch i+1 continues row b of batch i. The task sets ``carries_state``: the model keeps the
(detached) state across consecutive training batches and across consecutive evaluation batches.
Evaluation sets are the whole split in the same layout.
"""
from __future__ import annotations

import dataclasses
import math
import sysconfig
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor

from bench import Batch, Metric, Split, Task, UsageError, file_key, option, register_task, to_device

UNKNOWN = "\ufffd"  # id 0: characters never seen in training
DEFAULT_CHARS = 2_000_000
SKIPPED_STDLIB_DIRS = {"site-packages", "dist-packages", "test", "tests", "idle_test", "idlelib", "tkinter",
                       "turtledemo", "lib2to3", "ensurepip"}
SPLITS = {"train": (0.0, 0.9), "val": (0.9, 0.95), "test": (0.95, 1.0)}
MIN_CHARS = 1000


@dataclasses.dataclass
class CharLMOptions:
    data: str = option("", "a UTF-8 text file, split 90/5/5 by position; empty: the Python standard library's source")
    bptt: int = option(100, "characters per training segment (truncated backpropagation through time)", min=1)

    def check(self) -> None:
        """Read the text while the config is resolved: a bad file is one line before any run exists."""
        load_text(self.data)


def load_text(data: str) -> str:
    if not data:
        return stdlib_corpus()
    return _read_text(*file_key(data, "charlm", "a UTF-8 text file"))


@lru_cache(maxsize=4)
def _read_text(path: str, mtime_ns: int, size: int) -> str:
    """Cached by path, modification time and size (resolving the config and building the task both read it)."""
    if size == 0:
        raise UsageError(f"charlm: {path} is empty; give a UTF-8 text file")
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"charlm: {path} is not UTF-8 text (byte {exc.start}); give a UTF-8 text file") from None
    if "\x00" in text:
        raise UsageError(f"charlm: {path} holds NUL bytes, so it is binary, not text; give a UTF-8 text file")
    if len(text) < MIN_CHARS:
        raise UsageError(f"charlm: {path} has {len(text)} characters; give at least {MIN_CHARS} to split 90/5/5")
    return text


@lru_cache(maxsize=1)
def stdlib_corpus(limit: int = DEFAULT_CHARS) -> str:
    """The standard library's ``.py`` files, sorted by path, joined, cut at ``limit`` characters."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(f for f in root.rglob("*.py") if not SKIPPED_STDLIB_DIRS & set(f.relative_to(root).parts))
    parts, size = [], 0
    for f in files:
        parts.append(f.read_text(encoding="utf-8", errors="replace"))
        size += len(parts[-1])
        if size >= limit:
            break
    text = "\n".join(parts)[:limit]
    if len(text) < MIN_CHARS:
        raise UsageError(f"charlm: no standard-library source found under {root}; give a text with --opt data=PATH")
    return text


def stream_layout(ids: Tensor, streams: int, bptt: int) -> list[tuple[Tensor, Tensor]]:
    """Cut ``ids`` into ``streams`` parallel rows and consecutive ``bptt`` segments of (inputs, targets).

    Row b of segment i+1 continues row b of segment i; the tail that does not fill every row is
    dropped (fewer than ``streams`` characters). A split shorter than ``streams`` uses fewer rows.
    """
    streams = max(1, min(streams, len(ids) - 1))
    length = (len(ids) - 1) // streams
    inputs = ids[:streams * length].view(streams, length)
    targets = ids[1:streams * length + 1].view(streams, length)
    return [(inputs[:, i:i + bptt], targets[:, i:i + bptt]) for i in range(0, length, bptt)]


class Segments:
    """One epoch of training segments: sized and re-iterable (Lightning calls ``iter()`` per epoch)."""

    def __init__(self, segments: list[tuple[Tensor, Tensor]], device: torch.device) -> None:
        self.segments, self.device = segments, device

    def __len__(self) -> int:
        return len(self.segments)

    def __iter__(self) -> Iterator[Batch]:
        for inputs, targets in self.segments:
            yield _batch(inputs, targets, self.device)


def _batch(inputs: Tensor, targets: Tensor, device: torch.device) -> Batch:
    inputs, targets = to_device(inputs, device), to_device(targets, device)
    return Batch(inputs, targets, torch.ones_like(inputs, dtype=torch.bool))


@register_task("charlm")
class CharLM(Task):
    """Character-level language model (char-rnn; Graves 2013): next character, truncated BPTT; bits/char."""

    Options = CharLMOptions
    input_kind = "tokens"
    output_kind = "categorical"
    carries_state = True
    target_metric = "bpc"
    target_mode = "min"
    target_value = 0.0  # never reached: the run ends on patience or on the step limit
    # The plain-PyTorch reference (2x256 LSTM, BPTT 100, Adam 2e-3: 2.37 bpc on tiny
    # Shakespeare in 10 CPU minutes). Inputs stay one-hot, so that --params can go as low as 5k.
    # Batch 16: in a fixed time, more and smaller updates learn faster — a plain loop given 300 s of
    # one CPU here reached test bpc 2.64 at batch 64, 2.51 at 32 and 2.43 at 16 (results/charlm.md).
    recommended: ClassVar[dict[str, Any]] = {
        "model.hidden_size": 256, "model.num_layers": 2, "train.lr": 2e-3,
        "train.batch_size": 16, "train.clip_grad_norm": 5.0, "train.max_steps": 5000, "train.eval_every": 250,
    }

    @classmethod
    def example_options(cls, folder: Path) -> dict[str, object]:
        """A tiny text file (2,700 characters) and short segments."""
        path = folder / "tiny.txt"
        path.write_text("the quick brown fox jumps over the lazy dog. " * 60)
        return {"data": str(path), "bptt": 10}

    def __init__(self, options: CharLMOptions) -> None:
        super().__init__(options)
        text = load_text(options.data)
        bounds = {s: (round(a * len(text)), round(b * len(text))) for s, (a, b) in SPLITS.items()}
        self.texts = {s: text[a:b] for s, (a, b) in bounds.items()}
        self.vocabulary = [UNKNOWN] + sorted(set(self.texts["train"]) - {UNKNOWN})
        self.index = {c: i for i, c in enumerate(self.vocabulary)}
        self.input_size = self.output_size = len(self.vocabulary)
        self.ids = {s: self.encode(t) for s, t in self.texts.items()}

    def encode(self, text: str) -> Tensor:
        """Characters → ids (0 for a character outside the training vocabulary)."""
        return torch.tensor([self.index.get(c, 0) for c in text], dtype=torch.long)

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.vocabulary[int(i)] for i in ids)

    def train_batches(self, batch_size: int, num_batches: int, seed: int, device: torch.device) -> Iterable[Batch]:
        """One epoch in the classic layout; every epoch is the same (the stream order is the text's)."""
        return Segments(stream_layout(self.ids["train"], batch_size, self.options.bptt), device)

    def eval_batches(
        self, split: Split, batch_size: int, num_examples: int, seed: int, device: torch.device,
        length: int | None = None,
    ) -> list[Batch]:
        """The whole split as ``batch_size`` consecutive streams (``num_examples`` is for generated sets)."""
        return [_batch(x, y, device) for x, y in stream_layout(self.ids[split], batch_size, self.options.bptt)]

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, Metric]:
        metrics = super().metrics(outputs, batch)
        total, count = metrics["loss"]
        metrics["bpc"] = (total / math.log(2), count)
        metrics.pop("seq_acc", None)  # a "sequence" here is an arbitrary segment: meaningless
        return metrics

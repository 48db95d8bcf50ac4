"""Character-level language modelling (Karpathy's char-rnn; Graves 2013), scored in bits per character.

Any UTF-8 text file loads with ``--opt data=PATH``; it is split by position, 90/5/5 into
train/val/test. The vocabulary is the characters of the training text plus one unknown token for
characters that appear only in val/test.

Without ``data`` the corpus is the source of the running interpreter's standard library — the
Python version of Karpathy's "Linux source code" experiment, present on every machine without a
download: its ``.py`` files in sorted path order (test suites, IDLE, tkinter, lib2to3 left out, as
they are mostly boilerplate), joined and cut at 2 MB. It therefore depends on the Python version.

Training is truncated BPTT over long streams, the classic layout: the split is cut into B parallel
streams (B = batch size), the examples of a :class:`bench.SequenceDataset`; their one batch is cut
into windows of ``bptt`` characters, so row b of window i+1 continues row b of window i and the
model carries the (detached) state from one to the next. Evaluation is the whole split in the same
layout.
"""
from __future__ import annotations

import dataclasses
import math
import sysconfig
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor

from bench import (
    Batch,
    DatasetOptions,
    Example,
    Metric,
    SequenceDataset,
    Split,
    UsageError,
    file_key,
    option,
    register_task,
)

UNKNOWN = "\ufffd"  # id 0: characters never seen in training
DEFAULT_CHARS = 2_000_000
SKIPPED_STDLIB_DIRS = {"site-packages", "dist-packages", "test", "tests", "idle_test", "idlelib", "tkinter",
                       "turtledemo", "lib2to3", "ensurepip"}
SPLITS = {"train": (0.0, 0.9), "val": (0.9, 0.95), "test": (0.95, 1.0)}
MIN_CHARS = 1000


@dataclasses.dataclass
class CharLMOptions(DatasetOptions):
    data: str = option("", "a UTF-8 text file, split 90/5/5 by position; empty: the Python standard library's source")
    bptt: int = option(100, "characters per training window (truncated backpropagation through time)", min=1)

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


def stream_rows(ids: Tensor, rows: int) -> list[Example]:
    """``ids`` cut into ``rows`` consecutive streams of equal length, each an example of predicting
    the next character; the tail that does not fill every row is dropped (fewer than ``rows``
    characters). A split shorter than ``rows`` uses fewer rows."""
    rows = max(1, min(rows, len(ids) - 1))
    length = (len(ids) - 1) // rows
    inputs = ids[:rows * length].view(rows, length)
    targets = ids[1:rows * length + 1].view(rows, length)
    return list(zip(inputs, targets))


BAI_2018_PTB = {"lstm": 1.36, "gru": 1.37, "vanilla": 1.48}  # char-level PTB, test bpc, Bai et al. 2018 Table 1


@register_task("charlm")
class CharLM(SequenceDataset[CharLMOptions]):
    """Character-level language model (char-rnn; Graves 2013): next character, truncated BPTT; bits/char."""

    input_kind = "tokens"
    output_kind = "categorical"
    target_metric = "bpc"
    target_mode = "min"
    target_value = 0.0
    target_words = "none: 0 bits per character is never reached, so a run ends on patience or on the step limit"
    # The plain-PyTorch reference (2x256 LSTM, BPTT 100, Adam 2e-3: 2.37 bpc on tiny
    # Shakespeare in 10 CPU minutes). Inputs stay one-hot, so that --params can go as low as 5k.
    # Batch 16: in a fixed time, more and smaller updates learn faster — a plain loop given 300 s of
    # one CPU here reached test bpc 2.64 at batch 64, 2.51 at 32 and 2.43 at 16 (results/charlm.md).
    recommended: ClassVar[dict[str, Any]] = {
        "model.hidden_size": 256, "model.num_layers": 2, "train.lr": 2e-3,
        "train.batch_size": 16, "train.clip_grad_norm": 5.0, "train.max_steps": 5000, "train.eval_every": 250,
    }

    @classmethod
    def published(cls, options: Mapping[str, Any], arch: str, test_loss: float | None = None) -> list[str]:
        """Bai et al. 2018's bits per character, only for a run on Penn Treebank's characters."""
        ptb = "ptb" in str(options.get("data", "")).lower()
        return [f"{BAI_2018_PTB[arch]} (Bai et al. 2018, char PTB, bpc)"] if ptb and arch in BAI_2018_PTB else []

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
        self._rows: dict[tuple[str, int], list[Example]] = {}

    def encode(self, text: str) -> Tensor:
        """Characters → ids (0 for a character outside the training vocabulary)."""
        return torch.tensor([self.index.get(c, 0) for c in text], dtype=torch.long)

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.vocabulary[int(i)] for i in ids)

    def examples(self, split: Split, batch_size: int) -> list[Example]:
        """The split as ``batch_size`` consecutive streams (the classic layout, see the module docstring)."""
        key = (split, batch_size)
        if key not in self._rows:
            self._rows[key] = stream_rows(self.ids[split], batch_size)
        return self._rows[key]

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, Metric]:
        metrics = super().metrics(outputs, batch)
        total, count = metrics["loss"]
        metrics["bpc"] = (total / math.log(2), count)
        return metrics

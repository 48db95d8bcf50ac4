"""Progress output that fits where it goes.

A terminal gets Lightning's live bar. A file or a pipe (CI logs, ``bench run ... > log.txt``) gets
one plain line per validation instead: a redrawn bar would write hundreds of carriage-return
frames into it. ``--no-progress`` shows neither.
"""
from __future__ import annotations

import sys
import time
from typing import Literal, TextIO

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback, TQDMProgressBar

Progress = Literal["auto", "bar", "lines", "none"]
"""``auto``: a bar on a terminal, lines otherwise; ``bar``; ``lines``; ``none``."""

BAR_REFRESH = 10
"""Steps between redraws of the live bar."""


def progress_mode(progress: bool | Progress, stream: TextIO | None = None) -> Progress:
    """The concrete mode: ``True`` means ``auto``, ``False`` means ``none``; ``auto`` looks at the stream."""
    mode: Progress = "auto" if progress is True else "none" if progress is False else progress
    if mode == "auto":
        stream = stream or sys.stdout
        mode = "bar" if stream.isatty() else "lines"
    return mode


def progress_callbacks(mode: Progress) -> list[Callback]:
    if mode == "bar":
        return [TQDMProgressBar(refresh_rate=BAR_REFRESH)]
    if mode == "lines":
        return [LineProgress()]
    return []


class LineProgress(Callback):
    """One line per validation: step, elapsed time and the metrics shown in the bar.

    ``step 300/2000  12.4 s  train/batch_loss 0.4121  val/seq_acc 0.8203``
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._started = time.perf_counter()

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._started = time.perf_counter()

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or trainer.testing:
            return
        shown = trainer.progress_bar_metrics
        metrics = "  ".join(f"{key} {float(value):.4f}" for key, value in sorted(shown.items()))
        elapsed = time.perf_counter() - self._started
        print(f"step {trainer.global_step}/{trainer.max_steps}  {elapsed:.1f} s  {metrics}",
              file=self.stream or sys.stdout, flush=True)

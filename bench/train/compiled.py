"""Which step function a custom cell trains with: eager, or ``torch.compile``d with ``--compile on``.

Architectures without a fused kernel (:class:`bench.core.architecture.SteppedRecurrent`) step through
time in Python; compiling their step can make a training step faster, but costs about a minute cold.
Off by default, because it pays only in long runs: an earlier ``--compile auto``, which timed the first
steps and compiled when that was under a tenth of the run, never compiled a default run on the CPU or
the GPU it was measured on (``results/BENCHMARKS.md``, target 3 and GPU item 5, which report the
compile time and the compiled step's speed for each custom cell). Evaluation always runs eagerly: its
batch shapes differ and would each trigger a new compile.
"""
from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback

from bench.core.architecture import SteppedRecurrent


class StepFunction(Callback):
    """Switch the model's custom cell to its compiled step with ``--compile on``; say which it ran."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.decision = "fused kernel"
        self._resumed = False

    @property
    def state_key(self) -> str:
        return "CompileWhenItPays"  # the name checkpoints of earlier versions saved its state under

    def state_dict(self) -> dict[str, Any]:
        """Saved in checkpoints: a resumed run keeps the step function its first part ran with."""
        return {"decision": self.decision}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.decision = state.get("decision", self.decision)
        self._resumed = True

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        core = getattr(getattr(pl_module, "net", None), "core", None)  # a SequenceModel's cell
        if not isinstance(core, SteppedRecurrent):
            return
        if not self._resumed:
            self.decision = "compiled (--compile on)" if self.mode == "on" else "eager"
        core.compiled = self.decision.startswith("compiled")

"""When to run a custom cell's compiled step: only where it pays.

Architectures without a fused kernel (:class:`bench.core.architecture.SteppedRecurrent`) step through
time in Python. ``torch.compile`` of their step can make each training step several times faster but
costs tens of seconds to compile, cold. With ``--compile auto`` the first steps run eagerly and are
timed; the run switches to the compiled step only if compiling would be under 10% of the compiled
run — compile time plus the remaining steps at the cell's ``compile_gain`` (the speed-up measured
for it; a cell with a hand-written fast path gains little or nothing, since what compiles is its
step-by-step reference, and a gain of at most 1 never compiles). (Comparing with the eager rest of
the run instead let a default NTM run spend about a third of its time compiling.) Evaluation always
runs eagerly (its batch shapes differ and would each trigger a new compile). The measurements behind
the constants are ``benchmarks/suite.py``'s target 3 and ``benchmarks/gpu_check.py``'s item 5, in
``results/BENCHMARKS.md``.
"""
from __future__ import annotations

import time
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities.types import STEP_OUTPUT

from bench.core.architecture import SteppedRecurrent

COMPILE_SECONDS = {"cpu": 60.0, "cuda": 40.0}
"""Rough cold compile time of one step function, by device type (see the module docstring)."""


class CompileWhenItPays(Callback):
    """Decide, from timed eager steps, whether to switch the model's custom cell to its compiled step."""

    def __init__(self, mode: str, warmup: int = 2, probe: int = 5) -> None:
        self.mode, self.warmup, self.probe = mode, warmup, probe
        self.decision = "fused kernel"
        self._started = 0.0

    def _core(self, pl_module: pl.LightningModule) -> SteppedRecurrent | None:
        core = getattr(getattr(pl_module, "net", None), "core", None)  # a SequenceModel's cell
        return core if isinstance(core, SteppedRecurrent) else None

    def state_dict(self) -> dict[str, Any]:
        """Saved in checkpoints: a resumed run keeps the step function its first part chose."""
        return {"decision": self.decision}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.decision = state.get("decision", self.decision)
        self._resumed = True

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        core = self._core(pl_module)
        if core is None:
            return
        if getattr(self, "_resumed", False):
            core.compiled = self.decision.startswith("compiled")
            return
        core.compiled = self.mode == "on"
        self.decision = "compiled (--compile on)" if self.mode == "on" else "eager"
        if self.mode == "auto" and core.compile_gain <= 1.0:
            self.mode = "never"
            self.decision = "eager (its fast path: its compiled step would not be faster)"

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int) -> None:
        if trainer.global_step == self.warmup:
            self._started = time.perf_counter()

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: STEP_OUTPUT, batch: Any, batch_idx: int) -> None:
        core = self._core(pl_module)
        if core is None or self.mode != "auto" or trainer.global_step != self.warmup + self.probe:
            return
        per_step = (time.perf_counter() - self._started) / self.probe
        remaining = max(trainer.max_steps - trainer.global_step, 0) * per_step
        cost = COMPILE_SECONDS.get(pl_module.device.type, 60.0)
        compiled_run = cost + remaining / core.compile_gain
        if cost < 0.1 * compiled_run:
            core.compiled = True
            self.decision = f"compiled (eager {per_step * 1000:.0f} ms/step, {remaining:.0f} s left)"
        else:
            self.decision = (f"eager (compiling ~{cost:.0f} s would exceed 10% of a ~{compiled_run:.0f} s compiled run; "
                             f"{remaining:.0f} s left eager)")

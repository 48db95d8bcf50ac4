"""Speed work-arounds for Lightning's per-step bookkeeping, kept in one place.

Each one removes work Lightning does at every training step that a small recurrent model notices,
without changing what is trained, logged or shown (tests/train/test_speedups.py checks that). What
each saves is measured by ``benchmarks/suite.py`` and recorded in ``results/BENCHMARKS.md``, not
here, so that these docstrings do not go stale.

- :func:`unprofiled`: a profiler that builds no context manager per profiled call.
- :class:`LightningShortcuts`: a LightningModule mixin that stores the running hook's name as a
  plain attribute and logs the batch loss only at the steps where it is shown or sent.
- :func:`flush_denormals`: the CPU treats subnormal floats as zero while a run trains and evaluates.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

import torch
from lightning.pytorch.profilers import PassThroughProfiler
from lightning.pytorch.utilities.types import STEP_OUTPUT


@contextlib.contextmanager
def flush_denormals() -> Iterator[None]:
    """Within the block, the CPU flushes subnormal floats (below ~1.2e-38) to zero; the previous
    setting is restored after it (it is process-wide: a library caller, or a test framework that
    checks floating-point state, should not inherit it).

    A gradient that vanishes through many time steps — a tanh RNN on a long sequence, exactly what
    the classic comparisons probe — decays through the subnormal range, where x86 arithmetic is
    many times slower. Flushing changes values only below the smallest normal float, far under
    anything that moves a weight. A no-op where the CPU cannot flush; GPUs are unaffected. The flag
    is per thread: it covers the calling thread — all of a one-thread run (a sweep worker's usual
    share) — but not torch's intra-op worker threads when ``--threads`` is above 1."""
    was_flushing = torch.tensor([1e-39]).item() == 0.0  # a subnormal reads as zero only when flushed
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(was_flushing)


class Unprofiled(PassThroughProfiler):
    """Lightning wraps each of its hook and strategy calls in ``trainer.profiler.profile(name)``;
    its default profiler records nothing but still builds a generator-based context manager per
    call. This one hands back one reusable empty context. (bench has no ``--profiler``: profile a
    run from outside, with py-spy or ``torch.profiler`` around :func:`bench.train.run.fit`.)"""

    _nothing = contextlib.nullcontext()

    def profile(self, action_name: str) -> contextlib.nullcontext[None]:  # type: ignore[override]
        return self._nothing


def unprofiled() -> Unprofiled:
    """The profiler every bench Trainer gets."""
    return Unprofiled()


class LightningShortcuts:
    """Mix into a ``LightningModule`` (before it in the bases) whose training step returns its loss.

    * Lightning records the running hook's name on the module around every hook call, through
      ``nn.Module.__setattr__``, which checks each value against parameters, buffers and
      submodules first. The name is a plain string: it is set directly.
    * ``self.log`` costs Lightning's logger-connector bookkeeping at every call. The batch loss is
      logged only where it is shown or sent: every ``log_every_n_steps`` updates (what the logger
      connector writes anyway), at every progress-bar refresh, and when training stops. The logged
      series is the same as logging at every step.
    """

    _refresh_every: int = 0
    _log_every: int = 1

    def __setattr__(self, name: str, value: object) -> None:
        if name == "_current_fx_name":
            object.__setattr__(self, name, value)
        else:
            torch.nn.Module.__setattr__(self, name, value)  # type: ignore[arg-type]  # (named: benchmarks reuse this)

    def on_train_start(self) -> None:
        """When the batch loss is shown or sent, looked up once."""
        trainer = self.trainer  # type: ignore[attr-defined]
        bar = trainer.progress_bar_callback
        self._refresh_every = getattr(bar, "refresh_rate", 0) if bar is not None else 0
        self._log_every = trainer.log_every_n_steps

    def on_train_batch_end(self, outputs: STEP_OUTPUT, batch: object, batch_idx: int) -> None:
        trainer = self.trainer  # type: ignore[attr-defined]
        step = trainer.global_step  # updates done, this batch's included
        refresh = self._refresh_every
        if step % self._log_every == 0 or (refresh and step % refresh == 0) or trainer.should_stop:
            loss = outputs["loss"] if isinstance(outputs, Mapping) else outputs
            self.log("train/batch_loss", loss, prog_bar=True, on_step=True, on_epoch=False)  # type: ignore[attr-defined]

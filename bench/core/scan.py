"""Diagonal linear recurrences, ``h_t = a_t ⊙ h_{t-1} + b_t``: the core of minGRU/minLSTM, LRU and Mamba.

Those models make the recurrence linear in the state, with ``a_t`` and ``b_t`` computed from the
inputs alone, so every matrix product is done for the whole sequence at once and only this
element-wise recurrence is left to run over time. Two ways to run it, computing the same function:

- ``"loop"``: a Python loop of two element-wise operations per step. On a CPU it is far faster
  than the log-space scan (``benchmarks/scan_speed.py`` measures both, and the step-by-step mode):
  each step is a small vectorised kernel with nothing to launch.
- ``"log_space"``: the parallel scan in log space (Heinsen 2023, the form Feng et al. 2024 give for
  minGRU): ``h_t = exp(A_t) (h_0 + Σ_{s≤t} exp(log b_s − A_s))`` with ``A_t = Σ_{r≤t} log a_r``,
  as cumulative sums and one ``logcumsumexp`` over time: a few large kernels instead of T small
  ones, which is what an accelerator wants. Signed real ``b`` is split into its positive and
  negative parts; complex ``b`` (LRU) takes complex logarithms. Negative real decays (``--opt
  eigenvalues=signed``, Grazzi et al. 2025) run on their moduli, with the sign of the running
  product, ±1, taken out: h_t = σ_t e^{A_t} (h_0 + Σ σ_s b_s e^{−A_s}), σ_t = Π sign(a_r). The sequence is cut into chunks
  (carrying ``h`` between them) so that ``A_t`` stays small; even so it is less precise than the
  loop (see ``LOG_SPACE_CHUNK``), a price of the method, not of this code.

``"auto"`` picks the loop on the CPU and the log-space scan on an accelerator.
"""
from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

ScanMethod = Literal["auto", "loop", "log_space"]

LOG_SPACE_CHUNK = 32
"""Steps per chunk of the log-space scan. Its results carry a relative error of about
``|A_t| · ε`` (the cumulative log-decay within the chunk times float32's resolution), because
``exp(A_t + log Σ …)`` adds two large numbers of opposite sign: short chunks keep that small, and
T / 32 sequential chunks are still few."""

SMALLEST_DECAY = 1e-6
"""Decays below this count as this in the log-space scan, so that one decay of zero does not put
the rest of its chunk at ``A_t = −87`` (float32's smallest log) and ruin their precision. The
values change by less than 1e-6 of the state; the gradient with respect to such a decay is zero
(the loop's is h_{t−1} times the output's gradient), which matters little as the models' decays
reach such values only through gates that are saturated, whose own gradients are as small."""


def linear_recurrence(a: Tensor, b: Tensor, h0: Tensor, method: ScanMethod = "auto") -> Tensor:
    """Every ``h_t`` of ``h_t = a_t ⊙ h_{t-1} + b_t`` for t = 1..T, as ``(B, T, ...)``.

    ``a``: ``(B, T, ...)`` decays, real in [−1, 1] or complex of modulus ≤ 1, or ``(...)`` for a
    decay that is the same at every step (LRU); ``b``: ``(B, T, ...)``; ``h0``: ``(B, ...)``.
    """
    if method == "auto":
        method = "loop" if b.device.type == "cpu" else "log_space"
    if a.dim() < b.dim():
        a = a.expand_as(b)
    if method == "loop":
        return _loop(a, b, h0)
    outputs, h = [], h0
    for start in range(0, b.shape[1], LOG_SPACE_CHUNK):
        chunk = _log_space(a[:, start:start + LOG_SPACE_CHUNK], b[:, start:start + LOG_SPACE_CHUNK], h)
        outputs.append(chunk)
        h = chunk[:, -1]
    return torch.cat(outputs, 1)


def _loop(a: Tensor, b: Tensor, h: Tensor) -> Tensor:
    states = []
    for a_t, b_t in zip(a.unbind(1), b.unbind(1)):  # unbind, not a[:, t]: see SteppedRecurrent.forward
        h = a_t * h + b_t
        states.append(h)
    return torch.stack(states, 1)


def _log(x: Tensor) -> Tensor:
    """log x for x ≥ 0 (or complex x), with 0 mapped to a very negative number rather than −inf,
    whose gradient would be NaN; the terms so changed are below float32's resolution anyway."""
    if x.is_complex():
        tiny = torch.finfo(x.real.dtype).tiny
        return torch.complex(x.abs().clamp_min(tiny).log(), x.angle())
    return x.clamp_min(torch.finfo(x.dtype).tiny).log()


def _log_space(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    if a.is_complex():
        floored = torch.polar(a.abs().clamp_min(SMALLEST_DECAY), a.angle())
        decay = _log(floored).cumsum(1)  # A_t: the log of the product of the decays so far
        return decay.exp() * h0[:, None] + (decay + torch.logcumsumexp(_log(b) - decay, 1)).exp()
    decay = _log(a.abs().clamp_min(SMALLEST_DECAY)).cumsum(1)
    sign = torch.where(a < 0, -1.0, 1.0).to(a.dtype).cumprod(1)  # σ_t: ones where every decay is positive
    b = b * sign  # σ_s b_s (1/σ_s = σ_s)
    carried = decay.exp() * h0[:, None]
    positive = (decay + torch.logcumsumexp(_log(b.clamp_min(0)) - decay, 1)).exp()
    negative = (decay + torch.logcumsumexp(_log((-b).clamp_min(0)) - decay, 1)).exp()
    return sign * (carried + positive - negative)


def positive(x: Tensor) -> Tensor:
    """Feng et al. 2024's g: x + 0.5 for x ≥ 0, sigmoid(x) below; continuous, always positive, so a
    minGRU/minLSTM state that starts at zero stays positive, as their log-space scan needs."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))

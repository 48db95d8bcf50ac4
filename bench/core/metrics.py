"""Losses and metrics decided by a task's output kind, on the common stream format.

Every task's targets are one of four kinds, and the kind alone fixes the head's loss:

* ``categorical`` — ``targets (B, T)`` class ids; softmax cross-entropy (nats per scored step).
* ``bernoulli``  — ``targets (B, T, K)`` bits; K independent sigmoids, NLL summed over K
  (nats per scored frame, the polyphonic-music and NTM-copy convention).
* ``real``       — ``targets (B, T, K)`` floats; mean squared error.
* ``gaussian``   — ``targets (B, T, K)`` floats; a diagonal Gaussian per step: the head emits K means
  then K log standard deviations (so it is 2K wide, :func:`head_size`), log σ clamped to
  [``LOG_STD_MIN``, ``LOG_STD_MAX``]; NLL summed over K (nats per scored frame), ``mse`` of the means
  reported beside it.

Only steps where ``mask`` is true are scored. A metric is returned as ``(total, count)`` so that
evaluation over many batches pools exactly (e.g. NLL per frame pooled over all frames of a split,
not a mean of batch means), and stays on the device until the end of the epoch.
"""
from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

OutputKind = Literal["categorical", "bernoulli", "real", "gaussian"]
Metric = tuple[Tensor, Tensor]
"""A metric as ``(total, count)``: its value is ``total / count`` pooled over batches."""

LOG_STD_MIN, LOG_STD_MAX = -7.0, 7.0
"""The range log σ of a ``gaussian`` head is clamped to: σ from about 1e-3 to 1e3 of the targets'
unit. The lower end keeps the NLL finite where targets are (nearly) constant, e.g. digital silence
in audio, and keeps the gradients of (x − μ)²/σ² bounded; a task should give targets of roughly
unit scale."""


def head_size(kind: OutputKind, output_size: int) -> int:
    """Outputs the head needs for a task's ``output_size`` values: 2 per value (mean and log σ) for
    ``gaussian``, one per value (a logit or a real value) otherwise."""
    return 2 * output_size if kind == "gaussian" else output_size


def gaussian_parameters(outputs: Tensor) -> tuple[Tensor, Tensor]:
    """A ``gaussian`` head's outputs ``(..., 2K)`` → means ``(..., K)`` and clamped log σ ``(..., K)``."""
    mean, log_std = outputs.chunk(2, dim=-1)
    return mean, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)


def gaussian_nll(mean: Tensor, log_std: Tensor, targets: Tensor) -> Tensor:
    """−log N(targets; mean, exp(log_std)²) summed over the last dimension (nats)."""
    z = (targets - mean) * torch.exp(-log_std)
    return (0.5 * math.log(2 * math.pi) + log_std + 0.5 * z * z).sum(-1)


def per_step_loss(kind: OutputKind, outputs: Tensor, targets: Tensor) -> Tensor:
    """Loss at every step, shape ``(B, T)``."""
    if kind == "categorical":
        return F.cross_entropy(outputs.transpose(1, 2), targets, reduction="none")
    if kind == "bernoulli":
        return F.binary_cross_entropy_with_logits(outputs, targets, reduction="none").sum(-1)
    if kind == "real":
        return (outputs - targets).pow(2).mean(-1)
    if kind == "gaussian":
        return gaussian_nll(*gaussian_parameters(outputs), targets)
    raise ValueError(f"unknown output kind {kind!r}")


def masked_mean_loss(kind: OutputKind, outputs: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """The training objective: mean loss over scored steps."""
    losses = per_step_loss(kind, outputs, targets)
    weights = mask.to(losses.dtype)
    return (losses * weights).sum() / weights.sum().clamp_min(1.0)


def standard_metrics(kind: OutputKind, outputs: Tensor, targets: Tensor, mask: Tensor) -> dict[str, Metric]:
    """The metrics every task of this output kind reports (tasks may add their own)."""
    outputs = outputs.detach()
    losses = per_step_loss(kind, outputs, targets)
    weights = mask.to(losses.dtype)
    scored = weights.sum()
    batch = torch.tensor(float(mask.shape[0]), device=mask.device)
    result: dict[str, Metric] = {"loss": ((losses * weights).sum(), scored)}
    if kind == "categorical":
        correct = outputs.argmax(-1) == targets
    elif kind == "bernoulli":
        bit_correct = (outputs > 0) == (targets > 0.5)
        correct = bit_correct.all(-1)
        bits = (bit_correct.to(losses.dtype).mean(-1) * weights).sum()
        result["bit_acc"] = (bits, scored)
        result["bits_per_seq"] = ((losses * weights).sum() / math.log(2), batch)
    elif kind == "gaussian":
        mean, _ = gaussian_parameters(outputs)
        result["mse"] = (((mean - targets).pow(2).mean(-1) * weights).sum(), scored)
        return result
    else:
        result["mse"] = result["loss"]
        return result
    result["acc"] = ((correct & mask).sum().to(losses.dtype), scored)
    seq_correct = (correct | ~mask).all(-1)
    result["seq_acc"] = (seq_correct.sum().to(losses.dtype), batch)
    return result


def reaches(value: float, target: float, mode: str) -> bool:
    """Whether ``value`` meets ``target`` (``mode`` min: at or below it), with a relative slack of
    1e-6: metrics are float32, so a run at exactly the target may read a hair past it."""
    nudge = 1e-6 * max(1.0, abs(target))
    return value <= target + nudge if mode == "min" else value >= target - nudge

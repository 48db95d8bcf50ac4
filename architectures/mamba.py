"""Mamba: a selective state-space model (Gu & Dao 2023), in plain PyTorch.

A selective SSM whose Δ, B and C depend on the input, after a causal depthwise convolution and
gated by SiLU, in RMSNorm residual blocks (default 2; ``--opt state_size= expand= conv_size=``).
No compiled extension: the recurrence runs as a scan (``--opt scan=``). Its decays exp(Δ·A) are
positive, so it counts rather than flips: per-step parity of 8 bits was not solved in our tries.
``--opt eigenvalues=signed`` takes them to 2·exp(Δ·A) − 1 in (−1, 1), Grazzi et al. 2025's change
("Unlocking State-Tracking in Linear RNNs Through Negative Eigenvalues").
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from bench import ModelConfig, ScanLayer, ScannedRecurrent, ScanOptions, linear_recurrence, option, register_architecture


@dataclasses.dataclass
class MambaOptions(ScanOptions):
    state_size: int = option(16, "SSM state size N per channel", min=1)
    expand: int = option(2, "inner channels E = expand × hidden size", min=1)
    conv_size: int = option(4, "width of the causal depthwise convolution before the SSM", min=1)


RECOMPUTED_CHUNK = 128
"""Steps whose (B, T, E, N) SSM tensors are held at once in training. The states are E·N times the
size of the block's input, too many to keep for a long sequence (B=64, T=4,000 needs tens of GB);
like the paper's kernel (its section 3.3.2, recomputation), each chunk's are recomputed in the
backward pass instead, from its inputs and its first state."""


class MambaBlock(ScanLayer):
    """h ← h + Mamba(RMSNorm(h)) (Gu & Dao 2023, "Mamba: Linear-Time Sequence Modeling with
    Selective State Spaces", the block of their Figure 3).

    The input goes to E inner channels twice: one branch through a short causal depthwise
    convolution, SiLU and the selective SSM, the other a SiLU gate on its output. The SSM is
    selective because its step size Δ_t, input matrix B_t and output matrix C_t are computed from
    the input at each step: per channel, s_t = exp(Δ_t A) ⊙ s_{t−1} + Δ_t B_t u_t and
    y_t = C_t · s_t + D u_t, with A diagonal and negative (S4D-real initialisation, −1..−N) and Δ's
    bias initialised so that Δ starts log-uniform in [0.001, 0.1], as in the paper's code. The
    state is the convolution's last inputs and the SSM state, so chunks carry over exactly.
    """

    def __init__(self, size: int, options: MambaOptions) -> None:
        super().__init__()
        inner, n = options.expand * size, options.state_size
        self.inner, self.state_size, self.scan = inner, n, options.scan
        self.signed = options.eigenvalues == "signed"
        self.rank = math.ceil(size / 16)
        self.norm = nn.RMSNorm(size)
        self.in_proj = nn.Linear(size, 2 * inner, bias=False)
        self.conv = nn.Conv1d(inner, inner, options.conv_size, groups=inner)
        self.x_proj = nn.Linear(inner, self.rank + 2 * n, bias=False)
        self.dt_proj = nn.Linear(self.rank, inner)
        with torch.no_grad():
            step = torch.exp(torch.rand(inner) * (math.log(0.1) - math.log(0.001)) + math.log(0.001))
            self.dt_proj.bias.copy_(step + torch.log(-torch.expm1(-step)))  # softplus⁻¹(step)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, n + 1, dtype=torch.float32)).repeat(inner, 1))
        self.D = nn.Parameter(torch.ones(inner))
        self.out_proj = nn.Linear(inner, size, bias=False)

    def initial_state(self, x: Tensor) -> tuple[Tensor, ...]:
        b = x.shape[0]
        return x.new_zeros(b, self.inner, self.conv.kernel_size[0] - 1), x.new_zeros(b, self.inner, self.state_size)

    def selection(self, u: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """From the convolved inputs ``u`` (..., E): the SSM's decay exp(Δ A) and drive Δ B u
        (..., E, N), its output matrix C (..., N) and the skip D u."""
        dt, input_matrix, output_matrix = self.x_proj(u).split((self.rank, self.state_size, self.state_size), -1)
        delta = F.softplus(self.dt_proj(dt))
        decay = torch.exp(delta[..., None] * -self.A_log.exp())
        if self.signed:  # Grazzi et al. 2025: exp(Δ A) in (0, 1) becomes 2 exp(Δ A) − 1 in (−1, 1)
            decay = 2 * decay - 1
        drive = (delta * u)[..., None] * input_matrix[..., None, :]
        return decay, drive, output_matrix, self.D * u

    def forward(self, x: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        context, ssm = state
        inputs, gate = self.in_proj(self.norm(x)).chunk(2, -1)
        window = torch.cat([context, inputs.transpose(1, 2)], 2)  # the last inputs, then these
        u = F.silu(self.conv(window)).transpose(1, 2)
        outputs = []
        recompute = torch.is_grad_enabled() and u.shape[1] > RECOMPUTED_CHUNK  # short: keeping them costs little
        for chunk in u.split(RECOMPUTED_CHUNK, 1):
            if recompute:
                y, ssm = checkpoint(self.selective_scan, chunk, ssm, use_reentrant=False)
            else:
                y, ssm = self.selective_scan(chunk, ssm)
            outputs.append(y)
        kept = window[:, :, window.shape[2] - context.shape[2]:]
        return x + self.out_proj(torch.cat(outputs, 1) * F.silu(gate)), (kept, ssm)

    def selective_scan(self, u: Tensor, ssm: Tensor) -> tuple[Tensor, Tensor]:
        """The SSM over the convolved inputs ``u`` (B, T, E) from state ``ssm``: outputs (B, T, E), last state."""
        decay, drive, output_matrix, skip = self.selection(u)
        states = linear_recurrence(decay, drive, ssm, self.scan)
        return (states @ output_matrix[..., None]).squeeze(-1) + skip, states[:, -1]

    def step(self, x_t: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        context, ssm = state
        inputs, gate = self.in_proj(self.norm(x_t)).chunk(2, -1)
        window = torch.cat([context, inputs[:, :, None]], 2)
        u = F.silu(self.conv(window)[:, :, 0])  # the window is exactly one kernel wide
        decay, drive, output_matrix, skip = self.selection(u)
        ssm = decay * ssm + drive
        y = (ssm @ output_matrix[..., None]).squeeze(-1) + skip
        return x_t + self.out_proj(y * F.silu(gate)), (window[:, :, 1:], ssm)


@register_architecture("mamba")
class Mamba(ScannedRecurrent[MambaOptions]):
    """Mamba: selective SSM (input-dependent Δ, B, C), causal conv and gating (Gu & Dao 2023); plain PyTorch scan."""

    colour = "black"

    recommended = {"model.num_layers": 2}

    @classmethod
    def budget_variants(cls, model: ModelConfig) -> Iterator[ModelConfig]:
        """Then a smaller or larger SSM state: its count moves in finer steps than the hidden size's."""
        yield from super().budget_variants(model)
        options = cast(MambaOptions, model.options or MambaOptions())
        for size in (8, 12, 24, 32):
            if size != options.state_size:
                yield dataclasses.replace(model, options=dataclasses.replace(options, state_size=size))

    def make_block(self) -> ScanLayer:
        return MambaBlock(self.hidden_size, self.options)

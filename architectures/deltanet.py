"""DeltaNet: a linear transformer whose memory is updated by the delta rule, in plain PyTorch.

Schlag, Irie & Schmidhuber 2021 ("Linear Transformers Are Secretly Fast Weight Programmers"); Yang
et al. 2024 ("Parallelizing Linear Transformers with the Delta Rule over Sequence Length"). Each head
keeps a matrix memory S (values × keys) and, at every step, writes v_t under key k_t after erasing
what k_t retrieved: S_t = S_{t−1}(I − β_t k_t k_tᵀ) + β_t v_t k_tᵀ, read out as o_t = S_t q_t. The
transition I − β k kᵀ is not diagonal, so unlike Mamba's it can rotate and reflect the state; with
β ∈ (0, 1) its eigenvalues are in [0, 1], and ``--opt eigenvalues=signed`` takes β to (0, 2) and
them to [−1, 1] (Grazzi et al. 2025), which lets one layer flip its state (parity).

As Yang et al. have it: q, k and v from a short causal depthwise convolution and SiLU, keys and
queries L2-normalised, β = σ(W_β x) per head, an RMSNorm on each head's output, and pre-norm residual
blocks with a SwiGLU feed-forward (``--opt mlp=``; default 2 blocks). The whole sequence runs in
chunks (their Section 3, the WY/UT form: one triangular solve and a few matrix products per chunk);
``step`` is the readable recurrence the tests hold it to.
"""
from __future__ import annotations

import dataclasses
import math
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bench import ScanLayer, ScannedRecurrent, ScanOptions, UsageError, option, register_architecture

CHUNK = 32
"""Steps computed together by the chunked form: long enough for matrix products to dominate, short
enough that the (chunk × chunk) triangular systems stay cheap and well conditioned."""


@dataclasses.dataclass
class DeltaNetOptions(ScanOptions):
    heads: int = option(2, "memory heads per layer; each has keys and values of hidden size / heads", min=1)
    conv_size: int = option(4, "width of the causal depthwise convolution on q, k and v (1: none)", min=1)
    mlp: int = option(2, "SwiGLU feed-forward width after each layer, as a multiple of the hidden size (0: none)", min=0)

    def check(self) -> None:
        if self.scan != "auto":
            raise UsageError("deltanet: its transition is a matrix, not element-wise, so it always runs in chunks "
                             "(Yang et al. 2024); drop --opt scan")


def delta_rule_chunked(q: Tensor, k: Tensor, v: Tensor, beta: Tensor, memory: Tensor,
                       chunk: int = CHUNK) -> tuple[Tensor, Tensor]:
    """Every o_t of the delta rule and the last memory, a chunk at a time.

    ``q``, ``k``: (B, H, T, K); ``v``: (B, H, T, V); ``beta``: (B, H, T); ``memory``: (B, H, V, K).
    Within a chunk the memory is S_0 + Σ_i u_i k_iᵀ, where the corrected values u solve the unit
    lower-triangular system (I + tril(diag(β) K Kᵀ, −1)) U = diag(β)(V − K S_0ᵀ); then
    O = Q S_0ᵀ + (Q Kᵀ ⊙ causal) U and the next chunk starts from S_0 + Uᵀ K.
    """
    outputs = []
    for start in range(0, q.shape[2], chunk):
        qc, kc, vc, bc = (t[:, :, start:start + chunk] for t in (q, k, v, beta))
        n = qc.shape[2]
        strictly_lower = torch.ones(n, n, dtype=torch.bool, device=q.device).tril(-1)
        system = torch.eye(n, dtype=q.dtype, device=q.device) + (bc[..., None] * (kc @ kc.transpose(-1, -2))) * strictly_lower
        right = bc[..., None] * (vc - kc @ memory.transpose(-1, -2))
        corrected = torch.linalg.solve_triangular(system, right, upper=False, unitriangular=True)
        scores = (qc @ kc.transpose(-1, -2)).tril()
        outputs.append(qc @ memory.transpose(-1, -2) + scores @ corrected)
        memory = memory + corrected.transpose(-1, -2) @ kc
    return torch.cat(outputs, 2), memory


class SwiGLU(nn.Module):
    """h ← h + W_down(SiLU(W_g RMSNorm(h)) ⊙ W_u RMSNorm(h)), the feed-forward of Yang et al.'s block."""

    def __init__(self, size: int, width: int) -> None:
        super().__init__()
        self.norm = nn.RMSNorm(size)
        self.up = nn.Linear(size, 2 * width, bias=False)
        self.down = nn.Linear(width, size, bias=False)

    def forward(self, h: Tensor) -> Tensor:
        gate, up = self.up(self.norm(h)).chunk(2, -1)
        return h + cast(Tensor, self.down(F.silu(gate) * up))


class DeltaNetBlock(ScanLayer):
    """h ← h + DeltaNet(RMSNorm(h)), then h ← h + SwiGLU(RMSNorm(h)) (Yang et al. 2024's block)."""

    def __init__(self, size: int, options: DeltaNetOptions) -> None:
        super().__init__()
        self.heads, self.head_size = options.heads, max(1, size // options.heads)
        inner = self.heads * self.head_size
        self.signed = options.eigenvalues == "signed"
        self.norm = nn.RMSNorm(size)
        self.qkv = nn.Linear(size, 3 * inner, bias=False)
        self.conv = nn.Conv1d(3 * inner, 3 * inner, options.conv_size, groups=3 * inner)
        self.beta = nn.Linear(size, self.heads)
        self.head_norm = nn.RMSNorm(self.head_size)
        self.out = nn.Linear(inner, size, bias=False)
        self.mlp = SwiGLU(size, options.mlp * size) if options.mlp else None

    def initial_state(self, x: Tensor) -> tuple[Tensor, ...]:
        b = x.shape[0]
        return (x.new_zeros(b, self.conv.in_channels, self.conv.kernel_size[0] - 1),
                x.new_zeros(b, self.heads, self.head_size, self.head_size))

    def _heads(self, u: Tensor, normed: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """q, k, v (B, H, T, D) from the convolved projections ``u`` (B, T, 3·inner), and β (B, H, T)."""
        b, t = u.shape[:2]
        q, k, v = (part.reshape(b, t, self.heads, self.head_size).transpose(1, 2) for part in u.chunk(3, -1))
        q = F.normalize(q, dim=-1) / math.sqrt(self.head_size)
        k = F.normalize(k, dim=-1)
        beta = torch.sigmoid(self.beta(normed)).transpose(1, 2)
        return q, k, v, (2 * beta if self.signed else beta)  # signed: β in (0, 2), eigenvalues 1 − β in (−1, 1)

    def _finish(self, x: Tensor, o: Tensor) -> Tensor:
        """The residual sums, from the heads' outputs ``o`` (B, H, T, D)."""
        b, _, t, _ = o.shape
        h = x + self.out(self.head_norm(o).transpose(1, 2).reshape(b, t, -1))
        return h if self.mlp is None else cast(Tensor, self.mlp(h))

    def forward(self, x: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        context, memory = state
        normed = self.norm(x)
        window = torch.cat([context, self.qkv(normed).transpose(1, 2)], 2)
        u = F.silu(self.conv(window)).transpose(1, 2)
        o, memory = delta_rule_chunked(*self._heads(u, normed), memory)
        return self._finish(x, o), (window[:, :, window.shape[2] - context.shape[2]:], memory)

    def step(self, x_t: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        context, memory = state
        normed = self.norm(x_t)[:, None]
        window = torch.cat([context, self.qkv(normed).transpose(1, 2)], 2)
        u = F.silu(self.conv(window)).transpose(1, 2)  # the window is exactly one kernel wide
        q, k, v, beta = (t[:, :, 0] for t in self._heads(u, normed))
        retrieved = (memory @ k[..., None]).squeeze(-1)  # S k: what the key now reads
        memory = memory + (beta[..., None] * (v - retrieved))[..., None] * k[:, :, None, :]
        o = (memory @ q[..., None]).squeeze(-1)
        return self._finish(x_t[:, None], o[:, :, None])[:, 0], (window[:, :, 1:], memory)


@register_architecture("deltanet")
class DeltaNet(ScannedRecurrent[DeltaNetOptions]):
    """DeltaNet: linear attention with the delta rule, S ← S(I − βkkᵀ) + βvkᵀ (Yang et al. 2024); chunked, plain PyTorch."""

    colour = "teal"

    recommended = {"model.num_layers": 2}

    def make_block(self) -> ScanLayer:
        return DeltaNetBlock(self.hidden_size, self.options)

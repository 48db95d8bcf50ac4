"""minGRU: a GRU whose gate and candidate read the input only (Feng et al. 2024).

"Were RNNs All We Needed?": h_t = (1 − z_t) h_{t−1} + z_t g(h̃_t), with z_t and h̃_t computed from
x_t alone, so the recurrence is linear in the state and runs as a scan (``bench/core/scan.py``: an
element-wise loop on the CPU, the log-space parallel scan on an accelerator, ``--opt scan=``).
Pre-norm residual blocks, default 2 (``--num-layers``). Its decays are positive, so it counts
rather than flips: parity-like state needs more depth or steps than a GRU. ``--opt
eigenvalues=signed`` maps them to (−1, 1), as Grazzi et al. 2025 do for Mamba.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from bench import GatedScanLayer, ScanLayer, ScanMethod, ScannedRecurrent, positive, register_architecture


class MinGRUBlock(GatedScanLayer):
    """h ← h + minGRU(LayerNorm(h)), with h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ g(h̃_t),
    z_t = σ(W_z x_t), h̃_t = W_h x_t (Feng et al. 2024, "Were RNNs All We Needed?", the log-space
    form with their g, so the state stays positive)."""

    def __init__(self, size: int, scan: ScanMethod, signed: bool = False) -> None:
        super().__init__(size, scan, signed)
        self.norm = nn.LayerNorm(size)
        self.gate_and_candidate = nn.Linear(size, 2 * size)

    def coefficients(self, x: Tensor) -> tuple[Tensor, Tensor]:
        gate, candidate = self.gate_and_candidate(self.norm(x)).chunk(2, -1)
        z = torch.sigmoid(gate)
        return 1 - z, z * positive(candidate)


@register_architecture("mingru")
class MinGRU(ScannedRecurrent):
    """minGRU: gates from the input only, so training is a parallel scan (Feng et al. 2024); pre-norm residual blocks."""

    colour = "tab:olive"

    recommended = {"model.num_layers": 2}  # one block's gates cannot see the state; the next block's can

    def make_block(self) -> ScanLayer:
        return MinGRUBlock(self.hidden_size, self.options.scan, self.options.eigenvalues == "signed")

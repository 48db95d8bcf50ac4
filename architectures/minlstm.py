"""minLSTM: an LSTM whose gates read the input only (Feng et al. 2024).

Input and forget gates from x_t alone, normalised to sum to one, so the recurrence is linear in the
state and runs as a scan (``--opt scan=``, as for ``mingru``); blocks as for ``mingru``; ``--opt
eigenvalues=signed`` maps the normalised forget gate to (−1, 1) (Grazzi et al. 2025).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from bench import GatedScanLayer, ScanLayer, ScanMethod, ScannedRecurrent, positive, register_architecture


class MinLSTMBlock(GatedScanLayer):
    """h ← h + minLSTM(LayerNorm(h)), with h_t = f'_t ⊙ h_{t−1} + i'_t ⊙ g(h̃_t), where the forget
    and input gates f_t = σ(W_f x_t), i_t = σ(W_i x_t) are normalised to sum to one,
    f' = f / (f + i), i' = i / (f + i), which makes the state's scale independent of time
    (Feng et al. 2024, "Were RNNs All We Needed?", log-space form with their g)."""

    def __init__(self, size: int, scan: ScanMethod, signed: bool = False) -> None:
        super().__init__(size, scan, signed)
        self.norm = nn.LayerNorm(size)
        self.gates_and_candidate = nn.Linear(size, 3 * size)

    def coefficients(self, x: Tensor) -> tuple[Tensor, Tensor]:
        forget, write, candidate = self.gates_and_candidate(self.norm(x)).chunk(3, -1)
        f, i = torch.sigmoid(forget), torch.sigmoid(write)
        return f / (f + i), i / (f + i) * positive(candidate)


@register_architecture("minlstm")
class MinLSTM(ScannedRecurrent):
    """minLSTM: normalised input and forget gates from the input only, a parallel scan (Feng et al. 2024); pre-norm residual blocks."""

    colour = "tab:cyan"

    recommended = {"model.num_layers": 2}  # one block's gates cannot see the state; the next block's can

    def make_block(self) -> ScanLayer:
        return MinLSTMBlock(self.hidden_size, self.options.scan, self.options.eigenvalues == "signed")

"""Long short-term memory with a configurable forget-gate bias.

LSTM with a forget gate (Hochreiter & Schmidhuber 1997; Gers et al. 2000) on PyTorch's fused
``nn.LSTM``. The forget-gate bias starts at 1, as Jozefowicz et al. 2015 recommend
(``--opt forget_bias=``); sweeps search it between 0 and 3.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from bench import FusedRecurrent, option, register_architecture


@dataclasses.dataclass
class LSTMOptions:
    forget_bias: float = option(
        1.0, "initial forget-gate bias; 1.0 as Jozefowicz et al. 2015 recommend (PyTorch's default is 0)"
    )


@register_architecture("lstm")
class LSTM(FusedRecurrent[LSTMOptions]):
    """LSTM with forget gate (Hochreiter & Schmidhuber 1997; Gers et al. 2000), forget bias 1; fused nn.LSTM."""

    colour = "tab:orange"

    # Greff et al. 2017 and Jozefowicz et al. 2015 single out the forget gate: let sweeps tune its bias.
    search_space = {"model.forget_bias": {"type": "float", "low": 0.0, "high": 3.0}}

    def make_layer(self, **kwargs: Any) -> nn.RNNBase:
        return nn.LSTM(**kwargs)

    def initialise(self) -> None:
        # PyTorch orders the gates (input, forget, cell, output) and adds two bias vectors; the
        # forget slice of their sum is set to forget_bias.
        h = self.hidden_size
        with torch.no_grad():
            for name, bias in self.rnn.named_parameters():
                if name.startswith("bias_ih"):
                    bias[h : 2 * h].fill_(self.options.forget_bias)
                elif name.startswith("bias_hh"):
                    bias[h : 2 * h].zero_()

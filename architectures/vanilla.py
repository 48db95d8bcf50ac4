"""Vanilla (Elman) recurrent network with tanh units — the baseline every gated unit is compared to."""
from __future__ import annotations

from typing import Any

from torch import nn

from bench import FusedRecurrent, register_architecture


@register_architecture("vanilla")
class Vanilla(FusedRecurrent):
    """tanh RNN, h_t = tanh(W x_t + U h_{t-1} + b) (Elman 1990); fused nn.RNN kernel."""

    colour = "tab:green"

    def make_layer(self, **kwargs: Any) -> nn.RNNBase:
        return nn.RNN(nonlinearity="tanh", **kwargs)

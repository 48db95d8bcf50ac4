"""Vanilla (Elman) recurrent network with tanh units — the baseline every gated unit is compared to.

PyTorch's fused ``nn.RNN`` (cuDNN on a GPU). Its gradients through time vanish or explode with the
spectral radius of U, which is what the gated units, IRNN's initialisation and clipping answer.
"""
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

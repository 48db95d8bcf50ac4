"""Gated recurrent unit.

Cho et al. 2014, compared with the LSTM by Chung et al. 2014: a reset and an update gate, no
separate cell. PyTorch's fused ``nn.GRU``.
"""
from __future__ import annotations

from typing import Any

from torch import nn

from bench import FusedRecurrent, register_architecture


@register_architecture("gru")
class GRU(FusedRecurrent):
    """Gated recurrent unit with reset and update gates (Cho et al. 2014; Chung et al. 2014); fused nn.GRU."""

    colour = "tab:blue"

    def make_layer(self, **kwargs: Any) -> nn.RNNBase:
        return nn.GRU(**kwargs)

"""Identity-initialised ReLU recurrent network.

Le, Jaitly & Hinton 2015: ReLU units, recurrent weights initialised to the identity (scaled by
``--opt identity_scale=``) and biases to zero, so at the start the state is carried unchanged and
gradients neither vanish nor explode. PyTorch's fused ``nn.RNN`` with ``nonlinearity="relu"``;
sweeps narrow its learning rate, which it needs smaller than the gated units.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from bench import FusedRecurrent, option, register_architecture


@dataclasses.dataclass
class IRNNOptions:
    identity_scale: float = option(1.0, "recurrent matrix initialised to this times the identity", min=0.0)
    input_std: float = option(0.001, "std of the normal initialisation of the input weights", min=0.0)


@register_architecture("irnn")
class IRNN(FusedRecurrent[IRNNOptions]):
    """ReLU RNN with identity recurrent weights and zero biases (Le, Jaitly & Hinton 2015); fused nn.RNN."""

    colour = "tab:red"

    # Le et al. 2015: identity-initialised ReLU RNNs need small learning rates (and clipping).
    search_space = {"train.lr": {"type": "float", "low": 1e-5, "high": 3e-3, "log": True}}

    def make_layer(self, **kwargs: Any) -> nn.RNNBase:
        return nn.RNN(nonlinearity="relu", **kwargs)

    def initialise(self) -> None:
        with torch.no_grad():
            for name, weight in self.rnn.named_parameters():
                if name.startswith("weight_hh"):
                    weight.copy_(torch.eye(self.hidden_size) * self.options.identity_scale)
                elif name.startswith("weight_ih"):
                    weight.normal_(0.0, self.options.input_std)
                else:
                    weight.zero_()

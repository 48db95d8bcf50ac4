"""Deep recurrent stack with identity skip connections between layers.

The ResNet idea (He et al. 2016) applied to recurrent stacks, as in GNMT: y = x + F(x) per block,
default 4 blocks (``--num-layers``), each block one fused layer (``--opt cell=tanh|gru|lstm``).
Where one more unit overshoots a parameter budget it may use one block fewer or more.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any, Literal

import torch
from torch import Tensor, nn

from bench import Architecture, ModelConfig, State, one_block_more_or_fewer, option, register_architecture

_CELLS: dict[str, Callable[..., nn.RNNBase]] = {"tanh": lambda **kw: nn.RNN(nonlinearity="tanh", **kw), "gru": nn.GRU, "lstm": nn.LSTM}


@dataclasses.dataclass
class ResidualOptions:
    cell: Literal["tanh", "gru", "lstm"] = option("lstm", "recurrent layer inside each residual block")


@register_architecture("residual")
class Residual(Architecture[ResidualOptions]):
    """Residual recurrent stack, y = x + F(x) per layer (He et al. 2016 applied in time, as in GNMT); fused layers."""

    colour = "tab:purple"

    recommended = {"model.num_layers": 4}  # depth is the point; --num-layers sets it

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        directions = 2 if self.bidirectional else 1
        width = self.hidden_size * directions
        # Blocks add their input to their output, so every block works at one width; the input is
        # projected to it once.
        self.project = nn.Linear(self.input_size, width)
        self.blocks = nn.ModuleList(
            _CELLS[self.options.cell](input_size=width, hidden_size=self.hidden_size, batch_first=True,
                                      bidirectional=self.bidirectional)
            for _ in range(self.num_layers)
        )
        self.between = nn.Dropout(self.dropout)
        if self.options.cell == "lstm":
            with torch.no_grad():  # forget-gate bias 1, as for the plain LSTM
                for block in self.blocks:
                    block.get_parameter("bias_ih_l0")[self.hidden_size: 2 * self.hidden_size].fill_(1.0)
                    block.get_parameter("bias_hh_l0")[self.hidden_size: 2 * self.hidden_size].zero_()

    @classmethod
    def budget_variants(cls, model: ModelConfig) -> Iterator[ModelConfig]:
        """At small budgets one more unit in every block overshoots; then try one block more or fewer."""
        return one_block_more_or_fewer(model)

    def forward(self, x: Tensor, state: State = None) -> tuple[Tensor, State]:
        h = self.project(x)
        states = state if state is not None else [None] * len(self.blocks)
        new_states = []
        for i, (block, block_state) in enumerate(zip(self.blocks, states)):
            out, block_state = block(h, block_state)
            h = h + (self.between(out) if i < len(self.blocks) - 1 else out)
            new_states.append(block_state)
        return h, new_states

"""A recurrent core that attends over its own earlier hidden states (Bahdanau-style, causal)."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, Literal

import torch
from torch import Tensor, nn

from bench import ModelConfig, SteppedRecurrent, option, register_architecture

_CELLS = {"gru": nn.GRUCell, "lstm": nn.LSTMCell, "tanh": nn.RNNCell}


@dataclasses.dataclass
class AttentionOptions:
    cell: Literal["gru", "lstm", "tanh"] = option("gru", "recurrent cell of the core")
    attention_size: int = option(0, "size of the additive attention layer (0: the hidden size)", min=0)


@register_architecture("attention")
class Attention(SteppedRecurrent):
    """Recurrent core + additive self-attention over its past states, score vᵀtanh(W s + U h_j) (Bahdanau et al. 2015).

    At step t the cell reads ``[x_t, c_{t-1}]``; its new state s_t joins the memory h_1..h_t; the
    context c_t = Σ_j α_tj h_j with α_t = softmax_j(vᵀ tanh(W s_t + U h_j)) over j ≤ t only (causal);
    the output is tanh(W_o [s_t; c_t]). The memory is a fixed-size buffer with a mask, so every step
    has the same shapes (one compiled kernel serves all steps). With ``record = True`` the attention
    weights of the last forward pass are kept in ``recorded`` ``(B, T, memory)`` for plots.
    """

    Options = AttentionOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        h = self.hidden_size
        a = self.options.attention_size or h
        self.cell = _CELLS[self.options.cell](self.input_size + h, h)
        self.query = nn.Linear(h, a, bias=False)  # W
        self.key = nn.Linear(h, a)  # U (its bias is the additive score's bias)
        self.score = nn.Linear(a, 1, bias=False)  # v
        self.combine = nn.Linear(2 * h, h)  # W_o

    @classmethod
    def budget_variants(cls, model: ModelConfig) -> Iterator[ModelConfig]:
        """At small budgets one more unit overshoots; a narrower attention layer fills the gap finely."""
        yield model
        for size in (32, 24, 16, 12, 8, 6, 4, 2, 1):
            if size != model.options.get("attention_size"):
                yield dataclasses.replace(model, options={**model.options, "attention_size": size})

    def initial_state(self, x: Tensor) -> tuple[Tensor, ...]:
        b, h = x.shape[0], self.hidden_size
        a = self.query.out_features
        zeros = x.new_zeros(b, h)
        cell_memory = zeros if self.options.cell == "lstm" else x.new_zeros(b, 0)
        return (zeros, cell_memory, zeros, x.new_zeros(b, 0, h), x.new_zeros(b, 0, a),
                torch.zeros((), dtype=torch.long, device=x.device))

    def prepare(self, x: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        s, cell_memory, context, memory, keys, position = state
        b, t = x.shape[:2]
        memory = torch.cat([memory, memory.new_zeros(b, t, memory.shape[2])], 1)
        keys = torch.cat([keys, keys.new_zeros(b, t, keys.shape[2])], 1)
        return s, cell_memory, context, memory, keys, position

    def step(self, x_t: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        s, cell_memory, context, memory, keys, position = state
        cell_input = torch.cat([x_t, context], -1)
        if self.options.cell == "lstm":
            s, cell_memory = self.cell(cell_input, (s, cell_memory))
        else:
            s = self.cell(cell_input, s)
        slots = torch.arange(memory.shape[1], device=memory.device)
        write = (slots == position).to(s.dtype)[None, :, None]  # one-hot at this step's slot
        memory = memory + write * s[:, None, :]  # out of place: earlier steps' graph stays valid
        keys = keys + write * self.key(s)[:, None, :]
        scores = self.score(torch.tanh(self.query(s)[:, None, :] + keys)).squeeze(-1)
        scores = scores.masked_fill(slots[None, :] > position, float("-inf"))
        weights = torch.softmax(scores, -1)
        context = torch.bmm(weights[:, None, :], memory).squeeze(1)
        out = torch.tanh(self.combine(torch.cat([s, context], -1)))
        self.remember(weights)
        return out, (s, cell_memory, context, memory, keys, position + 1)

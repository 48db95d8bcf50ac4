"""A recurrent core that attends over its own earlier hidden states (Bahdanau-style, causal).

The core is ``--opt cell=gru|lstm|tanh``; additive attention (Bahdanau et al. 2015) scores every
earlier state at every step. Written as one readable time step and run, in training and evaluation,
by a whole-sequence fast path (``fast_forward``: inputs projected for all steps at once, the memory
appended in place with its own backward, ``bench/core/kernels.py``) held by the tests to equal the
step in outputs and gradients; recording the attention weights runs the step. Under a parameter
budget the attention layer may be narrowed.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, Literal, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bench import AppendOnlyMemory, ModelConfig, SteppedRecurrent, WeightMaps, option, register_architecture

_CELLS = {"gru": nn.GRUCell, "lstm": nn.LSTMCell, "tanh": nn.RNNCell}


@dataclasses.dataclass
class AttentionOptions:
    cell: Literal["gru", "lstm", "tanh"] = option("gru", "recurrent cell of the core")
    attention_size: int = option(0, "size of the additive attention layer (0: the hidden size)", min=0)


@register_architecture("attention")
class Attention(SteppedRecurrent[AttentionOptions]):
    """Recurrent core + additive self-attention over its past states, score vᵀtanh(W s + U h_j) (Bahdanau et al. 2015).

    At step t the cell reads ``[x_t, c_{t-1}]``; its new state s_t joins the memory h_1..h_t; the
    context c_t = Σ_j α_tj h_j with α_t = softmax_j(vᵀ tanh(W s_t + U h_j)) over j ≤ t only (causal);
    the output is tanh(W_o [s_t; c_t]). The memory is a fixed-size buffer with a mask, so every step
    has the same shapes (one compiled kernel serves all steps). With ``record = True`` the attention
    weights of the last forward pass are kept in ``recorded`` ``(B, T, memory)`` for plots.
    """

    colour = "tab:brown"
    has_fast_path = True

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
        options = cast(AttentionOptions, model.options or AttentionOptions())
        for size in (32, 24, 16, 12, 8, 6, 4, 2, 1):
            if size != options.attention_size:
                yield dataclasses.replace(model, options=dataclasses.replace(options, attention_size=size))

    def weight_maps(self, recorded: Tensor) -> WeightMaps:
        """One panel: at each step t, the weight on every earlier step j (memory slot j = step j)."""
        return WeightMaps("attention weights", "attended step j", {"attention": recorded})

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

    def fast_forward(self, x: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """The same function as :meth:`step` over the whole sequence, computed with fewer, larger
        operations: the cell's input product for every step in one matrix product; the products of
        the state (recurrent gates, query, key, output half) and of the context (next step's gates,
        output half) as one matrix product each per step; the memory appended in place
        (:class:`bench.AppendOnlyMemory`) instead of a fresh copy of all T entries every step."""
        s, cell_memory, context, memory, keys, position = state
        h, a, d = self.hidden_size, self.query.out_features, self.input_size
        gates = 3 * h if self.options.cell == "gru" else 4 * h if self.options.cell == "lstm" else h
        cell, combine = self.cell, self.combine
        inputs = F.linear(x, cell.weight_ih[:, :d], cell.bias_ih)
        of_state = torch.cat([cell.weight_hh, self.query.weight, self.key.weight, combine.weight[:, :h]])
        state_bias = torch.cat([cell.bias_hh, self.key.bias.new_zeros(a), self.key.bias, combine.bias])
        of_context = torch.cat([cell.weight_ih[:, d:], combine.weight[:, h:]])
        score = self.score.weight[0]
        store = AppendOnlyMemory(x.shape[0], memory.shape[1] + x.shape[1], h, a, x)
        token = store.load(memory, keys)
        parts = (gates, a, a, h)
        recurrent, _, _, _ = F.linear(s, of_state, state_bias).split(parts, 1)
        from_context, _ = F.linear(context, of_context).split((gates, h), 1)
        outputs = []
        for x_t in inputs.unbind(1):
            s, cell_memory = self._update(x_t + from_context, recurrent, s, cell_memory)
            recurrent, query, key, output = F.linear(s, of_state, state_bias).split(parts, 1)
            token = store.write(token, s, key)
            context = store.attend(token, query, score)
            from_context, context_output = F.linear(context, of_context).split((gates, h), 1)
            outputs.append(torch.tanh(output + context_output))
        memory, keys = store.export(token)
        return torch.stack(outputs, 1), (s, cell_memory, context, memory, keys, position + x.shape[1])

    def _update(self, from_input: Tensor, from_state: Tensor, s: Tensor, cell_memory: Tensor) -> tuple[Tensor, Tensor]:
        """The cell's new state from its two gate pre-activations, as nn.GRUCell/LSTMCell/RNNCell compute it."""
        if self.options.cell == "gru":
            h = self.hidden_size
            reset, update = torch.sigmoid(from_input[:, :2 * h] + from_state[:, :2 * h]).chunk(2, -1)
            candidate = torch.tanh(from_input[:, 2 * h:] + reset * from_state[:, 2 * h:])
            return candidate + update * (s - candidate), cell_memory
        if self.options.cell == "lstm":
            i, f, g, o = (from_input + from_state).chunk(4, -1)
            cell_memory = torch.sigmoid(f) * cell_memory + torch.sigmoid(i) * torch.tanh(g)
            return torch.sigmoid(o) * torch.tanh(cell_memory), cell_memory
        return torch.tanh(from_input + from_state), cell_memory

"""Neural Turing Machine: a controller with an external N×M memory and read/write heads.

Graves, Wayne & Danihelka 2014: an LSTM or feed-forward controller (``--hidden-size``), an N×M
memory (default 128×20), read and write heads with content addressing (cosine similarity, key
strength β), interpolation g, circular shift s, sharpening γ, and erase and add vectors. A readable
step plus a whole-sequence fast path that the tests hold equal to it; recording the head weightings
runs the step.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bench import SteppedRecurrent, WeightMaps, option, register_architecture


@dataclasses.dataclass
class NTMOptions:
    memory_slots: int = option(128, "N, memory locations", min=1)
    memory_width: int = option(20, "M, numbers per memory location", min=1)
    read_heads: int = option(1, "read heads", min=1)
    write_heads: int = option(1, "write heads", min=1)
    controller: Literal["lstm", "feedforward"] = option("lstm", "controller network")
    shift_range: int = option(1, "largest circular shift of a head per step (shifts -r..r)", min=0)


def cosine_addressing(memory: Tensor, key: Tensor, strength: Tensor) -> Tensor:
    """Content weights softmax_i(β · cos(k, M_i)): ``memory (B,N,M)``, ``key (B,M)``, ``strength (B,1)``."""
    similarity = F.cosine_similarity(memory, key[:, None, :], dim=-1, eps=1e-8)
    return torch.softmax(strength * similarity, -1)


def circular_shift(weights: Tensor, shift: Tensor) -> Tensor:
    """w̃(i) = Σ_d s(d) w(i − d) for d in −r..r (indices mod N): ``weights (B,N)``, ``shift (B,2r+1)``."""
    r = (shift.shape[-1] - 1) // 2
    rolled = torch.stack([torch.roll(weights, d, dims=-1) for d in range(-r, r + 1)], -1)
    return (rolled * shift[:, None, :]).sum(-1)


def address(previous: Tensor, memory: Tensor, key: Tensor, strength: Tensor, gate: Tensor,
            shift: Tensor, sharpen: Tensor) -> Tensor:
    """The NTM addressing pipeline (Graves et al. 2014, §3.3): content → interpolate → shift → sharpen."""
    content = cosine_addressing(memory, key, strength)
    gated = gate * content + (1 - gate) * previous
    shifted = circular_shift(gated, shift)
    sharpened = (shifted + 1e-12) ** sharpen
    return sharpened / sharpened.sum(-1, keepdim=True)


@register_architecture("ntm")
class NTM(SteppedRecurrent[NTMOptions]):
    """Neural Turing Machine (Graves, Wayne & Danihelka 2014): LSTM controller, 128×20 memory, content+location heads.

    ``hidden_size`` is the controller size; the output at each step is the controller output
    with the read vectors, so ``output_size = hidden_size + read_heads · memory_width``. Memory
    starts at a small constant and the heads at location 0. With ``record = True`` the head
    weightings of the last forward pass are kept in ``recorded`` ``(B, T, heads, N)``, read heads first.
    """

    colour = "tab:pink"

    has_fast_path = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        o, h = self.options, self.hidden_size
        self.shifts = 2 * o.shift_range + 1
        controller_input = self.input_size + o.read_heads * o.memory_width
        if o.controller == "lstm":
            self.controller: nn.Module = nn.LSTMCell(controller_input, h)
        else:
            self.controller = nn.Linear(controller_input, h)
        # Per head: key (M), strength, gate, shift (2r+1), sharpening; writes add erase and add (2M).
        self.head_size = o.memory_width + 3 + self.shifts
        self.heads = nn.Linear(h, (o.read_heads + o.write_heads) * self.head_size + o.write_heads * 2 * o.memory_width)

    @property
    def output_size(self) -> int:
        return self.hidden_size + self.options.read_heads * self.options.memory_width

    def weight_maps(self, recorded: Tensor) -> WeightMaps:
        """A panel per head ``(T, N)``, the write heads first (what is written, then what is read back),
        showing only the memory locations the heads visited."""
        reads = self.options.read_heads
        panels = {}
        for head in range(recorded.shape[1]):  # recorded (T, heads, N), read heads first
            kind, number = ("read", head + 1) if head < reads else ("write", head - reads + 1)
            panels[f"{kind} head {number}"] = recorded[:, head]
        ordered = dict(sorted(panels.items(), key=lambda item: not item[0].startswith("write")))
        return WeightMaps("read/write weightings over memory", "memory location", ordered, visited_only=True)

    def initial_state(self, x: Tensor) -> tuple[Tensor, ...]:
        o, b = self.options, x.shape[0]
        start = x.new_zeros(b, o.read_heads + o.write_heads, o.memory_slots)
        start[:, :, 0] = 1.0
        return (x.new_zeros(b, self.hidden_size), x.new_zeros(b, self.hidden_size),
                x.new_full((b, o.memory_slots, o.memory_width), 1e-6), start,
                x.new_zeros(b, o.read_heads * o.memory_width))

    def _head(self, params: Tensor, previous: Tensor, memory: Tensor) -> Tensor:
        m = self.options.memory_width
        key = params[:, :m]
        strength = F.softplus(params[:, m: m + 1])
        gate = torch.sigmoid(params[:, m + 1: m + 2])
        shift = torch.softmax(params[:, m + 2: m + 2 + self.shifts], -1)
        sharpen = 1 + F.softplus(params[:, m + 2 + self.shifts:])
        return address(previous, memory, key, strength, gate, shift, sharpen)

    def step(self, x_t: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        o = self.options
        h, c, memory, weights, reads = state
        controller_input = torch.cat([x_t, reads], -1)
        if o.controller == "lstm":
            h, c = self.controller(controller_input, (h, c))
        else:
            h = torch.tanh(self.controller(controller_input))
        params = self.heads(h)
        size, n_read = self.head_size, o.read_heads
        new_weights = []
        for i in range(n_read + o.write_heads):
            new_weights.append(self._head(params[:, i * size: (i + 1) * size], weights[:, i], memory))
        erase_add = params[:, (n_read + o.write_heads) * size:]
        for j in range(o.write_heads):  # write: erase, then add (Graves et al. §3.2)
            w = new_weights[n_read + j][:, :, None]
            erase = torch.sigmoid(erase_add[:, 2 * j * o.memory_width: (2 * j + 1) * o.memory_width])
            add = torch.tanh(erase_add[:, (2 * j + 1) * o.memory_width: (2 * j + 2) * o.memory_width])
            memory = memory * (1 - w * erase[:, None, :]) + w * add[:, None, :]
        read_weights = torch.stack(new_weights[:n_read], 1)
        reads = torch.bmm(read_weights, memory).flatten(1)
        weights = torch.stack(new_weights, 1)
        self.remember(weights)
        return torch.cat([h, reads], -1), (h, c, memory, weights, reads)

    def fast_forward(self, x: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """The same function as :meth:`step` over the whole sequence, in fewer, larger operations:
        the controller's input product for every step in one matrix product; all heads addressed
        together as ``(B, heads, N)`` tensors; cosine similarity as one batched product of keys and
        memory divided by the norms (autograd through ``F.cosine_similarity`` normalises the whole
        memory once per head); the circular shift as one gather of the 2r+1 neighbours; erase and
        add as batched outer products."""
        o = self.options
        h, c, memory, weights, reads = state
        m, n, reading = o.memory_width, o.memory_slots, o.read_heads
        heads = reading + o.write_heads
        controller, d = self.controller, self.input_size
        if isinstance(controller, nn.LSTMCell):
            inputs = F.linear(x, controller.weight_ih[:, :d], controller.bias_ih + controller.bias_hh)
            of_reads, of_state = controller.weight_ih[:, d:].t(), controller.weight_hh.t()
        else:
            assert isinstance(controller, nn.Linear)
            inputs = F.linear(x, controller.weight[:, :d], controller.bias)
            of_reads = controller.weight[:, d:].t()
        r = o.shift_range
        neighbours = (torch.arange(n, device=x.device)[:, None] + torch.arange(r, -r - 1, -1, device=x.device)) % n
        batch, outputs = x.shape[0], []
        for x_t in inputs.unbind(1):
            if isinstance(controller, nn.LSTMCell):
                i, f, g, out = torch.addmm(torch.addmm(x_t, reads, of_reads), h, of_state).chunk(4, -1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(out) * torch.tanh(c)
            else:
                h = torch.tanh(torch.addmm(x_t, reads, of_reads))
            addressing, erase_add = self.heads(h).split((heads * self.head_size, 2 * o.write_heads * m), 1)
            key, strength, gate, shift, sharpen = addressing.view(batch, heads, -1).split((m, 1, 1, self.shifts, 1), -1)
            norms = torch.linalg.vector_norm(key, dim=-1, keepdim=True).clamp_min(1e-8) * \
                torch.linalg.vector_norm(memory, dim=-1).clamp_min(1e-8)[:, None, :]
            similarity = torch.bmm(key, memory.transpose(1, 2)) / norms  # (B, heads, N)
            content = torch.softmax(F.softplus(strength) * similarity, -1)
            interpolate = torch.sigmoid(gate)
            gated = interpolate * content + (1 - interpolate) * weights
            if r <= n:  # the 2r+1 neighbours of every slot as a view of the wrapped-around weights
                around = torch.cat([gated[..., n - r:], gated, gated[..., :r]], -1).unfold(-1, self.shifts, 1).flip(-1)
            else:  # shifts wrap more than once: gather them
                around = gated[:, :, neighbours]
            shifted = (around * torch.softmax(shift, -1)[:, :, None, :]).sum(-1)  # Σ_d s(d) w(i − d)
            sharpened = (shifted + 1e-12) ** (1 + F.softplus(sharpen))
            weights = sharpened / sharpened.sum(-1, keepdim=True)
            erase, add = erase_add.view(batch, o.write_heads, 2, m).unbind(2)
            erase, add = torch.sigmoid(erase), torch.tanh(add)
            for j in range(o.write_heads):  # erase, then add
                w = weights[:, reading + j, :, None]
                memory = torch.addcmul(memory * (1 - w * erase[:, j, None, :]), w, add[:, j, None, :])
            reads = torch.bmm(weights[:, :reading], memory).flatten(1)
            outputs.append(torch.cat([h, reads], -1))
        return torch.stack(outputs, 1), (h, c, memory, weights, reads)

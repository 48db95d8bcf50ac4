"""Hand-written forward and backward passes for the custom cells' hot operations, kept in one place.

A custom cell written as one ``step`` per time step (:class:`bench.core.architecture.SteppedRecurrent`)
is easy to read and to check, but some of its operations cost far more under autograd than their
arithmetic. Each kernel here computes exactly what the readable version computes (the architectures'
tests compare outputs and every parameter's gradient with it) and exists only for speed; what each
saves is measured by ``benchmarks/suite_cells.py`` and recorded in ``results/BENCHMARKS.md``.

- :class:`AppendOnlyMemory`: causal additive attention over a memory that grows by one entry per
  step. Written out of place (the autograd-friendly way) the whole (B, T, H) buffer is copied and
  saved at every step: O(T²) traffic and memory per sequence. Here entries are written in place into
  one buffer, read through views of its filled prefix, and the gradients of all entries collect in a
  second buffer that each entry's write hands back when autograd reaches it.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.autograd import Function
from torch.autograd.function import FunctionCtx, once_differentiable


class AppendOnlyMemory:
    """A memory of vectors (values and their attention keys) that grows by one entry per step.

    The ordering trick: every :meth:`write` returns a *token* (an empty tensor) that the next write
    and every later :meth:`attend` take as an input. Autograd runs a node's backward only after the
    backward of every node that used its output, so the write of entry ``j`` runs its backward after
    every read that saw entry ``j`` has added its gradient to ``grad_values[:, j]`` — the buffers are
    never part of the graph, the token chain orders the work on them.

    Use: ``token = memory.load(values, keys)`` (entries carried from an earlier chunk, possibly none),
    then per step ``token = memory.write(token, value, key)`` and ``context = memory.attend(token,
    query, score)``, and finally ``values, keys = memory.export(token)`` for the carried state.
    """

    def __init__(self, batch: int, capacity: int, value_size: int, key_size: int, like: Tensor) -> None:
        self.values = like.new_zeros(batch, capacity, value_size)
        self.keys = like.new_zeros(batch, capacity, key_size)
        self.grad_values = torch.zeros_like(self.values)
        self.grad_keys = torch.zeros_like(self.keys)
        self.length = 0

    def load(self, values: Tensor, keys: Tensor) -> Tensor:
        """Start from ``values (B, P, H)`` and ``keys (B, P, A)``; returns the first token."""
        token: Tensor = _Load.apply(self, values, keys)
        return token

    def write(self, token: Tensor, value: Tensor, key: Tensor) -> Tensor:
        """Append ``value (B, H)`` with ``key (B, A)``; returns the token after it."""
        token = _Write.apply(self, self.length, token, value, key)
        self.length += 1
        return token

    def attend(self, token: Tensor, query: Tensor, score: Tensor) -> Tensor:
        """Context Σ_j α_j v_j, α = softmax_j(score · tanh(query + k_j)) over every entry so far:
        ``query (B, A)`` (the projected state), ``score (A,)`` (the vector v); returns ``(B, H)``."""
        context: Tensor = _Attend.apply(self, self.length, token, query, score)
        return context

    def export(self, token: Tensor) -> tuple[Tensor, Tensor]:
        """Copies of every entry so far, ``(B, length, H)`` and ``(B, length, A)``, for the carried state."""
        values, keys = _Export.apply(self, self.length, token)
        return values, keys


def _token(like: Tensor) -> Tensor:
    return like.new_empty(0)


class _Load(Function):
    @staticmethod
    def forward(ctx: FunctionCtx, memory: AppendOnlyMemory, values: Tensor, keys: Tensor) -> Tensor:
        ctx.memory, ctx.length = memory, values.shape[1]  # type: ignore[attr-defined]
        memory.values[:, :ctx.length] = values  # type: ignore[attr-defined]
        memory.keys[:, :ctx.length] = keys  # type: ignore[attr-defined]
        memory.length = values.shape[1]
        return _token(values)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, _: Tensor) -> tuple[None, Tensor, Tensor]:
        memory, n = ctx.memory, ctx.length
        return None, _take(memory.grad_values, slice(0, n)), _take(memory.grad_keys, slice(0, n))


def _take(buffer: Tensor, where: int | slice) -> Tensor:
    """The gradient collected at ``where``, zeroed there so that a second backward starts afresh."""
    collected = buffer[:, where].clone()
    buffer[:, where] = 0
    return collected


class _Write(Function):
    @staticmethod
    def forward(ctx: FunctionCtx, memory: AppendOnlyMemory, slot: int, token: Tensor, value: Tensor,
                key: Tensor) -> Tensor:
        ctx.memory, ctx.slot = memory, slot  # type: ignore[attr-defined]
        memory.values[:, slot] = value
        memory.keys[:, slot] = key
        return _token(value)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, _: Tensor) -> tuple[None, None, Tensor, Tensor, Tensor]:
        memory, slot = ctx.memory, ctx.slot
        empty = memory.values.new_empty(0)
        return None, None, empty, _take(memory.grad_values, slot), _take(memory.grad_keys, slot)


class _Attend(Function):
    @staticmethod
    def forward(ctx: FunctionCtx, memory: AppendOnlyMemory, length: int, token: Tensor, query: Tensor,
                score: Tensor) -> Tensor:
        values, keys = memory.values[:, :length], memory.keys[:, :length]  # views: later writes go beyond
        hidden = torch.add(keys, query[:, None, :]).tanh_()  # (B, n, A)
        weights = torch.softmax(torch.matmul(hidden, score), -1)  # (B, n)
        context = torch.bmm(weights[:, None, :], values).squeeze(1)
        ctx.memory, ctx.length = memory, length  # type: ignore[attr-defined]
        ctx.save_for_backward(hidden, weights, score)
        return context

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_context: Tensor) -> tuple[None, None, Tensor, Tensor, Tensor]:
        hidden, weights, score = ctx.saved_tensors
        memory, n = ctx.memory, ctx.length
        values = memory.values[:, :n]
        grad_context = grad_context.to(values.dtype)  # under autocast the context's consumer may be lower precision
        memory.grad_values[:, :n].addcmul_(weights[:, :, None], grad_context[:, None, :])  # ∂/∂v_j = α_j g
        grad_weights = torch.bmm(values, grad_context[:, :, None]).squeeze(-1)
        grad_scores = weights * (grad_weights - (weights * grad_weights).sum(-1, keepdim=True))  # softmax
        grad_score = torch.bmm(grad_scores[:, None, :], hidden).sum((0, 1))
        through_tanh = torch.addcmul(hidden.new_ones(()), hidden, hidden, value=-1).mul_(grad_scores[:, :, None])
        memory.grad_keys[:, :n].addcmul_(through_tanh, score)  # ∂/∂k_j = (1 − tanh²) · ∂e_j · v
        return None, None, memory.values.new_empty(0), through_tanh.sum(1).mul_(score), grad_score



class _Export(Function):
    @staticmethod
    def forward(ctx: FunctionCtx, memory: AppendOnlyMemory, length: int, token: Tensor) -> tuple[Tensor, Tensor]:
        ctx.memory, ctx.length = memory, length  # type: ignore[attr-defined]
        return memory.values[:, :length].clone(), memory.keys[:, :length].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_values: Tensor, grad_keys: Tensor) -> tuple[None, None, Tensor]:
        memory, n = ctx.memory, ctx.length
        memory.grad_values[:, :n] += grad_values
        memory.grad_keys[:, :n] += grad_keys
        return None, None, memory.values.new_empty(0)

"""Parameter-budget matching: compare architectures at equal parameter counts (Chung et al. 2014).

``--params N`` picks the hidden size whose whole network — input adapter, architecture and output
head, for this task — has the trainable-parameter count closest to N. Networks are built on the
``meta`` device, so counting a million-parameter candidate allocates nothing.
"""
from __future__ import annotations

import dataclasses

import torch

from bench.core.config import ModelConfig
from bench.core.errors import UsageError
from bench.core.network import SequenceNetwork
from bench.core.registry import ARCHITECTURES
from bench.core.task import Task

TOLERANCE = 0.05
MAX_HIDDEN = 1 << 16


def parameter_count(task: Task, model: ModelConfig) -> int:
    """Trainable parameters of ``model`` on ``task`` (built on the meta device: nothing allocated)."""
    with torch.device("meta"):
        return SequenceNetwork(task, model).num_parameters


def _closest_hidden(task: Task, model: ModelConfig, budget: int) -> tuple[int, int] | None:
    """``(hidden_size, count)`` closest to ``budget`` for this model shape, None if even hidden 1 is over."""

    def count(hidden: int) -> int:
        return parameter_count(task, dataclasses.replace(model, hidden_size=hidden))

    if count(1) > budget * (1 + TOLERANCE):
        return None
    low, high = 1, 2
    while count(high) < budget:
        low, high = high, high * 2
        if high > MAX_HIDDEN:
            return None
    while high - low > 1:  # the smallest hidden size whose count reaches the budget
        middle = (low + high) // 2
        if count(middle) >= budget:
            high = middle
        else:
            low = middle
    hidden = min((low, high), key=lambda h: abs(count(h) - budget))
    return hidden, count(hidden)


def match_budget(task: Task, model: ModelConfig, budget: int) -> tuple[ModelConfig, int]:
    """The model config (hidden size chosen) whose count is within ±5% of ``budget``, and that count.

    Hidden sizes move the count in steps; where one step is wider than ±5% (small budgets, wide
    inputs), the architecture's :meth:`~bench.core.architecture.Architecture.budget_variants` — shapes
    close to the requested one, the requested one first — are tried in order.
    """
    best: tuple[ModelConfig, int] | None = None
    for variant in ARCHITECTURES.get(model.arch).budget_variants(model):
        found = _closest_hidden(task, variant, budget)
        if found is None:
            continue
        hidden, count = found
        candidate = dataclasses.replace(variant, hidden_size=hidden)
        if abs(count - budget) <= TOLERANCE * budget:
            return candidate, count
        if best is None or abs(count - budget) < abs(best[1] - budget):
            best = (candidate, count)
    if best is None:
        smallest = parameter_count(task, dataclasses.replace(model, hidden_size=1))
        raise UsageError(f"--params {budget}: the smallest {model.arch} on {task.name} already has "
                         f"{smallest} parameters; ask for more")
    raise UsageError(f"--params {budget}: the nearest {model.arch} has {best[1]} parameters "
                     f"(hidden size {best[0].hidden_size}); choose another budget")

"""SequenceNetwork: input adapter + architecture + output head, as a plain ``nn.Module``.

    inputs ─ input adapter ─ architecture ─ dropout ─ output head ─ outputs (logits or values)

The input adapter (one-hot or embedding for token ids, identity for float features) and the output
head (a linear map to the task's output size; twice that for a ``gaussian`` task, a mean and a log σ
per value: :func:`bench.core.metrics.head_size`) are the only glue between a task and an
architecture. It imports no Lightning, so counting parameters for a budget (:mod:`bench.core.budget`),
sampling and inspection build it cheaply; :class:`bench.train.model.SequenceModel` trains it.
"""
from __future__ import annotations

from typing import cast

import torch.nn.functional as F
from torch import Tensor, nn

from bench.core.architecture import Architecture, State
from bench.core.config import ModelConfig, RunConfig
from bench.core.metrics import head_size
from bench.core.registry import ARCHITECTURES, TASKS
from bench.core.task import Task


def build_task(config: RunConfig) -> Task:
    """The task of a resolved config, with its options."""
    task_cls = TASKS.get(config.task.name)
    return task_cls(config.task.options if config.task.options is not None else task_cls.Options())


def build_architecture(task: Task, model: ModelConfig) -> Architecture:
    arch_cls = ARCHITECTURES.get(model.arch)
    core_input = model.embed_dim if task.input_kind == "tokens" and model.embed_dim > 0 else task.input_size
    return arch_cls(
        core_input,
        model.hidden_size,
        num_layers=model.num_layers,
        dropout=model.dropout,
        bidirectional=model.bidirectional,
        options=model.options,
    )


class SequenceNetwork(nn.Module):
    """Any architecture fitted to any task's stream format."""

    def __init__(self, task: Task, model: ModelConfig) -> None:
        super().__init__()
        self.input_kind, self.input_size = task.input_kind, task.input_size
        self.embedding = (nn.Embedding(task.input_size, model.embed_dim)
                          if task.input_kind == "tokens" and model.embed_dim > 0 else None)
        self.core = build_architecture(task, model)
        # None without dropout: a Dropout(0) module call is a few µs a step for nothing.
        self.output_dropout = nn.Dropout(model.dropout) if model.dropout > 0 else None
        self.head = nn.Linear(self.core.output_size, head_size(task.output_kind, task.output_size))

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def encode(self, inputs: Tensor) -> Tensor:
        """Token ids → vectors (embedding or one-hot); float features pass through."""
        if self.input_kind != "tokens":
            return inputs
        if self.embedding is not None:
            return cast(Tensor, self.embedding(inputs))
        return F.one_hot(inputs, self.input_size).to(self.head.weight.dtype)

    def forward(self, inputs: Tensor, state: State = None) -> tuple[Tensor, State]:
        features, state = self.core(self.encode(inputs), state)
        if self.output_dropout is not None:
            features = self.output_dropout(features)
        return self.head(features), state

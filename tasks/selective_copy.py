"""Selective copying (Gu & Dao 2023, "Mamba", section 3.1 and Figure 2).

``tokens`` data tokens are placed at random positions of a span of ``length`` steps filled with a
noise token; then ``tokens`` recall markers follow, and at each marker the target is the next data
token in the order they appeared. The data's positions vary between examples, so a model cannot
count its way to them (as it can in the plain copy task): it must decide from each input whether to
store it, which is what input-dependent (selective) state updates are for. Scored on the recall
steps; ``seq_acc`` is every token right. ``length`` is the span; evaluating at longer spans puts the
same number of tokens among more noise.
"""
from __future__ import annotations

import dataclasses
import math

import torch

from bench import Batch, SyntheticOptions, SyntheticTask, UsageError, option, register_task

MIN_DISTINCT_INPUTS = 1000
"""Fewer possible inputs than this leave the content-hashed validation and test splits a handful of
distinct examples (or none to draw)."""


@dataclasses.dataclass
class SelectiveCopyOptions(SyntheticOptions):
    length: int = option(16, "the span of noise in which the data tokens are scattered", min=1)
    tokens: int = option(4, "how many data tokens to remember and reproduce in order", min=1)
    symbols: int = option(8, "alphabet of the data tokens", min=2)

    def check(self) -> None:
        shortest = min((self.length, *self.eval_lengths))
        if self.tokens > shortest:
            raise UsageError(f"selective_copy: {self.tokens} tokens do not fit in a span of {shortest}; "
                             "raise --opt length (and eval_lengths) or lower --opt tokens")
        if math.comb(self.length, self.tokens) * self.symbols ** self.tokens < MIN_DISTINCT_INPUTS:
            raise UsageError(f"selective_copy: span {self.length} with {self.tokens} tokens of {self.symbols} symbols "
                             "has too few distinct inputs to split into train/val/test; raise length, tokens or symbols")


@register_task("selective_copy")
class SelectiveCopy(SyntheticTask[SelectiveCopyOptions]):
    """Selective copying (Gu & Dao 2023): reproduce the data tokens scattered among noise, in order."""

    input_kind = "tokens"
    output_kind = "categorical"
    target_metric = "seq_acc"
    target_mode = "max"
    target_value = 1.0
    target_words = "every test sequence's tokens recalled in order"
    recommended = {"train.lr": 3e-3, "train.max_steps": 3000}

    def __init__(self, options: SelectiveCopyOptions) -> None:
        super().__init__(options)
        self.input_size = options.symbols + 2  # the data symbols, noise, the recall marker
        self.output_size = options.symbols

    def generate(self, n: int, length: int, generator: torch.Generator, device: torch.device) -> Batch:
        k, s = self.options.tokens, self.options.symbols
        noise, marker = s, s + 1
        data = torch.randint(0, s, (n, k), generator=generator, device=device)
        # Positions: the first k of a random permutation of the span, in increasing order.
        positions = torch.rand(n, length, generator=generator, device=device).argsort(1)[:, :k].sort(1).values
        span = torch.full((n, length), noise, dtype=torch.long, device=device)
        span.scatter_(1, positions, data)
        inputs = torch.cat([span, torch.full((n, k), marker, dtype=torch.long, device=device)], 1)
        targets = torch.cat([torch.zeros_like(span), data], 1)
        mask = torch.zeros_like(inputs, dtype=torch.bool)
        mask[:, length:] = True
        return Batch(inputs, targets, mask)

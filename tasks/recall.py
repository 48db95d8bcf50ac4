"""Multi-query associative recall (MQAR; Arora et al. 2023, "Zoology").

The input is N key–value pairs, ``k₁ v₁ k₂ v₂ … k_N v_N``, then every key once more in a random
order; at each of those queries the target is the value that followed the key. Keys are distinct
tokens of the first half of the vocabulary, values tokens of the second half (repeats allowed), so a
model must store N associations and look them up by content. Accuracy is scored on the queries
only. ``length`` is N (a sequence has 3N tokens); evaluation at more pairs than trained measures
how recall degrades as the state has more to hold, Zoology's axis: fixed-size recurrent states fall
behind attention as N grows. Simplified from Zoology's layout in one respect: the queries follow the
pairs directly rather than being spread over a longer sequence.
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
class RecallOptions(SyntheticOptions):
    length: int = option(8, "number N of key-value pairs (a sequence has 3N tokens)", min=1)
    vocab: int = option(64, "tokens: the first half are keys, the second half values", min=4)

    def check(self) -> None:
        longest = max((self.length, *self.eval_lengths)) if self.eval_lengths else 4 * self.length
        if self.vocab // 2 < longest:
            raise UsageError(f"recall: {longest} pairs (the longest evaluated) need as many distinct keys, but "
                             f"--opt vocab={self.vocab} has {self.vocab // 2}; raise vocab to at least {2 * longest}")
        half = self.vocab // 2
        if math.perm(half, self.length) * half ** self.length < MIN_DISTINCT_INPUTS:
            raise UsageError(f"recall: {self.length} pairs of a {self.vocab}-token vocabulary have too few distinct "
                             "inputs to split into train/val/test; raise length or vocab")


@register_task("recall")
class Recall(SyntheticTask[RecallOptions]):
    """Multi-query associative recall (Arora et al. 2023, Zoology): key-value pairs, then queries of the keys."""

    input_kind = "tokens"
    output_kind = "categorical"
    target_metric = "acc"
    target_mode = "max"
    target_value = 1.0
    target_words = "every queried value recalled"
    recommended = {"train.lr": 3e-3, "train.max_steps": 3000}

    def __init__(self, options: RecallOptions) -> None:
        super().__init__(options)
        self.input_size = self.output_size = options.vocab

    def generate(self, n: int, length: int, generator: torch.Generator, device: torch.device) -> Batch:
        half = self.options.vocab // 2
        # Distinct keys per example: the first `length` of a random permutation of the key tokens.
        keys = torch.rand(n, half, generator=generator, device=device).argsort(1)[:, :length]
        values = torch.randint(half, 2 * half, (n, length), generator=generator, device=device)
        order = torch.rand(n, length, generator=generator, device=device).argsort(1)
        pairs = torch.stack([keys, values], 2).reshape(n, 2 * length)
        inputs = torch.cat([pairs, keys.gather(1, order)], 1)
        targets = torch.cat([torch.zeros_like(pairs), values.gather(1, order)], 1)
        mask = torch.zeros_like(inputs, dtype=torch.bool)
        mask[:, 2 * length:] = True
        return Batch(inputs, targets, mask)

"""Parity of a bit stream (the lecture classic; Grosse, CSC321).

The input is a stream of ``length`` random bits. With ``score=all`` the parity so far is the
target at every step, a running XOR that every architecture learns in a few hundred updates. With
``score=final`` (the default) only the parity of the whole string is scored: one gradient signal,
at the end, which has to travel the whole sequence. That is what makes it the default run: at 10
bits, 64 units and Adam at 1e-2 it separates the architectures in about a minute of CPU
(``results/default_parity.md``). Chance is 0.5, so a failed run sits at chance rather than "nearly
there"; one learning rate and a few seeds are an observation, not a verdict (that is what
``bench sweep`` and studies are for). Metric ``seq_acc``; tested at 2× and 4× the length.
"""
from __future__ import annotations

import dataclasses
from typing import Literal

import torch

from bench import Batch, SyntheticOptions, SyntheticTask, option, register_task


@dataclasses.dataclass
class ParityOptions(SyntheticOptions):
    length: int = option(10, "number of bits in the stream", min=1)
    score: Literal["all", "final"] = option(
        "final",
        "'all': the parity so far is the target at every step (easy: a running XOR); "
        "'final': only the parity of the whole string is scored (hard: one gradient signal, at the end)",
    )


@register_task("parity")
class Parity(SyntheticTask[ParityOptions]):
    """Parity of a random bit stream: target at each step is the parity so far (or only the final bit)."""

    input_kind = "tokens"
    input_size = 2
    output_kind = "categorical"
    output_size = 2
    target_metric = "seq_acc"
    target_mode = "max"
    target_value = 1.0
    target_words = "every test sequence's parity right"
    # Final-bit parity of 10 bits in about a minute of CPU: GRU usually solves it, LSTM and tanh
    # usually do not (results/default_parity.md). Measured with Adam; 3e-3 left GRU unsolved at 3,000 steps.
    recommended = {"train.lr": 1e-2, "train.max_steps": 3000}

    def generate(self, n: int, length: int, generator: torch.Generator, device: torch.device) -> Batch:
        bits = torch.randint(0, 2, (n, length), generator=generator, device=device)
        parity = bits.cumsum(1) % 2
        mask = torch.ones(n, length, dtype=torch.bool, device=device)
        if self.options.score == "final":
            mask[:, :-1] = False
        return Batch(bits, parity, mask)

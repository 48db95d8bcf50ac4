"""Group word problems: track the running product of a stream of group elements.

Liu et al. 2023 ("Transformers Learn Shortcuts to Automata") and Merrill, Petty & Sabharwal 2024
("The Illusion of State in State-Space Models"): the input is a stream of ``length`` elements of a
finite group, drawn uniformly, and the target at step t is the product g_1 g_2 … g_t — the state of
the group's automaton after t letters. ``group`` chooses the automaton:

- ``Z2``, ``Z3``, ``Z5``: cyclic groups, counting modulo 2 (parity), 3 or 5; abelian.
- ``S3``: the 6 permutations of 3 points, the smallest non-abelian group.
- ``A5``: the 60 even permutations of 5 points, the smallest non-solvable group; ``S5``: all 120.

Merrill et al. prove that diagonal linear recurrences (Mamba-style SSMs) of a depth fixed in advance
cannot compute the A5/S5 word problems at every length, while a one-layer nonlinear RNN can; Grazzi et
al. 2025 that a linear recurrence whose transition eigenvalues are all positive cannot solve even Z2.

Elements are numbered by the lexicographic order of their permutations of 0..n−1 (the identity is
0; in Z_n, element k is the rotation by k); the product composes left to right, (g h)(i) = h(g(i)).
``score=all`` (the default) scores every step; ``final`` only the last. Tested at 2× and 4× the
training length, as every generated task is: an automaton has no length, a shortcut does.
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
from typing import Literal

import torch

from bench import Batch, SyntheticOptions, SyntheticTask, UsageError, option, register_task

Group = Literal["Z2", "Z3", "Z5", "S3", "A5", "S5"]
MIN_DISTINCT_INPUTS = 1000
"""Fewer possible inputs than this leave the content-hashed validation and test splits too few
distinct examples to draw."""


def elements(group: str) -> list[tuple[int, ...]]:
    """The group's elements as permutations of 0..n−1, in lexicographic order (identity first)."""
    points = int(group[1:])
    if group.startswith("Z"):
        return [tuple((i + k) % points for i in range(points)) for k in range(points)]
    every = list(itertools.permutations(range(points)))
    if group.startswith("A"):
        return [p for p in every if _inversions(p) % 2 == 0]
    return every


def _inversions(permutation: tuple[int, ...]) -> int:
    return sum(a > b for a, b in itertools.combinations(permutation, 2))


def compose(g: tuple[int, ...], h: tuple[int, ...]) -> tuple[int, ...]:
    """g then h: (g h)(i) = h(g(i))."""
    return tuple(h[g[i]] for i in range(len(g)))


@functools.cache
def product_table(group: str, device: torch.device = torch.device("cpu")) -> torch.Tensor:
    """``table[a, b]`` = the index of element a · element b, kept on ``device`` (one copy per device,
    not one per batch: a host-to-GPU copy at every update would wait for the GPU each time)."""
    found = elements(group)
    index = {p: i for i, p in enumerate(found)}
    return torch.tensor([[index[compose(a, b)] for b in found] for a in found], dtype=torch.long, device=device)


@dataclasses.dataclass
class StateTrackingOptions(SyntheticOptions):
    length: int = option(16, "number of group elements in the stream", min=1)
    group: Group = option("S3", "the group: Z2 (parity), Z3, Z5 (counting mod n), S3 (non-abelian), "
                                "A5, S5 (non-solvable: beyond diagonal linear recurrences, Merrill et al. 2024)")
    score: Literal["all", "final"] = option("all", "'all': the running product is the target at every step; "
                                                   "'final': only the product of the whole stream is scored")

    def check(self) -> None:
        size = len(elements(self.group))
        if size ** min((self.length, *self.eval_lengths)) < MIN_DISTINCT_INPUTS:
            raise UsageError(f"state_tracking: {self.group} words of length {self.length} are too few to split "
                             "into train/val/test; raise --opt length")


@register_task("state_tracking")
class StateTracking(SyntheticTask[StateTrackingOptions]):
    """Group word problems (Liu et al. 2023; Merrill et al. 2024): the running product of Z2…S5 elements."""

    input_kind = "tokens"
    output_kind = "categorical"
    target_metric = "seq_acc"
    target_mode = "max"
    target_value = 1.0
    target_words = "every test sequence's running products right"
    recommended = {"train.lr": 3e-3, "train.max_steps": 3000}

    def __init__(self, options: StateTrackingOptions) -> None:
        super().__init__(options)
        self.input_size = self.output_size = len(elements(options.group))

    def generate(self, n: int, length: int, generator: torch.Generator, device: torch.device) -> Batch:
        table = product_table(self.options.group, device)
        letters = torch.randint(0, self.input_size, (n, length), generator=generator, device=device)
        state = torch.zeros(n, dtype=torch.long, device=device)  # the identity
        products = []
        for t in range(length):  # one gather per step: the automaton itself
            state = table[state, letters[:, t]]
            products.append(state)
        mask = torch.ones(n, length, dtype=torch.bool, device=device)
        if self.options.score == "final":
            mask[:, :-1] = False
        return Batch(letters, torch.stack(products, 1), mask)

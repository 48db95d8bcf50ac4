"""Parity: the target at each step is the parity of the bits so far; 'final' scores only the last."""
import torch

from bench.core.network import build_task
from bench.core.resolve import resolve


def generate(**options):
    task = build_task(resolve(plugin_options=options))
    return task.generate(200, task.options.length, torch.Generator().manual_seed(0), torch.device("cpu"))


def test_targets_are_the_running_parity():
    batch = generate(length=12, score="all")
    for bits, target in zip(batch.inputs, batch.targets):
        assert target.tolist() == [sum(bits[: t + 1].tolist()) % 2 for t in range(12)]
    assert batch.mask.all()


def test_final_scores_only_the_last_bit():
    batch = generate(length=12, score="final")
    assert batch.mask[:, -1].all() and not batch.mask[:, :-1].any()
    assert torch.equal(batch.targets[:, -1], batch.inputs.sum(1) % 2)

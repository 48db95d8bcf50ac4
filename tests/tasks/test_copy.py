"""Copy tasks: the targets reproduce the remembered inputs at the right steps."""
import math

import torch

from bench.core.network import build_task
from bench.core.resolve import resolve


def task_and_batch(n=100, **options):
    task = build_task(resolve({"task": {"name": "copy"}}, plugin_options=options))
    return task, task.generate(n, task.options.length, torch.Generator().manual_seed(0), torch.device("cpu"))


def test_copy_memory_layout_matches_arjovsky():
    task, batch = task_and_batch(length=5, symbols=8, recall=10)
    assert batch.inputs.shape == (100, 5 + 20)
    blank, delimiter = 8, 9
    assert (batch.inputs[:, :10] < 8).all()
    assert (batch.inputs[:, 10:14] == blank).all() and (batch.inputs[:, 14] == delimiter).all()
    assert (batch.targets[:, :15] == blank).all()
    assert torch.equal(batch.targets[:, -10:], batch.inputs[:, :10])
    assert task.input_size == 10 and task.output_size == 9


def test_copy_memory_reports_the_memoryless_baseline():
    task, batch = task_and_batch(length=100)
    total, count = task.metrics(torch.zeros(100, 120, 9), batch)["baseline"]
    assert math.isclose((total / count).item(), 10 * math.log(8) / 120, rel_tol=1e-6)  # 0.1733 at T=100


def test_ntm_copy_recalls_each_vector_after_the_delimiter():
    task, batch = task_and_batch(variant="ntm", length=6, width=4)
    assert batch.inputs.shape == (100, 13, 5)
    for x, y, m in zip(batch.inputs, batch.targets, batch.mask):
        n = int(x[:, 4].argmax())  # delimiter step = sequence length
        assert x[:, 4].sum() == 1 and 1 <= n <= 6
        assert m.tolist() == [n < t <= 2 * n for t in range(13)]
        assert torch.equal(y[n + 1: 2 * n + 1], x[:n, :4])


def test_ntm_copy_evaluated_longer_uses_only_unseen_lengths():
    task, _ = task_and_batch(variant="ntm", length=5, width=4)
    batch = task.generate(300, 12, torch.Generator().manual_seed(1), torch.device("cpu"))
    lengths = batch.inputs[..., 4].argmax(1)
    assert lengths.min() >= 6 and lengths.max() <= 12

"""Addition: sum bits of two LSB-first numbers, and the adding problem's marked sum."""
import torch

from bench.core.network import build_task
from bench.core.resolve import resolve


def task_and_batch(**options):
    task = build_task(resolve({"task": {"name": "addition"}}, plugin_options=options))
    return task, task.generate(200, task.options.length, torch.Generator().manual_seed(0), torch.device("cpu"))


def as_int(bits):
    return sum(int(b) << i for i, b in enumerate(bits.tolist()))


def test_binary_addition_targets_are_the_sum_lsb_first():
    _, batch = task_and_batch(variant="binary", length=8)
    assert batch.inputs.shape == (200, 9, 2)
    for x, y in zip(batch.inputs, batch.targets):
        assert as_int(y) == as_int(x[:, 0]) + as_int(x[:, 1])


def test_adding_problem_target_is_the_sum_of_the_two_marked_values():
    task, batch = task_and_batch(variant="adding", length=20)
    values, markers = batch.inputs[..., 0], batch.inputs[..., 1]
    assert (markers.sum(1) == 2).all()
    assert (markers[:, :10].sum(1) == 1).all() and (markers[:, 10:].sum(1) == 1).all()
    assert torch.allclose(batch.targets[:, -1, 0], (values * markers).sum(1))
    assert batch.mask[:, -1].all() and not batch.mask[:, :-1].any()
    total, count = task.metrics(torch.ones(200, 20, 1), batch)["baseline"]
    assert abs((total / count).item() - 1 / 6) < 1e-6

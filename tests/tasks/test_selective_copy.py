"""Selective copying: the data tokens, wherever they fall among the noise, come back in order;
Mamba (selective state updates) learns it."""
import pytest
import torch

from bench.core.errors import UsageError
from bench.core.network import build_task
from bench.core.resolve import resolve
from bench.train.run import fit


def test_the_targets_are_the_scattered_data_tokens_in_order():
    task = build_task(resolve({"task": {"name": "selective_copy"}}, plugin_options={"length": 10, "tokens": 3}))
    batch = task.generate(200, 10, torch.Generator().manual_seed(0), torch.device("cpu"))
    noise, marker = 8, 9
    assert batch.inputs.shape == (200, 13) and task.input_size == 10 and task.output_size == 8
    for x, y, m in zip(batch.inputs, batch.targets, batch.mask):
        data = x[:10][x[:10] != noise]
        assert len(data) == 3 and (x[10:] == marker).all()
        assert y[10:].tolist() == data.tolist()
        assert m.tolist() == [False] * 10 + [True] * 3
    positions = {tuple((x[:10] != noise).nonzero().flatten().tolist()) for x in batch.inputs}
    assert len(positions) > 50  # the tokens' places vary: counting steps cannot find them


@pytest.mark.parametrize("options, message", [
    ({"length": 3, "tokens": 4}, "4 tokens do not fit in a span of 3"),
    ({"length": 16, "tokens": 4, "eval_lengths": [2]}, "4 tokens do not fit in a span of 2"),
    ({"length": 3, "tokens": 2, "symbols": 2}, "too few distinct inputs"),
])
def test_options_that_cannot_make_the_task_are_usage_errors(options, message):
    with pytest.raises(UsageError, match=message):
        resolve({"task": {"name": "selective_copy"}}, plugin_options=options)


def test_mamba_learns_selective_copying_and_keeps_it_among_twice_the_noise():
    config = resolve({"task": {"name": "selective_copy"}, "model": {"arch": "mamba", "hidden_size": 32}},
                     {"train": {"threads": 1, "eval_size": 500, "max_steps": 1500, "eval_every": 100, "lr": 1e-2}})
    metrics = fit(config, progress=False).metrics
    assert metrics["test/seq_acc"] >= 0.95  # chance: (1/8)^4
    assert metrics["test/len32/seq_acc"] >= 0.9

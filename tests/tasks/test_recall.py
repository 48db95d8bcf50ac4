"""Associative recall (MQAR): each query's target is the value its key was paired with; attention
solves a small instance and Mamba nearly does."""
import pytest
import torch

from bench.core.errors import UsageError
from bench.core.network import build_task
from bench.core.resolve import resolve
from bench.train.run import fit


def task_and_batch(n=50, **options):
    task = build_task(resolve({"task": {"name": "recall"}}, plugin_options=options))
    return task, task.generate(n, task.options.length, torch.Generator().manual_seed(0), torch.device("cpu"))


def test_pairs_then_every_key_queried_once_with_its_value_as_the_target():
    task, batch = task_and_batch(length=5, vocab=40)  # 20 keys: enough for 4x the pairs
    assert batch.inputs.shape == (50, 15) and task.input_size == task.output_size == 40
    for x, y, m in zip(batch.inputs, batch.targets, batch.mask):
        keys, values, queries = x[0:10:2], x[1:10:2], x[10:]
        assert len(set(keys.tolist())) == 5 and (keys < 20).all() and (values >= 20).all()
        assert sorted(queries.tolist()) == sorted(keys.tolist())
        paired = dict(zip(keys.tolist(), values.tolist()))
        assert y[10:].tolist() == [paired[k] for k in queries.tolist()]
        assert m.tolist() == [False] * 10 + [True] * 5


def test_more_pairs_than_distinct_keys_is_a_usage_error_naming_the_fix():
    with pytest.raises(UsageError, match="raise vocab to at least 64"):
        resolve({"task": {"name": "recall"}}, plugin_options={"length": 8, "vocab": 32})


def test_too_few_distinct_inputs_to_split_is_a_usage_error():
    with pytest.raises(UsageError, match="too few distinct inputs"):
        resolve({"task": {"name": "recall"}}, plugin_options={"length": 1, "vocab": 8})


def learn(arch, steps, stop_once_learnt):
    config = resolve({"task": {"name": "recall"}, "model": {"arch": arch, "hidden_size": 32}},
                     {"train": {"threads": 1, "eval_size": 500, "max_steps": steps, "eval_every": 100, "lr": 1e-2}},
                     {"length": 4, "vocab": 32})
    return fit(config, progress=False, callbacks=[stop_once_learnt("val/acc", 0.98)]).metrics


def test_attention_recalls_four_pairs(stop_once_learnt):
    """Far above the plateau of about 0.27 (the last pair remembered, chance for the rest). Leaving
    that plateau depends on seed and size: results/recall.md has a setting where it stayed."""
    metrics = learn("attention", 1500, stop_once_learnt)
    assert metrics["test/acc"] >= 0.95


def test_mamba_recalls_four_pairs_far_above_chance(stop_once_learnt):
    """Chance is 1/16 per query; the plateau of the last pair remembered about 0.3."""
    metrics = learn("mamba", 1500, stop_once_learnt)
    assert metrics["test/acc"] >= 0.95

"""The synthetic-task machinery: disjoint splits fixed by content, fixed evaluation sets, no host syncs."""
import pytest
import torch

from bench.core.network import build_task
from bench.core.resolve import resolve
from bench.core.task import Draw, _content_bucket

CPU = torch.device("cpu")


def parity(**options):
    return build_task(resolve(plugin_options={"score": "all", **options}))


def rows(batches):
    return {tuple(x.tolist()) for b in batches for x in b.inputs}


def test_train_val_test_never_share_an_example():
    task = parity(length=8)  # only 256 strings exist, so overlap would show up at once
    train = rows(task.eval_batches("train", Draw(100, examples=1000)))
    val = rows(task.eval_batches("val", Draw(100, examples=1000)))
    test = rows(task.eval_batches("test", Draw(100, examples=1000)))
    assert train and val and test
    assert not (train & val) and not (train & test) and not (val & test)


def test_split_depends_on_content_not_on_seed():
    task = parity(length=8)
    assert rows(task.eval_batches("val", Draw(100, examples=500))) <= rows(task.eval_batches("val", Draw(100, seed=7, examples=5000))) | rows(
        task.eval_batches("val", Draw(100, examples=500)))
    strings = torch.randint(0, 2, (64, 8), generator=torch.Generator().manual_seed(1))
    assert torch.equal(_content_bucket(strings), _content_bucket(strings.clone()))


def test_training_batches_score_only_training_examples():
    task = parity(length=6)  # 64 strings: many candidates fall in val/test buckets
    generator = torch.Generator().manual_seed(0)
    held_out = rows(task.eval_batches("val", Draw(64, examples=300))) | rows(task.eval_batches("test", Draw(64, examples=300)))
    for _ in range(20):
        batch = task.train_batch(64, generator, CPU)
        for x, m in zip(batch.inputs, batch.mask):
            if tuple(x.tolist()) in held_out:
                assert not m.any()


def test_evaluation_sets_are_fixed_by_the_seed():
    task = parity(length=12)
    a = task.eval_batches("test", Draw(50, seed=3, examples=200))
    b = task.eval_batches("test", Draw(50, seed=3, examples=200))
    c = task.eval_batches("test", Draw(50, seed=4, examples=200))
    assert all(torch.equal(x.inputs, y.inputs) for x, y in zip(a, b))
    assert not all(torch.equal(x.inputs, y.inputs) for x, y in zip(a, c))
    assert sum(len(x) for x in a) == 200


def test_length_generalisation_defaults_to_twice_and_four_times():
    assert parity(length=10).eval_lengths() == [20, 40]
    assert parity(length=10, eval_lengths=[15, 10]).eval_lengths() == [15]


def test_the_split_hash_coefficients_reach_a_device_once_not_per_batch():
    """A host→device copy per batch synchronises with a CUDA device at every update (seen on an
    H200, results/BENCHMARKS.md): the coefficients are copied once per width and device."""
    from bench.core.task import _hash_coefficients

    cpu = torch.device("cpu")
    assert _hash_coefficients(12, cpu) is _hash_coefficients(12, cpu)
    fresh = torch.randint(1, 2**31 - 1, (12,), generator=torch.Generator().manual_seed(0x5EED), dtype=torch.long)
    assert torch.equal(_hash_coefficients(12, cpu), fresh)  # the same numbers as before, on every device


def test_to_device_leaves_a_tensor_already_there_alone():
    from bench import to_device

    tensor = torch.arange(4)
    assert to_device(tensor, "cpu") is tensor


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_to_device_copies_cpu_batches_to_cuda_without_synchronising():
    from bench import to_device

    torch.cuda.set_sync_debug_mode("error")
    try:
        moved = to_device(torch.arange(1000), "cuda")
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert moved.device.type == "cuda" and int(moved.sum()) == 499500


@pytest.mark.parametrize("name", sorted(__import__("bench.core.registry", fromlist=["TASKS"]).TASKS.names()))
def test_every_task_answers_one_draw(name, tmp_path):
    """One request for every kind of task: a stream as long as asked (or shorter, a dataset's passes
    being done), batches no larger than asked, and the same seed drawing the same batches again."""
    from bench.core.registry import TASKS

    task = build_task(resolve({"task": {"name": name}}, plugin_options=TASKS.get(name).example_options(tmp_path)))
    stream = task.train_batches(Draw(4, seed=1, batches=3, max_epochs=1))
    first, again = list(stream), list(stream)
    assert 1 <= len(first) <= 3 and all(len(batch) <= 4 for batch in first)
    assert all(torch.equal(a.inputs, b.inputs) for a, b in zip(first, again, strict=True))
    val = task.eval_batches("val", Draw(4, seed=1, examples=8))
    assert val and all(len(batch) <= 4 for batch in val)
    assert all(torch.equal(a.inputs, b.inputs) for a, b in zip(val, task.eval_batches("val", Draw(4, seed=1, examples=8)),
                                                                strict=True))


def test_the_training_side_does_not_ask_which_kind_of_task_it_has():
    import ast
    from pathlib import Path

    import bench.train

    for path in Path(bench.train.__file__).parent.glob("*.py"):
        names = {node.id for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Name)}
        assert not names & {"SequenceDataset", "SyntheticTask"}, path.name

"""Character-level LM: splits and vocabulary, the stream layout, carried state, sampling, bad files."""
import math
import random

import pytest
import torch

from bench.core.resolve import resolve
from bench.core.task import Draw
from bench.train.run import build_task, fit_model
from tasks.charlm import CharLM, stdlib_corpus

CPU = torch.device("cpu")


def periodic_text(n: int = 12_000, period: int = 40, alphabet: str = "abcd", seed: int = 0) -> str:
    """A random string of 40 characters over 4 letters, repeated: the next character depends on
    where in the period the text is, which takes several characters of context to know; a model
    whose state is reset every ``bptt`` characters starts each segment not knowing it."""
    rng = random.Random(seed)
    unit = "".join(rng.choice(alphabet) for _ in range(period))
    return (unit * (n // period + 1))[:n]


def charlm(text: str, tmp_path, **options) -> CharLM:
    path = tmp_path / "corpus.txt"
    path.write_text(text, encoding="utf-8")
    return build_task(resolve({"task": {"name": "charlm"}}, plugin_options={"data": str(path), **options}))


def test_splits_are_90_5_5_by_position_and_the_vocabulary_comes_from_train(tmp_path):
    text = "ab" * 900 + "abcé" * 50  # 'c' and 'é' appear only after 90%
    task = charlm(text, tmp_path)
    assert task.texts["train"] + task.texts["val"] + task.texts["test"] == text
    assert [len(task.texts[s]) for s in ("train", "val", "test")] == [1800, 100, 100]
    assert task.vocabulary == ["\ufffd", "a", "b"] and task.input_size == task.output_size == 3
    assert task.encode("abcé").tolist() == [1, 2, 0, 0]  # unseen characters are the unknown token
    assert task.decode([1, 2, 0]) == "ab\ufffd"


def test_batches_are_parallel_streams_of_consecutive_segments(tmp_path):
    task = charlm(periodic_text(), tmp_path, bptt=7)
    batches = task.eval_batches("val", Draw(4))  # 600 characters: 4 streams of 149 steps
    assert [b.inputs.shape for b in batches[:2]] == [(4, 7), (4, 7)] and batches[-1].inputs.shape == (4, 149 % 7)
    rows = torch.cat([b.inputs for b in batches], 1)
    targets = torch.cat([b.targets for b in batches], 1)
    ids = task.ids["val"]
    for r in range(4):
        assert torch.equal(rows[r], ids[r * 149:(r + 1) * 149]) and torch.equal(targets[r], ids[r * 149 + 1:(r + 1) * 149 + 1])
    per_epoch = math.ceil((10_800 - 1) // 4 / 7)  # training: 10,800 characters, 4 streams, windows of 7
    stream = list(task.train_batches(Draw(4, batches=2 * per_epoch)))
    assert [b.continues for b in stream[per_epoch - 1:per_epoch + 2]] == [True, False, True]  # a new epoch
    first, second = (torch.cat([b.inputs for b in stream[e:e + per_epoch]], 1) for e in (0, per_epoch))
    rows = sorted(x.tolist() for x, _ in task.examples("train", 4))
    assert sorted(first.tolist()) == sorted(second.tolist()) == rows  # each stream whole, once per epoch


def test_the_default_corpus_is_the_standard_library_source_deterministically():
    text = stdlib_corpus()
    assert len(text) == 2_000_000 and "def " in text and "import " in text
    assert stdlib_corpus.__wrapped__() == text


def bpc(model, batches, carry: bool) -> float:
    """Bits per character over ``batches``, carrying the state from batch to batch or not."""
    total = count = 0.0
    state = None
    with torch.no_grad():
        for batch in batches:
            outputs, state = model(batch.inputs, state if carry else None)
            loss = torch.nn.functional.cross_entropy(outputs.transpose(1, 2), batch.targets, reduction="sum")
            total, count = total + float(loss), count + batch.targets.numel()
    return total / count / math.log(2)


def test_carried_state_is_used_in_training_and_evaluation(tmp_path):
    path = tmp_path / "periodic.txt"
    path.write_text(periodic_text())
    config = resolve({"task": {"name": "charlm", "data": str(path), "bptt": 5},
                      "model": {"arch": "gru", "hidden_size": 64, "num_layers": 1, "embed_dim": 0},
                      "train": {"threads": 1, "max_steps": 300, "eval_every": 300, "batch_size": 16, "lr": 1e-2}})
    result, model = fit_model(config, progress=False)
    model.eval()
    test = model.task.eval_batches("test", Draw(16))
    carried, reset = bpc(model, test, carry=True), bpc(model, test, carry=False)
    # Measured: 0.30 carried, 1.95 reset each batch (a fair choice of 4 letters is 2 bits).
    assert carried < 0.7 < 1.4 < reset, (carried, reset)
    assert math.isclose(result.metrics["test/bpc"], carried, rel_tol=1e-4)  # the harness carries it too


def test_a_trained_run_samples_text_from_its_saved_weights(bench_cli, tmp_path):
    from bench.train.run import run

    (tmp_path / "corpus.txt").write_text(periodic_text(3000))
    config = resolve({"task": {"name": "charlm", "data": str(tmp_path / "corpus.txt"), "bptt": 10},
                      "model": {"arch": "gru", "hidden_size": 16, "num_layers": 1},
                      "train": {"threads": 1, "max_steps": 20, "eval_every": 20, "batch_size": 8}})
    result = run(config, progress=False)  # logs config.yaml and model.pt to the test's own store
    sampled = bench_cli("sample", result.run_id, "--chars", "50", "--temperature", "0.5")
    assert sampled.returncode == 0, sampled.stderr
    assert len(sampled.stdout) == 51 and set(sampled.stdout.strip()) <= set("abcd")
    from bench.core.errors import UsageError
    from bench.train.sample import load_run_model

    with pytest.raises(UsageError, match="no run '0123456789abcdef'"):
        load_run_model("0123456789abcdef")


@pytest.mark.fresh_store
def test_sampling_without_a_store_is_one_line_exit_2(bench_main):
    missing = bench_main("sample", "0123456789abcdef", "--chars", "5")
    assert missing.returncode == 2 and "no tracking store with runs here" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


BAD_FILES = {
    "missing": (lambda d: d / "nope.txt", "no such file"),
    "empty": (lambda d: (d / "empty.txt").touch() or d / "empty.txt", "is empty"),
    "not utf-8": (lambda d: (d / "latin1.txt").write_bytes("café ".encode("latin-1") * 500) and d / "latin1.txt",
                  "is not UTF-8 text"),
    "binary": (lambda d: (d / "data.bin").write_bytes(bytes(2000)) and d / "data.bin", "binary, not text"),
    "too short": (lambda d: (d / "short.txt").write_text("to be or not") and d / "short.txt", "at least 1000"),
}


@pytest.mark.fresh_store
@pytest.mark.parametrize("make, message", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_file_is_one_line_exit_2_before_any_run(bench_main, usage_error, tmp_path, isolated_store, make, message):
    result = bench_main("run", "--task", "charlm", "--opt", f"data={make(tmp_path)}", "--threads", "1", "--no-progress")
    usage_error(result, message)
    assert not (isolated_store / "mlflow.db").exists()

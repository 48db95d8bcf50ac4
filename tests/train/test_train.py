"""Training proves learning, is deterministic, and runs every task with every architecture."""
import pytest
import torch

from bench.core.registry import ARCHITECTURES, TASKS
from bench.core.resolve import resolve
from bench.train.run import fit

FAST = {"threads": 1, "eval_size": 500}


# A 16-slot memory keeps the NTM's Python loop quick; the tasks below need no more.
MODEL = {"ntm": {"memory_slots": 16}}


def run(task, arch, options=None, model=None, **train):
    config = resolve({"task": {"name": task}, "model": {"arch": arch, **MODEL.get(arch, {}), **(model or {})}},
                     {"train": {**FAST, **train}}, options or {})
    return fit(config, progress=False)


@pytest.mark.parametrize("arch", ["gru", "lstm", "residual", "attention", "ntm"])
def test_parity_of_8_bits_is_learned_to_100_percent(arch):
    result = run("parity", arch, {"length": 8, "score": "all"}, max_steps=1500, eval_every=50, lr=1e-2)
    assert result.metrics["test/seq_acc"] == 1.0
    assert result.stop_reason == "target reached"


@pytest.mark.parametrize("arch, length, layers, lr, steps", [
    ("mingru", 8, 2, 1e-2, 1500), ("minlstm", 8, 2, 1e-2, 1500), ("lru", 8, 3, 3e-3, 3000)])
def test_per_step_parity_is_learned_to_100_percent_by_the_linear_recurrences(arch, length, layers, lr, steps):
    """The linear recurrences' decays are positive (LRU's are complex, but the same at every step),
    so none can flip a sign on a 1 as a gated RNN does: they must count the ones and read the
    parity off the count through the nonlinearity between blocks, which takes more depth or steps.
    Mamba did not reach 100% at 8 bits in our tries; its case here (6 bits, the suite's slowest test)
    gave way to the signed-eigenvalue test below, which shows Mamba on parity with and without
    negative decays. The splits are
    by a hash of the string, so the validation strings are few and 100% on them proves little:
    every run trains its full budget, and the test strings (and every prefix of them) must all be
    right."""
    result = run("parity", arch, {"length": length, "score": "all"}, max_steps=steps, eval_every=50, lr=lr,
                 early_stop=False, model={"num_layers": layers})
    assert result.metrics["test/seq_acc"] == 1.0


def test_signed_eigenvalues_let_mamba_flip_parity_of_8_bits_where_positive_ones_only_count():
    """Grazzi et al. 2025: a linear recurrence with positive decays can count the ones but not flip a
    sign on each; mapping its decays to (-1, 1) makes parity one flip per 1. Measured
    (results/signed_parity.md): one signed block has every validation string right by update 200
    and every test string at 8, 16 and 32 bits after 1,500; the positive block 82% of the test
    strings at 8 bits and 3% at 16. Here 400 updates, without early stopping (few validation strings)."""
    def parity(eigenvalues):
        return run("parity", "mamba", {"length": 8, "score": "all", "eigenvalues": eigenvalues}, max_steps=400,
                   eval_every=50, lr=3e-3, early_stop=False, model={"num_layers": 1}).metrics

    signed, positive = parity("signed"), parity("positive")
    assert signed["test/seq_acc"] == 1.0 and signed["test/len16/seq_acc"] == 1.0
    assert positive["test/seq_acc"] < 0.95


@pytest.mark.parametrize("arch", ["residual", "attention", "ntm"])
def test_ntm_copy_of_short_sequences_is_learned_to_100_percent(arch):
    result = run("copy", arch, {"variant": "ntm", "length": 3, "width": 4}, max_steps=3000, eval_every=50, lr=1e-2)
    assert result.metrics["test/seq_acc"] == 1.0


@pytest.mark.parametrize("arch", ["gru", "lstm"])
def test_binary_addition_of_8_bit_numbers_is_learned_to_100_percent(arch):
    result = run("addition", arch, {"variant": "binary", "length": 8}, max_steps=3000, eval_every=100)
    assert result.metrics["test/seq_acc"] == 1.0


@pytest.mark.parametrize("arch", ["gru", "lstm"])
def test_adding_problem_at_length_20_beats_the_baseline_by_far(arch):
    result = run("addition", arch, {"variant": "adding", "length": 20}, max_steps=3000, eval_every=100)
    assert result.metrics["test/mse"] < 0.05 < result.metrics["test/baseline"]


def test_copy_memory_at_delay_10_leaves_the_memoryless_baseline():
    """Arjovsky et al.'s layout (10 symbols of 8, delay 10): below half the baseline's cross-entropy.

    Measured: LSTM (64 units, Adam 1e-2) reaches 0.27 vs the baseline's 0.69 in 4,000 steps (~35 s);
    at 3,000 steps it is 0.26 on one CPU and 0.348 on another (float rounding differs between CPU
    models, and the escape from the plateau is sensitive to it), hence the margin. At Adam 1e-3 it
    sits on the baseline for minutes, as the literature reports.
    """
    result = run("copy", "lstm", {"variant": "memory", "length": 10}, max_steps=4000, eval_every=500, lr=1e-2)
    assert result.metrics["test/loss"] < 0.5 * result.metrics["test/baseline"]


def test_same_seed_same_metrics_on_cpu():
    a = run("parity", "gru", {"length": 6}, max_steps=60, eval_every=30, seed=5)
    b = run("parity", "gru", {"length": 6}, max_steps=60, eval_every=30, seed=5)
    c = run("parity", "gru", {"length": 6}, max_steps=60, eval_every=30, seed=6)
    assert a.metrics == b.metrics
    assert a.metrics != c.metrics


# Every registered task (found by the registry, so a new task needs no edit here), with its
# Task.example_options (tiny data files for a data task). A task named in VARIANTS runs once per
# variant listed instead of once at its defaults: both variants where there are two, small sizes for speed.
VARIANTS = {"copy": [{"variant": "memory", "length": 3}, {"variant": "ntm", "length": 4}],
            "addition": [{"variant": "binary", "length": 4}, {"variant": "adding", "length": 6}],
            "program": [{"length": 1, "nesting": 1}, {"variant": "memorize", "length": 3}]}
CASES = [(task, options) for task in TASKS.names() for options in VARIANTS.get(task, [{}])]


@pytest.mark.parametrize("arch", ARCHITECTURES.names())
@pytest.mark.parametrize("task, options", CASES, ids=[f"{t}-{o.get('variant', 'default')}" for t, o in CASES])
def test_every_task_runs_with_every_architecture(task, options, arch, tmp_path):
    options = {**TASKS.get(task).example_options(tmp_path), **options}
    result = run(task, arch, options, max_steps=3, eval_every=3, eval_size=32, batch_size=8)
    assert result.steps == 3
    assert result.metrics and all(torch.isfinite(torch.tensor(v)) for v in result.metrics.values())
    target = TASKS.get(task)(TASKS.get(task).Options(**options)).target_metric
    assert f"test/{target}" in result.metrics


def test_lr_decay_steps_the_learning_rate_down_when_validation_stops_improving():
    from lightning.pytorch.callbacks import Callback

    class Rates(Callback):
        def __init__(self):
            self.seen: list[tuple[float, float]] = []

        def on_validation_end(self, trainer, pl_module):
            self.seen.append((float(trainer.callback_metrics["val/seq_acc"]), trainer.optimizers[0].param_groups[0]["lr"]))

    rates = Rates()
    config = resolve({"task": {"name": "parity", "length": 4}, "model": {"arch": "gru", "hidden_size": 8},
                      "train": {"threads": 1, "max_steps": 60, "eval_every": 2, "eval_size": 64, "lr": 0.5,
                                "lr_decay": 0.5, "lr_patience": 1, "early_stop": False}})
    fit(config, progress=False, callbacks=[rates])
    lrs = [lr for _, lr in rates.seen]
    assert lrs[0] == 0.5 and lrs[-1] < 0.5 and all(b in (a, a / 2) for a, b in zip(lrs, lrs[1:]))
    best = -1.0  # the task's target metric, val/seq_acc, is maximised
    for (accuracy, lr), (_, next_lr) in zip(rates.seen, rates.seen[1:]):  # halved only when it did not improve
        if next_lr < lr:
            assert accuracy <= best
        best = max(best, accuracy)

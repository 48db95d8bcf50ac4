"""bench.train.speedups trims Lightning's per-step bookkeeping and changes nothing but its cost."""
from torch import nn

from bench.core.network import build_task
from bench.core.resolve import resolve
from bench.train.model import SequenceModel
from bench.train.speedups import LightningShortcuts, unprofiled


def test_the_per_step_shortcuts_change_nothing_but_cost():
    """unprofiled() and LightningShortcuts.__setattr__ trim Lightning's per-step bookkeeping
    (results/BENCHMARKS.md): the hook name is still recorded, modules assigned later still register
    as submodules, and the profiler is still a context manager."""
    config = resolve({"task": {"name": "parity"}, "model": {"arch": "gru"}}, {"train": {"threads": 1, "eval_size": 500}},
                     {"length": 8})
    model = SequenceModel(build_task(config), config)
    assert isinstance(model, LightningShortcuts)
    model._current_fx_name = "training_step"
    assert model._current_fx_name == "training_step"
    model.extra = nn.Linear(2, 2)
    assert "extra" in model._modules and model.extra.weight in set(model.parameters())
    with unprofiled().profile("[LightningModule]SequenceModel.training_step") as inside:
        assert inside is None


def test_a_run_treats_subnormal_floats_as_zero_while_it_trains_and_restores_the_setting_after():
    """Subnormal arithmetic is many times slower on x86; a gradient vanishing through a long tanh
    RNN passes through that range. While a run trains, subnormals read as zero; after it, the
    process's setting is back (hypothesis, for one, refuses to run with subnormals flushed)."""
    import torch
    from lightning.pytorch.callbacks import Callback

    from bench.train.run import fit

    seen = []

    class Probe(Callback):
        def on_train_batch_start(self, *args) -> None:
            seen.append(torch.tensor([1e-39]).item())

    torch.set_flush_denormal(False)
    fit(resolve({"task": {"name": "parity", "length": 3}, "model": {"arch": "vanilla", "hidden_size": 4},
                 "train": {"max_steps": 2, "eval_every": 2, "eval_size": 16, "threads": 1}}),
        progress=False, callbacks=[Probe()])
    assert seen == [0.0, 0.0]  # flushed during training
    assert torch.tensor([1e-39]).item() != 0.0  # kept again after the run

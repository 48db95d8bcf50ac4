"""The compiled step of a custom cell computes what the eager step computes, and runs only with `--compile on`."""
import pytest
import torch

from bench.core.architecture import SteppedRecurrent
from bench.core.registry import ARCHITECTURES

STEPPED = [n for n in ARCHITECTURES.names() if issubclass(ARCHITECTURES.get(n), SteppedRecurrent)]
SMALL = {"ntm": {"memory_slots": 8, "memory_width": 4}}


def test_the_custom_cells_are_stepped():
    assert {"attention", "ntm"} <= set(STEPPED)


# One cold compile (~30 s) is the suite's share: ntm's, the cell whose compiled step pays; attention's
# compiles by the same path, and benchmarks/suite.py (target 3) compiles both.
@pytest.mark.parametrize("name", ["ntm"])
def test_compiled_step_matches_eager_outputs_and_gradients(name):
    cls = ARCHITECTURES.get(name)
    torch.manual_seed(0)
    core = cls(5, 8, options=cls.Options(**SMALL.get(name, {})))
    x = torch.randn(3, 6, 5)

    def forward_backward():
        core.zero_grad()
        out, state = core(x)
        (out.square().sum() + sum(s.float().sum() for s in state)).backward()
        return out.detach(), [p.grad.clone() for p in core.parameters()]

    eager_out, eager_grads = forward_backward()
    core.compiled = True
    compiled_out, compiled_grads = forward_backward()
    assert core._compiled_step is not None
    torch.testing.assert_close(compiled_out, eager_out, atol=1e-5, rtol=1e-5)
    for got, want in zip(compiled_grads, eager_grads):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


def test_a_default_run_trains_eagerly():
    from bench.core.resolve import resolve
    from bench.train.run import fit

    config = resolve({"model": {"arch": "ntm", "hidden_size": 8, **SMALL["ntm"]}},
                     {"train": {"max_steps": 4, "eval_every": 4, "eval_size": 32, "threads": 1}}, {"length": 4})
    assert config.model.compile == "off"
    assert fit(config, progress=False).step_function == "eager"


@pytest.mark.parametrize("mode, resumed_from, compiled", [
    ("on", None, True), ("off", None, False),
    ("off", "compiled (eager 60 ms/step, 3583 s left)", True),  # a run resumed keeps what its first part ran
    ("on", "eager", False),
])
def test_the_step_function_is_the_one_asked_for_or_the_one_a_resumed_run_began_with(mode, resumed_from, compiled):
    import types

    from bench.train.compiled import StepFunction

    core = ARCHITECTURES.get("attention")(2, 4)
    callback = StepFunction(mode)
    if resumed_from is not None:
        callback.load_state_dict({"decision": resumed_from})
    callback.on_train_start(types.SimpleNamespace(), types.SimpleNamespace(net=types.SimpleNamespace(core=core)))
    assert core.compiled is compiled
    assert callback.decision.startswith("compiled" if compiled else "eager")


def test_compile_auto_from_an_earlier_version_reads_as_off_in_a_config_and_in_a_stored_sweep(isolated_store):
    from bench.core.resolve import resolve
    from bench.tracking.optuna_store import create_or_check, open_storage

    assert resolve({"model": {"compile": "auto"}}).model.compile == "off"
    storage, space = open_storage(), {"train.lr": {"type": "float", "low": 0.001, "high": 0.01}}
    create_or_check(storage, "parity/gru/params=any", "maximize", space, {"model": {"compile": "auto"}})
    create_or_check(storage, "parity/gru/params=any", "maximize", space, {"model": {"compile": "off"}})  # resumes

"""The compiled step of a custom cell computes what the eager step computes, and is used only where it pays."""
import pytest
import torch

from bench.core.architecture import SteppedRecurrent
from bench.core.registry import ARCHITECTURES

STEPPED = [n for n in ARCHITECTURES.names() if issubclass(ARCHITECTURES.get(n), SteppedRecurrent)]
SMALL = {"ntm": {"memory_slots": 8, "memory_width": 4}}


def test_the_custom_cells_are_stepped():
    assert {"attention", "ntm"} <= set(STEPPED)


# Each costs a cold compile (~30 s): only the cells that `--compile auto` may compile (compile_gain > 1).
# attention's compiled step runs only under --compile on; its fast path is what runs.
COMPILABLE = [n for n in STEPPED if ARCHITECTURES.get(n).compile_gain > 1]


@pytest.mark.parametrize("name", COMPILABLE)
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


def test_a_cell_with_a_fast_path_runs_it_instead_of_compiling():
    from bench.core.resolve import resolve
    from bench.train.run import fit

    config = resolve({"model": {"arch": "attention", "hidden_size": 8}},
                     {"train": {"max_steps": 12, "eval_every": 12, "eval_size": 32, "threads": 1}},
                     {"length": 4, "score": "all"})
    result = fit(config, progress=False)
    assert result.step_function.startswith("eager (its fast path")  # attention: compile_gain 1


@pytest.mark.parametrize("per_step, max_steps, compiles", [
    (0.1, 3000, False),    # 300 s left eager: compiling 60 s would be ~40% of the compiled run
    (0.1, 10000, False),   # 1000 s left: under 10% of the eager rest, but ~26% of a compiled run
    (0.1, 30000, True),    # 3000 s left: 60 s is ~5.7% of a 1060 s compiled run
])
def test_auto_compiles_only_if_compiling_is_under_a_tenth_of_the_compiled_run(monkeypatch, per_step, max_steps, compiles):
    import types

    import bench.train.compiled as compiled

    clock = [0.0]
    monkeypatch.setattr(compiled.time, "perf_counter", lambda: clock[0])
    core = ARCHITECTURES.get("attention")(2, 4)
    core.use_fast_path, core.compile_gain = False, 3.0  # the rule for a cell that has only its step
    module = types.SimpleNamespace(net=types.SimpleNamespace(core=core), device=torch.device("cpu"))
    trainer = types.SimpleNamespace(global_step=0, max_steps=max_steps)
    callback = compiled.CompileWhenItPays("auto")
    callback.on_train_start(trainer, module)
    for step in range(callback.warmup + callback.probe + 1):
        trainer.global_step = step
        callback.on_train_batch_start(trainer, module, None, step)
        clock[0] += per_step
        trainer.global_step = step + 1
        callback.on_train_batch_end(trainer, module, None, None, step)
    assert core.compiled is compiles, callback.decision
    assert callback.decision.startswith("compiled" if compiles else "eager (compiling")

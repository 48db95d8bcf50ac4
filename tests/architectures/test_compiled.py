"""The compiled step of a custom cell computes what the eager step computes, and is used only where it pays."""
import pytest
import torch

from bench.architecture import SteppedRecurrent
from bench.registry import ARCHITECTURES

STEPPED = [n for n in ARCHITECTURES.names() if issubclass(ARCHITECTURES.get(n), SteppedRecurrent)]
SMALL = {"ntm": {"memory_slots": 8, "memory_width": 4}}


def test_the_custom_cells_are_stepped():
    assert {"attention", "ntm"} <= set(STEPPED)


@pytest.mark.parametrize("name", STEPPED)
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


def test_a_short_run_does_not_pay_for_compiling():
    from bench.config import resolve
    from bench.train import fit

    config = resolve({"model": {"arch": "attention", "hidden_size": 8}},
                     {"train": {"max_steps": 12, "eval_every": 12, "eval_size": 32, "threads": 1}},
                     {"length": 4, "score": "all"})
    result = fit(config, progress=False)
    assert result.step_function.startswith("eager (compiling")

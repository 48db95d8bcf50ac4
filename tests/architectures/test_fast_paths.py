"""A custom cell's fast path computes exactly what its readable step-by-step reference computes:
the same outputs, the same final state and the same gradient for every parameter and the input —
also when the sequence comes in two chunks with the state carried, and gradients flow back
through that carried state into the first chunk."""
import pytest
import torch

from bench.core.architecture import SteppedRecurrent
from bench.core.registry import ARCHITECTURES

FAST = [n for n in ARCHITECTURES.names()
        if issubclass(ARCHITECTURES.get(n), SteppedRecurrent) and ARCHITECTURES.get(n).has_fast_path]
VARIANTS = {
    "attention": [{"cell": "gru"}, {"cell": "lstm", "attention_size": 3}, {"cell": "tanh"}],
    "ntm": [{"memory_slots": 6, "memory_width": 4},
            {"memory_slots": 5, "memory_width": 3, "read_heads": 2, "write_heads": 2, "shift_range": 2},
            {"memory_slots": 4, "memory_width": 3, "controller": "feedforward"},
            {"memory_slots": 2, "memory_width": 3, "shift_range": 3}],  # shifts wrap around more than once
}
CASES = [(name, options) for name in FAST for options in VARIANTS.get(name, [{}])]


def test_the_custom_cells_have_fast_paths():
    assert {"attention", "ntm"} <= set(FAST)


def run_in_two_chunks(core: SteppedRecurrent, x: torch.Tensor, fast: bool):
    core.use_fast_path = fast
    core.zero_grad()
    x = x.detach().requires_grad_()
    first, state = core(x[:, :4])
    second, state = core(x[:, 4:], state)
    out = torch.cat([first, second], 1)
    carried = sum(0.1 * (i + 1) * s.sum() for i, s in enumerate(state) if s.is_floating_point())
    (out.square().sum() + carried).backward()
    return out.detach(), [s.detach() for s in state], [p.grad.clone() for p in core.parameters()], x.grad


@pytest.mark.parametrize("name, options", CASES, ids=[f"{n}-{i}" for n in FAST for i, _ in enumerate(VARIANTS.get(n, [{}]))])
def test_fast_path_equals_the_step_by_step_reference_outputs_state_and_every_gradient(name, options):
    cls = ARCHITECTURES.get(name)
    torch.manual_seed(0)
    core = cls(5, 8, options=cls.Options(**options))
    x = torch.randn(3, 9, 5)
    reference = run_in_two_chunks(core, x, fast=False)
    fast = run_in_two_chunks(core, x, fast=True)
    torch.testing.assert_close(fast[0], reference[0], atol=1e-5, rtol=1e-5)
    for got, want in zip(fast[1], reference[1], strict=True):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    names = [n for n, _ in core.named_parameters()]
    for parameter, got, want in zip(names, fast[2], reference[2], strict=True):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4, msg=lambda m, p=parameter: f"{p}: {m}")
    torch.testing.assert_close(fast[3], reference[3], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", FAST)
def test_a_second_backward_through_the_same_graph_gives_the_same_gradients(name):
    """The fast path keeps gradients in buffers outside the graph: a retained graph run backward
    twice must not see the first pass's leftovers."""
    cls = ARCHITECTURES.get(name)
    torch.manual_seed(0)
    core = cls(5, 8, options=cls.Options(**VARIANTS.get(name, [{}])[0]))
    out, _ = core(torch.randn(2, 6, 5))
    loss = out.square().sum()
    loss.backward(retain_graph=True)
    first = [p.grad.clone() for p in core.parameters()]
    core.zero_grad()
    loss.backward()
    for got, want in zip([p.grad for p in core.parameters()], first, strict=True):
        torch.testing.assert_close(got, want)


@pytest.mark.parametrize("name", FAST)
def test_recording_weights_uses_the_reference_and_gives_the_same_outputs(name):
    cls = ARCHITECTURES.get(name)
    torch.manual_seed(0)
    core = cls(5, 8, options=cls.Options(**VARIANTS.get(name, [{}])[0]))
    x = torch.randn(2, 6, 5)
    fast, _ = core(x)
    core.record = True
    recorded, _ = core(x)
    assert core.recorded is not None and core.recorded.shape[:2] == (2, 6)
    torch.testing.assert_close(recorded, fast, atol=1e-5, rtol=1e-5)

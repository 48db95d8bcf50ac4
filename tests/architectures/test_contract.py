"""Every registered architecture keeps the contract: shapes, chunkable state, gradient through time."""
import pytest
import torch

from bench.core.registry import ARCHITECTURES

ALL = ARCHITECTURES.names()


def make(name, **kwargs):
    cls = ARCHITECTURES.get(name)
    torch.manual_seed(0)
    return cls(5, 16, options=cls.Options(), **kwargs)


@pytest.mark.parametrize("name", ALL)
def test_maps_batch_time_features_to_batch_time_output(name):
    core = make(name)
    out, _ = core(torch.randn(3, 7, 5))
    assert out.shape == (3, 7, core.output_size)


@pytest.mark.parametrize("name", ALL)
def test_state_carried_across_calls_equals_one_long_call(name):
    core = make(name).eval()
    x = torch.randn(4, 12, 5)
    whole, _ = core(x)
    first, state = core(x[:, :5])
    second, _ = core(x[:, 5:], state)
    assert torch.allclose(torch.cat([first, second], 1), whole, atol=1e-5)


@pytest.mark.parametrize("name", ALL)
def test_gradient_reaches_the_first_time_step(name):
    core = make(name)
    x = torch.randn(2, 20, 5, requires_grad=True)
    out, _ = core(x)
    out[:, -1].sum().backward()
    assert x.grad[:, 0].abs().sum() > 0


@pytest.mark.parametrize("name", ALL)
def test_output_at_t_ignores_inputs_after_t(name):
    core = make(name).eval()
    x = torch.randn(2, 10, 5)
    later = x.clone()
    later[:, 6:] = torch.randn(2, 4, 5)
    a, _ = core(x)
    b, _ = core(later)
    assert torch.allclose(a[:, :6], b[:, :6], atol=1e-6)
    assert not torch.allclose(a[:, 6:], b[:, 6:])

"""Attention: weights are a causal distribution over the core's own past states."""
import torch

from bench.core.registry import ARCHITECTURES


def test_weights_sum_to_one_over_past_states_only():
    cls = ARCHITECTURES.get("attention")
    core = cls(5, 16, options=cls.Options())
    core.record = True
    core(torch.randn(3, 9, 5))
    weights = core.recorded  # (B, T, memory)
    assert weights.shape == (3, 9, 9)
    assert torch.allclose(weights.sum(-1), torch.ones(3, 9))
    assert (weights >= 0).all()
    assert torch.equal(weights.triu(1), torch.zeros_like(weights))  # step t never looks at j > t


def test_recording_does_not_change_the_output():
    cls = ARCHITECTURES.get("attention")
    core = cls(5, 16, options=cls.Options(cell="lstm"))
    x = torch.randn(2, 6, 5)
    plain, _ = core(x)
    core.record = True
    recorded, _ = core(x)  # recording runs the step-by-step reference: equal up to rounding
    torch.testing.assert_close(plain, recorded, atol=1e-6, rtol=1e-6)

"""The four fused architectures: layers and directions, seeded initialisation, their papers' initial weights.

The contract every architecture keeps (shapes, chunkable state, gradients, causality) is in test_contract.py."""
import pytest
import torch

from bench.core.registry import ARCHITECTURES

FUSED = ["vanilla", "lstm", "gru", "irnn"]


def make(name, **kwargs):
    cls = ARCHITECTURES.get(name)
    return cls(5, 16, **kwargs)


@pytest.mark.parametrize("name", FUSED)
@pytest.mark.parametrize("layers, bidirectional", [(1, False), (2, False), (1, True)])
def test_output_shape(name, layers, bidirectional):
    core = make(name, num_layers=layers, bidirectional=bidirectional)
    out, _ = core(torch.randn(3, 7, 5))
    assert out.shape == (3, 7, 16 * (2 if bidirectional else 1)) == (3, 7, core.output_size)


@pytest.mark.parametrize("name", FUSED)
def test_seed_decides_the_initial_weights(name):
    def weights(seed):
        torch.manual_seed(seed)
        return torch.cat([p.flatten() for p in make(name).parameters()])

    assert torch.equal(weights(1), weights(1))
    assert not torch.equal(weights(1), weights(2))


def test_lstm_forget_bias_sums_to_the_option():
    core = make("lstm", options=ARCHITECTURES.get("lstm").Options(forget_bias=2.5))
    rnn = core.rnn
    forget = (rnn.bias_ih_l0 + rnn.bias_hh_l0)[16:32]
    assert torch.allclose(forget, torch.full((16,), 2.5))
    assert ARCHITECTURES.get("lstm").Options().forget_bias == 1.0


def test_irnn_starts_from_identity_with_zero_biases():
    core = make("irnn")
    assert torch.equal(core.rnn.weight_hh_l0, torch.eye(16))
    assert not core.rnn.bias_ih_l0.any() and not core.rnn.bias_hh_l0.any()
    assert core.rnn.weight_ih_l0.std() < 0.01
    assert core.rnn.nonlinearity == "relu"

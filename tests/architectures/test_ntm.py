"""NTM addressing follows Graves et al. 2014: distributions over memory, shifts as circular convolution."""
import numpy as np
import torch

from architectures.ntm import address, circular_shift, cosine_addressing
from bench.core.registry import ARCHITECTURES


def test_circular_shift_matches_a_numpy_reference():
    rng = np.random.default_rng(0)
    weights = rng.dirichlet(np.ones(7), size=3)
    shift = rng.dirichlet(np.ones(3), size=3)  # shifts -1, 0, +1
    expected = np.zeros_like(weights)
    for b in range(3):
        for i in range(7):
            expected[b, i] = sum(weights[b, (i - d) % 7] * shift[b, d + 1] for d in (-1, 0, 1))
    got = circular_shift(torch.tensor(weights), torch.tensor(shift)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_a_pure_plus_one_shift_moves_the_focus_one_slot_forward():
    weights = torch.tensor([[0.0, 1.0, 0.0, 0.0]])
    assert torch.equal(circular_shift(weights, torch.tensor([[0.0, 0.0, 1.0]])), torch.tensor([[0.0, 0.0, 1.0, 0.0]]))


def test_content_addressing_prefers_the_most_similar_row_more_with_strength():
    memory = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]]])
    key = torch.tensor([[1.0, 0.1]])
    weak = cosine_addressing(memory, key, torch.tensor([[1.0]]))
    strong = cosine_addressing(memory, key, torch.tensor([[50.0]]))
    assert weak.argmax() == strong.argmax() == 0
    assert strong[0, 0] > weak[0, 0] and strong[0, 0] > 0.99


def test_addressing_weights_are_distributions_and_gate_zero_keeps_the_previous_focus():
    torch.manual_seed(0)
    memory = torch.randn(4, 10, 6)
    previous = torch.softmax(torch.randn(4, 10), -1)
    args = dict(memory=memory, key=torch.randn(4, 6), strength=torch.rand(4, 1) * 5,
                shift=torch.softmax(torch.randn(4, 3), -1), sharpen=1 + torch.rand(4, 1))
    w = address(previous, gate=torch.rand(4, 1), **args)
    assert (w >= 0).all() and torch.allclose(w.sum(-1), torch.ones(4))
    identity = torch.tensor([[0.0, 1.0, 0.0]]).repeat(4, 1)
    kept = address(previous, gate=torch.zeros(4, 1), **{**args, "shift": identity, "sharpen": torch.ones(4, 1)})
    assert torch.allclose(kept, previous, atol=1e-6)


def test_every_head_weighting_over_a_sequence_is_a_distribution():
    cls = ARCHITECTURES.get("ntm")
    core = cls(9, 32, options=cls.Options(memory_slots=16, memory_width=8, read_heads=2))
    core.record = True
    out, _ = core(torch.randn(3, 5, 9))
    assert out.shape == (3, 5, 32 + 2 * 8) and core.output_size == 48
    heads = core.recorded  # (B, T, read+write heads, N)
    assert heads.shape == (3, 5, 3, 16)
    assert (heads >= 0).all() and torch.allclose(heads.sum(-1), torch.ones(3, 5, 3), atol=1e-5)

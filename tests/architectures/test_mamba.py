"""Mamba recomputes its SSM states chunk by chunk in the backward pass; that changes no number."""
import torch

import architectures.mamba as mamba
from bench.core.registry import ARCHITECTURES


def outputs_and_gradients():
    cls = ARCHITECTURES.get("mamba")
    torch.manual_seed(0)
    core = cls(5, 8, num_layers=2, options=cls.Options(scan="loop"))
    x = torch.randn(2, 13, 5, requires_grad=True)
    out, (_, (_, last_state)) = core(x)
    out.square().sum().backward()
    return [out, last_state, x.grad] + [p.grad for p in core.parameters()]


def test_chunks_recomputed_in_the_backward_pass_give_the_same_outputs_and_gradients(monkeypatch):
    whole = outputs_and_gradients()
    monkeypatch.setattr(mamba, "RECOMPUTED_CHUNK", 4)  # 13 steps: four chunks, the last of one step
    chunked = outputs_and_gradients()
    for a, b in zip(whole, chunked, strict=True):
        assert torch.allclose(a, b, atol=1e-6)

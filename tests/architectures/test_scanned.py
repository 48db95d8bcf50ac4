"""Linear recurrences (minGRU, minLSTM, LRU, Mamba): the whole-sequence mode and the step mode are one function.

``ScannedRecurrent`` architectures are found in the registry, so a new one is held to this too.
"""
import pytest
import torch

from bench.core.architecture import ScannedRecurrent
from bench.core.registry import ARCHITECTURES
from bench.core.scan import LOG_SPACE_CHUNK, linear_recurrence

SCANNED = [n for n in ARCHITECTURES.names() if issubclass(ARCHITECTURES.get(n), ScannedRecurrent)]


def test_the_four_linear_recurrences_are_registered():
    assert {"mingru", "minlstm", "lru", "mamba"} <= set(SCANNED)


def reference(a, b, h):
    """The recurrence as written, one step at a time, in float64."""
    a, b, h = (t.to(torch.complex128 if t.is_complex() else torch.float64) for t in (a, b, h))
    states = []
    for t in range(b.shape[1]):
        h = (a[:, t] if a.dim() == b.dim() else a) * h + b[:, t]
        states.append(h)
    return torch.stack(states, 1)


@pytest.mark.parametrize("method", ["loop", "log_space"])
@pytest.mark.parametrize("kind", ["positive", "signed", "complex constant decay", "decays of zero", "negative decays"])
def test_both_scans_compute_the_recurrence_across_several_chunks(kind, method):
    torch.manual_seed(0)
    shape = (3, 2 * LOG_SPACE_CHUNK + 17, 4)
    a, b = torch.rand(shape), torch.randn(shape)
    h0 = torch.randn(3, 4)
    if kind == "positive":
        b, h0 = b.abs(), h0.abs()
    elif kind == "complex constant decay":
        a = torch.polar(torch.rand(4), torch.rand(4) * 6.28)
        b, h0 = torch.complex(b, torch.randn(shape)), torch.complex(h0, torch.randn(3, 4))
    elif kind == "decays of zero":
        a[:, ::5] = 0.0
    elif kind == "negative decays":  # --opt eigenvalues=signed: decays in (-1, 1), the running product's sign flips
        a = 2 * a - 1
    got = linear_recurrence(a, b, h0, method)
    assert got.shape == b.shape
    # The loop is exact to float32 rounding; the log-space scan loses about |A_t|·ε (bench.core.scan).
    tolerance = 1e-5 if method == "loop" else 1e-3
    assert torch.allclose(got.to(reference(a, b, h0).dtype), reference(a, b, h0), atol=tolerance, rtol=tolerance)


@pytest.mark.parametrize("kind", ["real", "negative decays", "complex"])
def test_the_log_space_scan_gives_the_loops_gradients(kind):
    torch.manual_seed(0)
    if kind == "real":
        a, b, h0 = torch.rand(2, 40, 3), torch.randn(2, 40, 3), torch.randn(2, 3)
    elif kind == "negative decays":
        a, b, h0 = 2 * torch.rand(2, 40, 3) - 1, torch.randn(2, 40, 3), torch.randn(2, 3)
    else:  # LRU's case: one complex decay per channel, complex inputs and state
        a = torch.polar(0.5 + 0.5 * torch.rand(3), 6.28 * torch.rand(3))
        b, h0 = torch.randn(2, 40, 3, dtype=torch.complex64), torch.randn(2, 3, dtype=torch.complex64)
    for t in (a, b, h0):
        t.requires_grad_()
    weights = torch.randn(2, 40, 3)
    grads = {}
    for method in ("loop", "log_space"):
        out = linear_recurrence(a, b, h0, method)
        (torch.view_as_real(out).sum(-1) if out.is_complex() else out).mul(weights).sum().backward()
        grads[method] = [t.grad.clone() for t in (a, b, h0)]
        for t in (a, b, h0):
            t.grad = None
    for loop_grad, log_grad in zip(grads["loop"], grads["log_space"]):
        # Within 0.1% of the gradient's scale: d/da = d/d(log a) / a magnifies the log-space
        # scan's rounding where a decay is small.
        assert (loop_grad - log_grad).abs().max() <= 1e-3 * loop_grad.abs().max()


def make(name, scan="loop", eigenvalues="positive"):
    cls = ARCHITECTURES.get(name)
    torch.manual_seed(0)
    return cls(5, 8, num_layers=2, options=cls.Options(scan=scan, eigenvalues=eigenvalues))


def outputs_and_gradients(core, x, chunks):
    """Outputs and every gradient, the sequence fed in ``chunks`` with the state carried across."""
    core.zero_grad()
    x = x.clone().requires_grad_()
    state, outputs, start = None, [], 0
    for length in chunks:
        out, state = core(x[:, start:start + length], state)
        outputs.append(out)
        start += length
    out = torch.cat(outputs, 1)
    (out * torch.linspace(-1, 1, out.numel()).reshape(out.shape)).sum().backward()
    return out.detach(), x.grad, {n: p.grad.clone() for n, p in core.named_parameters()}


SIGNED = [(name, "positive") for name in SCANNED] + [(name, "signed") for name in SCANNED if name != "lru"]


def element_wise(name):
    """Whether the architecture's recurrence is element-wise, so that it can run as the log-space scan
    (deltanet's transition is a matrix: it refuses ``scan=log_space``)."""
    from bench.core.errors import UsageError
    from bench.core.resolve import resolve

    try:
        resolve({"model": {"arch": name, "scan": "log_space"}})
    except UsageError:
        return False
    return True


@pytest.mark.parametrize("name, eigenvalues", SIGNED)
def test_whole_sequence_and_step_by_step_agree_in_outputs_and_gradients(name, eigenvalues):
    x = torch.randn(3, 11, 5)
    core = make(name, eigenvalues=eigenvalues)
    if not element_wise(name):
        # A chunk's triangular solve rounds differently from the steps' updates, by ~1e-4 of the
        # gradients' scale in float32 with β up to 2: held in float64, where the two are one identity.
        core, x = core.double(), x.double()
    parallel = outputs_and_gradients(core, x, [11])
    core.parallel = False
    stepped = outputs_and_gradients(core, x, [4, 7])  # step mode, and the state carried across chunks
    core.parallel = True
    chunked = outputs_and_gradients(core, x, [1, 6, 4])
    for other in (stepped, chunked):
        assert torch.allclose(parallel[0], other[0], atol=1e-5)
        assert torch.allclose(parallel[1], other[1], atol=1e-5)
        for param, grad in parallel[2].items():
            assert torch.allclose(grad, other[2][param], atol=1e-4), param
    if not element_wise(name):
        return
    log_space = outputs_and_gradients(make(name, scan="log_space", eigenvalues=eigenvalues), x, [11])
    if eigenvalues == "positive":  # the loop's gradients, to rounding
        for param, grad in parallel[2].items():
            assert torch.allclose(grad, log_space[2][param], atol=1e-4), param
    # The log-space scan loses about |A_t|·ε, and d/da = d/d(log|a|) / a magnifies it where a decay is
    # near zero, which signed decays cross (2a - 1 = 0 at a = 1/2): in float32 its gradients differ from
    # the loop's by 0.03-0.07% of their scale at the median of 30 draws, up to 2.5%. That is the method's
    # price; that the method is right shows in float64, where they agree to ~1e-11.
    assert torch.allclose(parallel[0], log_space[0], atol=1e-5)
    if eigenvalues == "signed":
        exact = [outputs_and_gradients(make(name, scan=method, eigenvalues="signed").double(), x.double(), [11])
                 for method in ("loop", "log_space")]
        for want, got in zip([exact[0][1], *exact[0][2].values()], [exact[1][1], *exact[1][2].values()]):
            assert (want - got).abs().max() <= 1e-9 * want.abs().max()


@pytest.mark.parametrize("options, message", [({"r_min": 0.9, "r_max": 0.5}, "r_min=0.9 is above r_max=0.5"),
                                              ({"r_max": 0.0}, "'r_max' must be > 0.0"),
                                              ({"eigenvalues": "signed"}, "already complex")])
def test_an_lru_ring_that_cannot_be_drawn_is_a_usage_error(options, message):
    from bench.core.errors import UsageError
    from bench.core.resolve import resolve

    with pytest.raises(UsageError, match=message):
        resolve({"model": {"arch": "lru", **options}})


@pytest.mark.parametrize("name", ["mingru", "minlstm", "mamba"])
def test_signed_eigenvalues_reach_negative_decays_and_positive_ones_never_do(name):
    """Grazzi et al. 2025's change, a' = 2a - 1: the decays the recurrence runs with cover (-1, 1)."""
    seen = {}
    for eigenvalues in ("positive", "signed"):
        core = make(name, eigenvalues=eigenvalues)
        block = core.blocks[0]
        x = torch.randn(4, 9, 8) * 3
        decays = block.transition(x)[0] if hasattr(block, "transition") else block.selection(x.repeat(1, 1, 2))[0]
        seen[eigenvalues] = decays
    assert (seen["positive"] > 0).all() and (seen["positive"] < 1).all()
    assert (seen["signed"] < 0).any() and (seen["signed"] > -1).all() and (seen["signed"] < 1).all()


def test_deltanet_signed_takes_beta_to_0_2_so_its_transition_reaches_negative_eigenvalues():
    """I − β k kᵀ with a unit key has eigenvalue 1 − β along k: β in (0, 1) keeps it in (0, 1), signed's
    β in (0, 2) takes it to (−1, 1) (Grazzi et al. 2025)."""
    seen = {}
    for eigenvalues in ("positive", "signed"):
        block = make("deltanet", eigenvalues=eigenvalues).blocks[0]
        x = torch.randn(4, 9, 8) * 3
        u = torch.randn(4, 9, block.conv.in_channels)
        seen[eigenvalues] = 1 - block._heads(u, x)[3]
    assert (seen["positive"] > 0).all() and (seen["positive"] < 1).all()
    assert (seen["signed"] < 0).any() and (seen["signed"] > -1).all() and (seen["signed"] < 1).all()


def test_deltanet_refuses_a_scan_method_in_one_line():
    from bench.core.errors import UsageError
    from bench.core.resolve import resolve

    with pytest.raises(UsageError, match="deltanet: its transition is a matrix"):
        resolve({"model": {"arch": "deltanet", "scan": "loop"}})

"""The `gaussian` output kind: a mean and a log σ per value, NLL summed over a frame, MSE of the means beside it."""
import math
from types import SimpleNamespace

import torch

from bench.core.config import ModelConfig
from bench.core.metrics import LOG_STD_MIN, head_size, masked_mean_loss, per_step_loss, standard_metrics
from bench.core.network import SequenceNetwork

# One sequence, two steps, frames of k = 2 values: outputs are the 2 means, then the 2 log σ.
OUTPUTS = torch.tensor([[[0.5, -1.0, 0.0, math.log(2.0)],
                         [1.0, 2.0, math.log(0.5), 0.0]]])
TARGETS = torch.tensor([[[1.5, -1.0],
                         [0.0, 4.0]]])


def normal_nll(x: float, mean: float, std: float) -> float:
    return 0.5 * math.log(2 * math.pi) + math.log(std) + (x - mean) ** 2 / (2 * std ** 2)


def test_gaussian_nll_is_the_negative_log_density_summed_over_the_frame():
    by_hand = [normal_nll(1.5, 0.5, 1.0) + normal_nll(-1.0, -1.0, 2.0),
               normal_nll(0.0, 1.0, 0.5) + normal_nll(4.0, 2.0, 1.0)]
    assert torch.allclose(per_step_loss("gaussian", OUTPUTS, TARGETS), torch.tensor([by_hand]), rtol=1e-6)
    assert math.isclose(by_hand[0], 0.5 * math.log(2 * math.pi) + 0.5 + 0.5 * math.log(2 * math.pi) + math.log(2))


def test_the_metrics_pool_nll_per_frame_and_the_mse_of_the_means_over_scored_steps():
    mask = torch.tensor([[True, False]])  # only the first frame is scored
    metrics = standard_metrics("gaussian", OUTPUTS, TARGETS, mask)
    nll = normal_nll(1.5, 0.5, 1.0) + normal_nll(-1.0, -1.0, 2.0)
    assert math.isclose(float(metrics["loss"][0]), nll, rel_tol=1e-6) and float(metrics["loss"][1]) == 1
    assert math.isclose(float(metrics["mse"][0]), (1.0 ** 2 + 0.0 ** 2) / 2) and float(metrics["mse"][1]) == 1
    assert math.isclose(float(masked_mean_loss("gaussian", OUTPUTS, TARGETS, mask)), nll, rel_tol=1e-6)


def test_log_std_is_clamped_so_an_exact_prediction_scores_a_finite_floor():
    outputs = torch.tensor([[[0.25, 0.25, -50.0, -50.0]]])  # exact means, σ = e^-50 asked for
    loss = per_step_loss("gaussian", outputs, torch.tensor([[[0.25, 0.25]]]))
    assert math.isclose(float(loss), 2 * (0.5 * math.log(2 * math.pi) + LOG_STD_MIN), rel_tol=1e-6)
    wild = per_step_loss("gaussian", torch.tensor([[[0.0, 0.0, -50.0, -50.0]]]), torch.tensor([[[1e3, -1e3]]]))
    assert torch.isfinite(wild).all()


def test_a_gaussian_head_has_two_outputs_per_value():
    assert head_size("gaussian", 20) == 40
    assert [head_size(kind, 20) for kind in ("categorical", "bernoulli", "real")] == [20, 20, 20]
    task = SimpleNamespace(input_kind="features", input_size=20, output_kind="gaussian", output_size=20)
    network = SequenceNetwork(task, ModelConfig(arch="gru", hidden_size=8))
    outputs, _ = network(torch.zeros(3, 5, 20))
    assert outputs.shape == (3, 5, 40)

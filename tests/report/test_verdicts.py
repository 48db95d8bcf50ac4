"""Claim verdicts: clearly separated seeds reproduce a claim (and, swapped, contradict it); overlapping
seeds are inconclusive, with the seeds a settling experiment would need, as computed by hand."""
import math

import pytest

from bench.report.verdicts import judge, seeds_for_power

GATED = [8.41, 8.45, 8.43, 8.44]  # NLL: lower is better
TANH = [8.90, 8.93, 8.88, 8.95]


def test_clearly_separated_seeds_reproduce_the_claim():
    verdict = judge("gru", GATED, "vanilla", TANH, mode="min")
    assert verdict.outcome == "reproduced" and verdict.seeds_needed is None
    assert verdict.effect == pytest.approx(sum(TANH) / 4 - sum(GATED) / 4)  # oriented: positive = as claimed
    assert 0 < verdict.low < verdict.effect < verdict.high and verdict.p < 0.001
    assert verdict.sentence().startswith("reproduced: gru − vanilla advantage +0.4")


def test_the_same_seeds_swapped_contradict_it():
    verdict = judge("vanilla", TANH, "gru", GATED, mode="min")
    assert verdict.outcome == "contradicted" and verdict.high < 0 and verdict.effect < 0


def test_higher_is_better_metrics_are_oriented_the_other_way():
    assert judge("lstm", [0.99, 0.98, 1.0], "vanilla", [0.5, 0.55, 0.52], mode="max").outcome == "reproduced"
    assert judge("lstm", [0.99, 0.98, 1.0], "vanilla", [0.5, 0.55, 0.52], mode="min").outcome == "contradicted"


def test_overlapping_seeds_are_inconclusive_with_the_seeds_needed_by_hand():
    a, b = [8.40, 8.50, 8.45], [8.48, 8.52, 8.44]
    verdict = judge("gru", a, "lstm", b, mode="min")
    assert verdict.outcome == "inconclusive" and verdict.low < 0 < verdict.high
    # By hand: δ = 8.48 − 8.45 = 0.03; s_a² = 0.0025, s_b² = 0.0016, s² = 0.00205. The normal
    # approximation gives 2 (1.959964 + 0.841621)² s² / δ² = 35.76 → 36; with t quantiles at
    # df = 2·37 − 2 = 72 (t₀.₉₇₅ = 1.99346, t₀.₈ = 0.84680): 2 · 8.06707 · 0.00205 / 0.0009 = 36.75 → 37,
    # and at n = 37 the formula returns 37 again: 37 seeds each.
    assert verdict.seeds_needed == 37
    assert "≈ 37 seeds each" in verdict.sentence()


def test_few_seeds_are_not_promised_a_settled_answer_by_the_normal_approximation():
    """Two seeds each, a large effect but a wide interval: the t quantiles at df = 2n − 2 ask for more
    seeds than we have (the normal approximation would say 2, and 2 did not settle it)."""
    verdict = judge("gru", [11.30, 11.42], "tanh", [11.15, 11.22], mode="min")
    assert verdict.outcome == "inconclusive"
    assert verdict.seeds_needed > 2


def test_equal_means_need_infinitely_many_seeds_and_one_seed_gives_no_estimate():
    assert math.isinf(seeds_for_power([1.0, 2.0], [2.0, 1.0]))
    one = judge("gru", [8.4], "lstm", [8.5, 8.6], mode="min")
    assert one.outcome == "inconclusive" and math.isnan(one.low) and math.isnan(one.seeds_needed)
    assert "no interval" in one.sentence() and "too few seeds to estimate" in one.sentence()

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


# Claims over several experiments: the same verdict code combines them, and nothing else writes one.
from bench.report.verdicts import (  # noqa: E402
    gap_closed,
    judge_beats,
    judge_closes_gap,
    judge_equivalent,
    judge_most_important,
    judge_no_consistent_winner,
    seeds_for_equivalence,
)

MIN = {"jsb": "min", "nottingham": "min", "speech": "min"}


def test_a_claim_over_experiments_is_reproduced_only_where_every_experiment_that_ran_reproduces_it():
    both = judge_beats("gru beats tanh", "gru", "tanh", {"jsb": (GATED, TANH), "nottingham": (GATED, TANH)}, MIN)
    assert both.outcome == "reproduced" and both.seeds_needed is None and len(both.evidence) == 2
    one_open = judge_beats("gru beats tanh", "gru", "tanh",
                           {"jsb": (GATED, TANH), "nottingham": ([8.40, 8.50, 8.45], [8.48, 8.52, 8.44])}, MIN)
    assert one_open.outcome == "inconclusive" and one_open.seeds_needed == 37  # the open experiment's need
    against = judge_beats("gru beats tanh", "gru", "tanh", {"jsb": (GATED, TANH), "nottingham": (TANH, GATED)}, MIN)
    assert against.outcome == "contradicted"


def test_experiments_that_did_not_run_are_named_and_never_count_as_support():
    verdict = judge_beats("gru beats tanh", "gru", "tanh", {"jsb": (GATED, TANH), "musedata": "not run at this scale"},
                          MIN | {"musedata": "min"})
    assert verdict.outcome == "reproduced" and verdict.verdict_text() == "reproduced (on 1 of 2)"
    assert "musedata: not run at this scale, so not judged" in verdict.evidence
    nothing = judge_beats("gru beats tanh", "gru", "tanh", {"musedata": "not run at this scale"}, {"musedata": "min"})
    assert nothing.outcome == "inconclusive" and nothing.seeds_needed is None
    assert nothing.verdict_text() == "inconclusive (not judged: nothing it names ran)"


def test_no_consistent_winner_needs_each_side_to_win_somewhere_and_is_refuted_by_one_winning_everywhere():
    split = judge_no_consistent_winner("no winner", "gru", "lstm", {"jsb": (GATED, TANH), "nottingham": (TANH, GATED)}, MIN)
    assert split.outcome == "reproduced"
    everywhere = judge_no_consistent_winner("no winner", "gru", "lstm",
                                            {"jsb": (GATED, TANH), "nottingham": (GATED, TANH)}, MIN)
    assert everywhere.outcome == "contradicted"
    alone = judge_no_consistent_winner("no winner", "gru", "lstm", {"jsb": (GATED, TANH)}, MIN)
    assert alone.outcome == "inconclusive"  # one experiment cannot show (in)consistency
    ties = judge_no_consistent_winner("no winner", "gru", "lstm",
                                      {"jsb": ([8.40, 8.50, 8.45], [8.48, 8.52, 8.44]), "nottingham": (GATED, GATED)}, MIN)
    assert ties.outcome == "inconclusive"  # no significant difference is not evidence of a tie


def test_the_closed_fraction_of_a_gap_and_its_fieller_interval_are_computed_as_by_hand():
    # baseline 10, target 8, arm 9: the arm closes (10 − 9) / (10 − 8) = 50% (lower is better).
    closed, low, high = gap_closed([9.0, 9.0], [10.0, 10.0], [8.0, 8.0], "min")
    assert closed == pytest.approx(0.5) and low == pytest.approx(0.5) and high == pytest.approx(0.5)
    closed, _, _ = gap_closed([0.9, 0.9], [0.5, 0.5], [1.0, 1.0], "max")  # (0.9 − 0.5) / (1.0 − 0.5)
    assert closed == pytest.approx(0.8)
    # Fieller by hand: arm [9, 9.2], baseline [10, 10.2], target [8, 8.2] (each variance 0.02, n = 2):
    # X = 1, Y = 2, V_X = V_Y = 0.01 + 0.01 = 0.02, C = 0.01, t²(0.975, df 1) = 12.7062² = 161.447.
    # (4 − 3.22894)θ² − 2(2 − 1.61447)θ + (1 − 3.22894) ≤ 0, i.e. 0.771057θ² − 0.771057θ − 2.22894:
    # √(b² − 4ac) = √(0.594529 + 6.874636) = 2.733012, θ = (0.771057 ± 2.733012) / 1.542114 = 0.5 ± 1.772232.
    closed, low, high = gap_closed([9.0, 9.2], [10.0, 10.2], [8.0, 8.2], "min")
    assert closed == pytest.approx(0.5)
    assert (low, high) == (pytest.approx(0.5 - 1.772232, abs=1e-5), pytest.approx(0.5 + 1.772232, abs=1e-5))


def test_closing_most_of_the_gap_is_reproduced_clearly_and_contradicted_when_it_closes_little():
    base, target = [10.0, 10.1, 9.9, 10.05], [8.0, 8.1, 7.9, 8.05]
    most = judge_closes_gap("b1 closes", "b1", "b0", "gru", 0.5, {"jsb": ([8.2, 8.3, 8.1, 8.25], base, target)}, MIN)
    assert most.outcome == "reproduced"
    little = judge_closes_gap("b1 closes", "b1", "b0", "gru", 0.5, {"jsb": ([9.8, 9.9, 9.7, 9.85], base, target)}, MIN)
    assert little.outcome == "contradicted"
    no_gap = judge_closes_gap("b1 closes", "b1", "b0", "gru", 0.5,
                              {"jsb": ([9.0, 9.5, 8.5], [10.0, 8.0, 9.0], [9.0, 10.0, 8.0])}, MIN)
    assert no_gap.outcome == "inconclusive" and "gap itself is not established" in no_gap.evidence[0]


def test_most_important_is_decided_by_how_often_it_ranks_first_over_bootstrap_refits():
    lr_first = [{"train.lr": 0.7, "model.hidden_size": 0.2, "train.momentum": 0.1}] * 20
    assert judge_most_important("lr", "train.lr", {"jsb/lstm": lr_first}).outcome == "reproduced"
    size_first = [{"train.lr": 0.1, "model.hidden_size": 0.8, "train.momentum": 0.1}] * 20
    assert judge_most_important("lr", "train.lr", {"jsb/lstm": size_first}).outcome == "contradicted"
    mixed = lr_first[:10] + size_first[:10]
    verdict = judge_most_important("lr", "train.lr", {"jsb/lstm": mixed})
    assert verdict.outcome == "inconclusive" and "50% of 20" in verdict.evidence[0]
    assert judge_most_important("lr", "train.lr", {"jsb/lstm": None}).outcome == "inconclusive"


def test_equivalence_is_shown_by_two_one_sided_tests_and_refuted_beyond_the_margin():
    close = judge_equivalent("s", "a", "b", 0.1, {"e": ([1.00, 1.01, 0.99], [1.00, 1.005, 0.995])})
    assert close.outcome == "reproduced" and close.seeds_needed is None  # 90% CI ±0.02 inside ±0.1
    apart = judge_equivalent("s", "a", "b", 0.1, {"e": ([2.00, 2.01, 1.99], [1.00, 1.01, 0.99])})
    assert apart.outcome == "contradicted"  # the whole interval lies beyond +0.1
    tied_by_noise = judge_equivalent("s", "a", "b", 0.1, {"e": ([0.0, 0.5, 1.0], [0.1, 0.6, 0.9])})
    assert tied_by_noise.outcome == "inconclusive"  # no significant difference is not equivalence
    partial = judge_equivalent("s", "a", "b", 0.1, {"e": ([1.00, 1.01, 0.99], [1.00, 1.005, 0.995]),
                                                    "f": "not run at this scale"})
    assert partial.verdict_text() == "reproduced (on 1 of 2)" and "f: not run at this scale, so not judged" in partial.evidence


def test_seeds_for_equivalence_match_a_hand_calculation():
    # d = −0.1, s² = 0.04 on each side, margin 0.3: room 0.2, 2s²/room² = 2. Normal start:
    # (z.95 + z.8)² · 2 = (1.6449 + 0.8416)² · 2 = 12.37 → 13; t at df 24: (1.7109 + 0.8569)² · 2 =
    # 13.19 → 14; at df 26: (1.7056 + 0.8557)² · 2 = 13.12 → 14, stable.
    assert seeds_for_equivalence([0.0, 0.2, 0.4], [0.1, 0.3, 0.5], 0.3) == 14
    verdict = judge_equivalent("s", "a", "b", 0.3, {"e": ([0.0, 0.2, 0.4], [0.1, 0.3, 0.5])})
    assert verdict.outcome == "inconclusive" and verdict.seeds_needed == 14  # 90% CI [−0.448, +0.248]
    assert math.isinf(seeds_for_equivalence([0.0, 0.2], [0.5, 0.7], 0.3))  # |d| = 0.5 ≥ margin: never
    assert math.isnan(seeds_for_equivalence([0.0], [0.1, 0.2], 0.3))


def test_two_arms_that_both_fail_to_learn_are_not_called_equivalent():
    failed = judge_equivalent("s", "a", "b", 0.1, {"e": ([1.00, 1.01, 0.99], [1.00, 1.005, 0.995])},
                              unlearned={"e": "no seed of either reached the task's target (mse ≤ 0.01)"})
    assert failed.outcome == "inconclusive" and failed.seeds_needed is None and failed.needed_text() == "—"
    assert "an equivalence of failures" in failed.evidence[0]

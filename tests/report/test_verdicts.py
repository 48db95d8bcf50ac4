"""Claim verdicts: a claim is reproduced, contradicted, shown to make no practical difference (inside its
declared margin), or undecided — and an undecided one says which seeds its next look needs."""
import pytest

from bench.report.sequential import Design
from bench.report.verdicts import (
    gap_closed,
    judge_beats,
    judge_closes_gap,
    judge_equivalent,
    judge_most_important,
    judge_no_consistent_winner,
)

DESIGN = Design(3, 12, 3)  # looks at 3, 6, 9 and 12 seeds per arm
ONE_LOOK = Design(4, 4)
MIN = {"jsb": "min", "nottingham": "min", "speech": "min", "musedata": "min"}
M = {name: 0.1 for name in MIN}
GATED = dict(enumerate([8.41, 8.45, 8.43, 8.44]))  # NLL: lower is better
TANH = dict(enumerate([8.90, 8.93, 8.88, 8.95]))
NOISY_A = dict(enumerate([8.40, 8.50, 8.45, 8.55]))
NOISY_B = dict(enumerate([8.48, 8.52, 8.44, 8.60]))


def seeds(values):
    return dict(enumerate(values))


def test_clearly_separated_seeds_reproduce_the_claim_and_swapped_contradict_it():
    verdict = judge_beats("gru beats tanh", "gru", "tanh", {"jsb": (GATED, TANH)}, MIN, ONE_LOOK, M)
    assert verdict.outcome == "reproduced" and verdict.wants == ()
    (_, decision), = verdict.decisions
    assert decision.effect == pytest.approx(sum(TANH.values()) / 4 - sum(GATED.values()) / 4)  # oriented
    assert 0 < decision.low < decision.effect < decision.high and decision.test == "Welch t"
    assert "gru better by Welch t" in verdict.evidence[0] and "look 1 of 1" in verdict.evidence[0]
    swapped = judge_beats("tanh beats gru", "tanh", "gru", {"jsb": (TANH, GATED)}, MIN, ONE_LOOK, M)
    assert swapped.outcome == "contradicted"


def test_higher_is_better_metrics_are_oriented_the_other_way():
    high, low = seeds([0.99, 0.98, 1.0, 0.99]), seeds([0.5, 0.55, 0.52, 0.51])
    assert judge_beats("s", "a", "b", {"e": (high, low)}, {"e": "max"}, ONE_LOOK, {"e": 0.05}).outcome == "reproduced"
    assert judge_beats("s", "a", "b", {"e": (high, low)}, {"e": "min"}, ONE_LOOK, {"e": 0.05}).outcome == "contradicted"


def test_a_difference_shown_to_be_inside_the_margin_is_no_practical_difference_not_a_win():
    a = seeds([8.400, 8.401, 8.399, 8.400])
    b = seeds([8.410, 8.411, 8.409, 8.410])  # a better by 0.01, significantly, but the margin is 0.1
    verdict = judge_beats("a beats b", "a", "b", {"jsb": (a, b)}, MIN, ONE_LOOK, M)
    assert verdict.outcome == "no practical difference"
    assert "two one-sided tests" in verdict.evidence[0]


def test_an_open_comparison_asks_both_arms_for_the_next_look_and_at_the_cap_says_what_would_decide_it():
    open_ = judge_beats("gru beats lstm", "gru", "lstm", {"jsb": (seeds([8.40, 8.50, 8.45]), seeds([8.48, 8.52, 8.44]))},
                        MIN, DESIGN, {"jsb": 0.02})
    assert open_.outcome == "undecided" and set(open_.wants) == {("jsb", "gru", 6), ("jsb", "lstm", 6)}
    assert open_.needed_text() == "next look: 6 seeds per arm" and "looks still to come on jsb" in open_.why
    rng = __import__("numpy").random.default_rng(0)
    wide_a, wide_b = seeds(8.4 + 0.3 * rng.standard_normal(12)), seeds(8.4 + 0.3 * rng.standard_normal(12))
    capped = judge_beats("gru beats lstm", "gru", "lstm", {"jsb": (wide_a, wide_b)}, MIN, DESIGN, {"jsb": 0.02})
    assert capped.outcome == "undecided" and capped.wants == ()
    (_, decision), = capped.decisions
    assert decision.look == 4 and decision.seeds_to_decide > 12
    assert "per arm (fixed design, against the margin)" in capped.needed_text() and "at the cap" in capped.why


def test_a_claim_over_experiments_is_reproduced_only_where_every_experiment_reproduces_it():
    both = judge_beats("s", "gru", "tanh", {"jsb": (GATED, TANH), "nottingham": (GATED, TANH)}, MIN, ONE_LOOK, M)
    assert both.outcome == "reproduced" and len(both.evidence) == 2
    against = judge_beats("s", "gru", "tanh", {"jsb": (GATED, TANH), "nottingham": (TANH, GATED)}, MIN, ONE_LOOK, M)
    assert against.outcome == "contradicted"
    alike = {"jsb": (GATED, TANH), "nottingham": (GATED, seeds([8.41, 8.45, 8.43, 8.44]))}
    assert judge_beats("s", "gru", "tanh", alike, MIN, ONE_LOOK, M).outcome == "no practical difference"
    still_open = judge_beats("s", "gru", "tanh", {"jsb": (GATED, TANH), "nottingham": (NOISY_A, NOISY_B)}, MIN,
                             Design(4, 8, 4), M)
    assert still_open.outcome == "undecided" and {w[0] for w in still_open.wants} == {"nottingham"}


def test_experiments_that_did_not_run_are_named_and_never_count_as_support():
    verdict = judge_beats("s", "gru", "tanh", {"jsb": (GATED, TANH), "musedata": "not run at this scale"}, MIN,
                          ONE_LOOK, M)
    assert verdict.outcome == "reproduced" and verdict.verdict_text() == "reproduced (on 1 of 2)"
    assert "musedata: not run at this scale, so not judged" in verdict.evidence
    nothing = judge_beats("s", "gru", "tanh", {"musedata": "not run at this scale"}, MIN, ONE_LOOK, M)
    assert nothing.verdict_text() == "undecided (not judged: nothing it names ran)"


def test_no_consistent_winner_is_shown_by_a_split_or_by_no_practical_difference_and_refuted_by_one_winning_everywhere():
    split = judge_no_consistent_winner("s", "gru", "lstm", {"jsb": (GATED, TANH), "nottingham": (TANH, GATED)}, MIN,
                                       ONE_LOOK, M)
    assert split.outcome == "reproduced"
    same = judge_no_consistent_winner("s", "gru", "lstm", {"jsb": (GATED, TANH), "nottingham": (GATED, GATED)}, MIN,
                                      ONE_LOOK, M)
    assert same.outcome == "reproduced"  # nottingham: no practical difference, so gru does not win everywhere
    everywhere = judge_no_consistent_winner("s", "gru", "lstm", {"jsb": (GATED, TANH), "nottingham": (GATED, TANH)},
                                            MIN, ONE_LOOK, M)
    assert everywhere.outcome == "contradicted"
    alone = judge_no_consistent_winner("s", "gru", "lstm", {"jsb": (GATED, TANH)}, MIN, ONE_LOOK, M)
    assert alone.outcome == "undecided"  # one experiment cannot show consistency


def test_the_closed_fraction_of_a_gap_and_its_fieller_interval_are_computed_as_by_hand():
    closed, low, high = gap_closed([9.0, 9.0], [10.0, 10.0], [8.0, 8.0], "min")
    assert closed == pytest.approx(0.5) and low == pytest.approx(0.5) and high == pytest.approx(0.5)
    closed, _, _ = gap_closed([0.9, 0.9], [0.5, 0.5], [1.0, 1.0], "max")  # (0.9 − 0.5) / (1.0 − 0.5)
    assert closed == pytest.approx(0.8)
    # Fieller by hand: arm [9, 9.2], baseline [10, 10.2], target [8, 8.2] (each variance 0.02, n = 2):
    # X = 1, Y = 2, V_X = V_Y = 0.02, C = 0.01, t²(0.975, df 1) = 161.447; θ = 0.5 ± 1.772232.
    closed, low, high = gap_closed([9.0, 9.2], [10.0, 10.2], [8.0, 8.2], "min")
    assert closed == pytest.approx(0.5)
    assert (low, high) == (pytest.approx(0.5 - 1.772232, abs=1e-5), pytest.approx(0.5 + 1.772232, abs=1e-5))


def test_closing_most_of_the_gap_is_reproduced_closing_little_contradicted_and_no_gap_is_no_practical_difference():
    base, target = seeds([10.0, 10.1, 9.9, 10.05]), seeds([8.0, 8.1, 7.9, 8.05])
    most = judge_closes_gap("s", "b1", "b0", "gru", 0.5, {"jsb": (seeds([8.2, 8.3, 8.1, 8.25]), base, target)}, MIN,
                            ONE_LOOK, M)
    assert most.outcome == "reproduced"
    little = judge_closes_gap("s", "b1", "b0", "gru", 0.5, {"jsb": (seeds([9.8, 9.9, 9.7, 9.85]), base, target)}, MIN,
                              ONE_LOOK, M)
    assert little.outcome == "contradicted"
    flat = seeds([10.0, 10.01, 9.99, 10.0])
    no_gap = judge_closes_gap("s", "b1", "b0", "gru", 0.5, {"jsb": (flat, flat, seeds([10.0, 10.0, 10.01, 9.99]))},
                              MIN, ONE_LOOK, M)
    assert no_gap.outcome == "no practical difference" and "no gap to close" in no_gap.evidence[0]
    reversed_ = judge_closes_gap("s", "b1", "b0", "gru", 0.5, {"jsb": (base, target, base)}, MIN, ONE_LOOK, M)
    assert reversed_.outcome == "contradicted" and "the gap runs the other way" in reversed_.evidence[0]


def test_equivalence_is_shown_inside_the_margin_and_refuted_only_significantly_beyond_it():
    close = judge_equivalent("s", "a", "b", {"e": (seeds([1.00, 1.01, 0.99, 1.0]), seeds([1.00, 1.005, 0.995, 1.0]))},
                             {"e": "min"}, ONE_LOOK, {"e": 0.1})
    assert close.outcome == "reproduced"
    apart = judge_equivalent("s", "a", "b", {"e": (seeds([2.00, 2.01, 1.99, 2.0]), seeds([1.00, 1.01, 0.99, 1.0]))},
                             {"e": "min"}, ONE_LOOK, {"e": 0.1})
    assert apart.outcome == "contradicted"
    just_beyond = judge_equivalent("s", "a", "b", {"e": (seeds([0.0, 0.5, 1.0, 0.3]), seeds([0.1, 0.6, 0.9, 0.2]))},
                                   {"e": "min"}, ONE_LOOK, {"e": 0.1})
    assert just_beyond.outcome == "undecided"  # no significant difference is not equivalence


def test_two_arms_that_both_fail_to_learn_are_not_called_equivalent():
    failed = judge_equivalent("s", "a", "b", {"e": (seeds([1.00, 1.01, 0.99, 1.0]), seeds([1.00, 1.005, 0.995, 1.0]))},
                              {"e": "min"}, ONE_LOOK, {"e": 0.1},
                              unlearned={"e": "no seed of either reached the task's target (mse ≤ 0.01)"})
    assert failed.outcome == "undecided" and failed.wants == ()
    assert "an equivalence of failures" in failed.evidence[-1] and "a longer training budget" in failed.why


def test_success_claims_compare_rates_of_seeds_that_met_the_target():
    solved, failed = seeds([1.0] * 12), seeds([0.0] * 12)
    verdict = judge_beats("ntm beats lstm", "ntm", "lstm", {"copy": (solved, failed)}, {"copy": "max"}, DESIGN,
                          {"copy": 0.5}, "success")
    assert verdict.outcome == "reproduced" and "successes" in verdict.evidence[0] and "P(A > B)" in verdict.evidence[0]


def test_most_important_is_decided_by_how_often_it_ranks_first_over_bootstrap_refits():
    lr_first = [{"train.lr": 0.7, "model.hidden_size": 0.2, "train.momentum": 0.1}] * 20
    assert judge_most_important("lr", "train.lr", {"jsb/lstm": lr_first}).outcome == "reproduced"
    size_first = [{"train.lr": 0.1, "model.hidden_size": 0.8, "train.momentum": 0.1}] * 20
    assert judge_most_important("lr", "train.lr", {"jsb/lstm": size_first}).outcome == "contradicted"
    verdict = judge_most_important("lr", "train.lr", {"jsb/lstm": lr_first[:10] + size_first[:10]})
    assert verdict.outcome == "undecided" and "50% of 20" in verdict.evidence[0]


def test_a_looks_confidence_is_written_as_a_reader_writes_it():
    from bench.report.verdicts import confidence

    assert [confidence(x) for x in (0.05, 0.01, 0.001, 1.6e-5, 0.0424, 0.00305)] == [
        "95%", "99%", "99.9%", "99.998%", "95.8%", "99.7%"]


def test_a_decided_claim_does_not_promise_its_open_experiments_another_look():
    alike = (seeds([8.4, 8.4, 8.4]), seeds([8.4, 8.4, 8.4]))  # constant and equal: alike at the first look
    open_pair = (seeds([8.40, 8.50, 8.45]), seeds([8.48, 8.52, 8.44]))
    verdict = judge_no_consistent_winner("s", "gru", "lstm", {"jsb": alike, "speech": open_pair}, MIN, DESIGN,
                                         {"jsb": 0.1, "speech": 0.02})
    assert verdict.outcome == "reproduced" and verdict.wants == ()
    speech = next(e for e in verdict.evidence if e.startswith("speech"))
    assert "not looked at again: the claim was decided" in speech and "the next look" not in speech

"""bench.report.stats against values computed by hand (formulas written out in the comments)."""
from __future__ import annotations

import math

import pytest

from bench.report import stats

A = [1.0, 2.0, 3.0, 4.0, 5.0]
B = [2.0, 4.0, 6.0]


def test_mean_and_t_interval_match_hand_computation():
    # mean 3; s² = (4+1+0+1+4)/4 = 2.5; t(0.975, 4) = 2.776445 (tables);
    # half-width = 2.776445 · √2.5 / √5 = 2.776445 · 0.7071068 = 1.963243
    interval = stats.t_interval(A)
    assert stats.mean(A) == 3.0
    assert interval.n == 5 and interval.sd == pytest.approx(math.sqrt(2.5))
    assert interval.low == pytest.approx(3 - 1.963243, abs=1e-6)
    assert interval.high == pytest.approx(3 + 1.963243, abs=1e-6)
    # 90%: t(0.95, 4) = 2.131847 → half-width 1.507443
    assert stats.t_interval(A, confidence=0.90).half_width == pytest.approx(1.507443, abs=1e-6)


def test_interval_of_one_value_is_unknown_and_of_constants_is_a_point():
    one = stats.t_interval([0.7])
    assert one.mean == 0.7 and one.n == 1 and math.isnan(one.low) and math.isnan(one.high)
    constant = stats.t_interval([0.5, 0.5, 0.5])
    assert (constant.low, constant.high, constant.sd) == (0.5, 0.5, 0.0)
    assert stats.t_interval([1.0, float("nan"), 3.0]).n == 2  # NaNs (e.g. a missing metric) are dropped


def test_welch_statistic_degrees_of_freedom_and_difference_interval_match_hand_computation():
    # diff = 3 − 4 = −1; se² = 2.5/5 + 4/3 = 1.833333; t = −1/1.354006 = −0.738549
    # df = 1.833333² / (0.5²/4 + 1.333333²/2) = 3.361111 / 0.951389 = 3.532847
    diff, low, high, t_value, df = stats.welch(A, B)
    assert diff == -1.0
    assert t_value == pytest.approx(-0.738549, abs=1e-6)
    assert df == pytest.approx(3.532847, abs=1e-6)
    half = stats.t_quantile(0.975, df) * math.sqrt(1.833333333)
    assert (low, high) == (pytest.approx(-1 - half), pytest.approx(-1 + half))
    assert 3.0 < half < 4.5  # t(0.975, 3.53) ≈ 2.9 (between the df=3 and df=4 table values 3.182, 2.776)
    comparison = stats.compare(A, B)
    assert comparison.p == pytest.approx(stats.t_two_sided_p(-0.738549, 3.532847), abs=1e-6)
    assert 0.5 < comparison.p < 0.55 and not comparison.significant()
    from scipy.stats import ttest_ind  # an independent implementation agrees

    assert comparison.p == pytest.approx(ttest_ind(A, B, equal_var=False).pvalue)


def test_exact_permutation_p_counts_relabellings_by_hand():
    # [1,2,3] vs [4,5,6]: of the C(6,3) = 20 relabellings only the observed one and its mirror reach
    # |diff| = 3, so p = 2/20.
    assert stats.permutation_test([1, 2, 3], [4, 5, 6]) == pytest.approx(0.1)
    # [1,2] vs [3,4]: |diff| per relabelling {12}:2 {34}:2 {13}:1 {24}:1 {14}:0 {23}:0 → p = 2/6
    assert stats.permutation_test([1, 2], [3, 4]) == pytest.approx(1 / 3)
    assert stats.smallest_permutation_p(3, 3) == pytest.approx(0.1)
    # Identical groups: every relabelling is at least as extreme.
    assert stats.permutation_test([1, 1], [1, 1]) == 1.0


def test_large_samples_use_a_seeded_monte_carlo_permutation():
    a = [float(i) for i in range(20)]
    b = [float(i) + 0.5 for i in range(20)]
    p = stats.permutation_test(a, b, max_exact=100, rounds=2000)
    assert p == stats.permutation_test(a, b, max_exact=100, rounds=2000)  # seeded
    assert p == pytest.approx(stats.compare(a, b).p, abs=0.03)  # close to Welch's p (0.79) here


def test_degenerate_comparisons_say_what_is_known():
    few = stats.compare([0.5], [0.4, 0.6])
    assert math.isnan(few.p) and math.isnan(few.low) and few.diff == pytest.approx(0.0)
    separated = stats.compare([1.0, 1.0], [0.0, 0.0])  # constant groups: the difference is exact
    assert separated.p == 0.0 and separated.low == separated.high == 1.0 and separated.significant()
    same = stats.compare([0.0, 0.0], [0.0, 0.0])
    assert same.p == 1.0 and not same.significant()

"""The tests a look applies are statsmodels' and scipy's, and the seed counts are statsmodels' power
solution rounded up — checked here against the libraries and against the power they promise."""
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.power import TTestIndPower
from statsmodels.stats.weightstats import ttost_ind

from bench.report.twosample import seeds_for_equivalence, seeds_for_power, seeds_to_decide, success_look, welch_look

EFFECTS = [round(x, 3) for x in np.linspace(0.2, 5.0, 49)]


@pytest.mark.parametrize("effect", EFFECTS)
def test_seeds_for_power_is_statsmodels_noncentral_t_answer_rounded_up(effect):
    n = seeds_for_power(effect)
    assert n == max(2, math.ceil(TTestIndPower().solve_power(effect_size=effect, alpha=0.05, power=0.8)))
    power = TTestIndPower().power
    assert power(effect, n, 0.05) >= 0.8 - 1e-9  # enough ...
    if n > 2:
        assert power(effect, n - 1, 0.05) < 0.8  # ... and not one more than needed


def test_the_old_oscillation_is_gone_effect_4_sd_needs_3_seeds_not_2():
    """Effect / sd = 4: two seeds each have 56% power (noncentral t), three are needed."""
    assert TTestIndPower().power(4.0, 2, 0.05) == pytest.approx(0.56, abs=0.02)
    assert seeds_for_power(4.0) == 3


@pytest.mark.parametrize("effect", [10.0, 1e4])
def test_an_effect_two_seeds_already_detect_needs_two_seeds_where_the_solver_finds_no_root(effect):
    """Two seeds each have over 99% power at 10 sd; statsmodels' solver, searching above 2, returns NaN."""
    assert TTestIndPower().power(effect, 2, 0.05) > 0.99
    assert seeds_for_power(effect) == 2
    assert seeds_to_decide([0.5, 0.5 + 1e-6], [0.9, 0.9 + 1e-6], 0.05, "welch") == 2  # seeds that barely differ


@pytest.mark.parametrize("size", [0.75, 1.5])
def test_seeds_for_equivalence_give_tost_its_power_when_there_is_no_difference(size):
    """By simulation with statsmodels' TOST: at the returned n, equal arms are shown equivalent within
    ±size·σ in at least 80% of samples (less Monte Carlo error); with a third fewer seeds, clearly less."""
    n = seeds_for_equivalence(size)
    rng = np.random.default_rng(5)

    def power(seeds: int) -> float:
        shown = sum(ttost_ind(rng.normal(0, 1, seeds), rng.normal(0, 1, seeds), -size, size, usevar="unequal")[0] < 0.05
                    for _ in range(2000))
        return shown / 2000

    assert power(n) >= 0.8 - 2 * math.sqrt(0.16 / 2000)
    assert power(max(2, round(n * 2 / 3))) < 0.8


def test_seeds_to_decide_are_against_the_margin_never_the_observed_effect():
    a, b = [1.0, 1.1, 0.9, 1.05], [1.0, 1.1, 0.9, 1.05]  # observed effect exactly 0
    sd = float(np.std(a, ddof=1))
    need = seeds_to_decide(a, b, margin=sd, test="welch")
    assert math.isfinite(need)  # the old rule said ∞ (the observed effect is 0)
    assert need == max(seeds_for_power(1.0), seeds_for_equivalence(1.0))
    assert math.isnan(seeds_to_decide([1.0], [1.0, 2.0], 1.0, "welch"))


def test_welch_look_is_statsmodels_welch_and_tost():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b = rng.normal(0.3, 1.0, 6), rng.normal(0.0, 1.5, 5)
        look = welch_look(list(a), list(b), margin=1.0, level=0.01, same_level=0.05)
        assert look.p == pytest.approx(scipy_stats.ttest_ind(a, b, equal_var=False).pvalue)
        assert look.p_same == pytest.approx(ttost_ind(a, b, -1.0, 1.0, usevar="unequal")[0])
        # the interval is Welch's at 1 − level
        se = math.sqrt(a.var(ddof=1) / 6 + b.var(ddof=1) / 5)
        df = se ** 4 / ((a.var(ddof=1) / 6) ** 2 / 5 + (b.var(ddof=1) / 5) ** 2 / 4)
        half = scipy_stats.t.ppf(1 - 0.005, df) * se
        assert (look.low, look.high) == (pytest.approx(a.mean() - b.mean() - half), pytest.approx(a.mean() - b.mean() + half))


def test_constant_arms_are_compared_exactly():
    apart = welch_look([1.0, 1.0], [0.0, 0.0], margin=0.5, level=0.05, same_level=0.05)
    assert apart.p == 0 and apart.p_same == 1 and apart.low == apart.high == 1.0
    alike = welch_look([1.0, 1.0], [1.0, 1.0], margin=0.5, level=0.05, same_level=0.05)
    assert alike.p == 1 and alike.p_same == 0


def test_success_rates_are_compared_by_newcombes_interval_even_at_0_and_n():
    clear = success_look([1.0] * 8, [0.0] * 8, margin=0.5, level=0.05, same_level=0.05)
    assert clear.p == 0 and clear.low > 0 and "P(A > B) = 1.00" in clear.detail
    both_fail = success_look([0.0] * 12, [0.0] * 12, margin=0.5, level=0.05, same_level=0.05)
    assert both_fail.p == 1 and both_fail.p_same == 0 and both_fail.effect == 0  # within ±0.5: alike
    few = success_look([1.0, 0.0, 1.0], [0.0, 1.0, 0.0], margin=0.5, level=0.05, same_level=0.05)
    assert few.p == 1 and few.p_same == 1  # three seeds each decide nothing

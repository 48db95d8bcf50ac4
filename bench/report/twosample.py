"""The two-sample tests a look applies, taken from statsmodels, and the seeds a fixed design would need.

Two kinds of metric, two tests, chosen by the claim before anything runs (never by the data):

* **welch** — a continuous metric (NLL, MSE, accuracy that moves smoothly): Welch's t-test of the
  difference of means (``statsmodels.stats.weightstats.ttest_ind(usevar="unequal")``), its interval
  (``CompareMeans.tconfint_diff``) and two one-sided tests for equivalence within the margin
  (``ttost_ind(usevar="unequal")``). Welch, because two architectures rarely spread alike over seeds.
* **success** — a metric that is bimodal over seeds (a seed solves the task or sits at chance): a t
  interval on {1, 1, 0.5} says little, so each seed counts as a success when it meets the task's
  target, and the arms are compared by their success rates. For 0/1 outcomes the probability of
  improvement (Agarwal et al. 2021; Bouthillier et al. 2021), P(A > B) + ½·P(A = B), equals
  ½ + (p_A − p_B)/2, so its interval is that of the difference of rates: Newcombe's hybrid score
  interval (``confint_proportions_2indep(method="newcomb")``), which keeps its coverage at 0/n and
  n/n where Wald and score inversions fail. Decisions invert that interval (two-sided 1 − level for
  a difference; 1 − 2·level within ±margin for equivalence, as two one-sided tests do).

Values arrive oriented (higher is better for A), so a positive effect is A's advantage.
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence

import numpy as np
from statsmodels.stats import proportion, weightstats
from statsmodels.stats.power import TTestIndPower

POWER = 0.8


@dataclasses.dataclass(frozen=True)
class LookResult:
    effect: float
    low: float
    high: float
    """Two-sided interval of the effect at 1 − ``level``."""
    p: float
    """Two-sided p of "no difference"."""
    p_same: float
    """p of two one-sided tests of "|difference| ≥ margin" (small: within the margin)."""
    same_low: float
    same_high: float
    """The interval two one-sided tests at ``same_level`` invert: 1 − 2·``same_level``, inside ±margin
    exactly when they find no practical difference."""
    test: str
    test_same: str
    detail: str = ""


def welch_look(a: Sequence[float], b: Sequence[float], margin: float, level: float, same_level: float) -> LookResult:
    """Welch's t, its interval at 1 − ``level`` and TOST within ±``margin`` (statsmodels)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    effect = float(x.mean() - y.mean())
    if x.var(ddof=1) == 0 and y.var(ddof=1) == 0:  # both constant: the difference is exact
        return LookResult(effect, effect, effect, 0.0 if effect else 1.0, 0.0 if abs(effect) < margin else 1.0,
                          effect, effect, "Welch t (both arms constant: exact)",
                          "two one-sided tests (both arms constant: exact)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _, p, _ = weightstats.ttest_ind(x, y, usevar="unequal")
        compared = weightstats.CompareMeans(weightstats.DescrStatsW(x), weightstats.DescrStatsW(y))
        low, high = compared.tconfint_diff(alpha=level, usevar="unequal")
        same_low, same_high = compared.tconfint_diff(alpha=2 * same_level, usevar="unequal")
        p_same = weightstats.ttost_ind(x, y, -margin, margin, usevar="unequal")[0]
    return LookResult(effect, float(low), float(high), float(p), float(p_same), float(same_low), float(same_high),
                      "Welch t", "two one-sided tests (Welch)")


def success_look(a: Sequence[float], b: Sequence[float], margin: float, level: float, same_level: float) -> LookResult:
    """Success rates (values are 0/1) compared by Newcombe's interval of their difference: a
    difference when the 1 − ``level`` interval excludes 0, no practical difference when the
    1 − 2·``same_level`` interval lies inside ±``margin``. The p-values returned are those two
    decisions restated (0 or 1 against the level), since only the interval is computed."""
    wins_a, wins_b, n_a, n_b = int(sum(a)), int(sum(b)), len(a), len(b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = proportion.confint_proportions_2indep(wins_a, n_a, wins_b, n_b, method="newcomb", alpha=level)
        same_low, same_high = proportion.confint_proportions_2indep(wins_a, n_a, wins_b, n_b, method="newcomb",
                                                                    alpha=2 * same_level)
    effect = wins_a / n_a - wins_b / n_b
    differs = low > 0 or high < 0
    within = -margin < same_low and same_high < margin
    improvement = 0.5 + effect / 2
    detail = (f"successes {wins_a}/{n_a} vs {wins_b}/{n_b}; P(A > B) = {improvement:.2f} "
              f"[{0.5 + low / 2:.2f}, {0.5 + high / 2:.2f}]")
    return LookResult(effect, float(low), float(high), 0.0 if differs else 1.0, 0.0 if within else 1.0,
                      float(same_low), float(same_high), "success rates (Newcombe interval)", "success rates within the margin (Newcombe interval)",
                      detail)


def seeds_for_power(effect_size: float, alpha: float = 0.05, power: float = POWER) -> int:
    """Seeds per arm for a two-sided t-test at ``alpha`` to detect a standardised difference
    ``effect_size`` (difference / sd) with ``power``: statsmodels' noncentral-t solution, rounded up."""
    if effect_size == 0 or not math.isfinite(effect_size):
        raise ValueError("the effect size must be finite and non-zero")
    solver = TTestIndPower()
    if solver.power(effect_size=abs(effect_size), nobs1=2, alpha=alpha, ratio=1.0) >= power:
        return 2  # the fewest seeds a t-test takes already suffice; the solver finds no root below them (NaN)
    n = solver.solve_power(effect_size=abs(effect_size), alpha=alpha, power=power, ratio=1.0)
    return max(2, math.ceil(float(n) - 1e-9))


def seeds_for_equivalence(margin_size: float, alpha: float = 0.05, power: float = POWER) -> int:
    """Seeds per arm for two one-sided tests at ``alpha`` each to show equivalence within ±margin
    (``margin_size`` = margin / sd) with ``power`` when the true difference is 0: both one-sided
    tests must pass, each a one-sided t-test at ``alpha`` against a shift of one margin; requiring
    each with power (1 + power)/2 (Chow, Shao & Wang 2008, §3.2) is the two-sided t-test at 2·alpha."""
    return seeds_for_power(margin_size, alpha=2 * alpha, power=(1 + power) / 2)


def seeds_to_decide(a: Sequence[float], b: Sequence[float], margin: float, test: str) -> float:
    """Seeds per arm a fixed design would need to decide this comparison either way: 80% power to
    show a difference of one margin, and 80% to show no practical difference when there is none —
    both against the margin declared beforehand, never the observed effect (Hoenig & Heisey 2001).
    The spread is the arms' pooled sd (for success rates, that of the pooled rate). NaN when the
    spread is unknown (fewer than 2 seeds) or zero."""
    if len(a) < 2 or len(b) < 2 or margin <= 0:
        return math.nan
    if test == "success":
        rate = (sum(a) + sum(b)) / (len(a) + len(b))
        sd = math.sqrt(max(rate * (1 - rate), 0.25 * 0.25))  # a rate at 0 or 1 still has sampling spread
    else:
        sd = math.sqrt((float(np.var(a, ddof=1)) + float(np.var(b, ddof=1))) / 2)
    if not sd > 0:
        return math.nan
    return float(max(seeds_for_power(margin / sd), seeds_for_equivalence(margin / sd)))

"""The statistics behind "which architecture, how sure?" — the only numbers a report computes itself.

A benchmark has few seeds (3–5), so every interval and test here is one meant for small samples:

* :func:`t_interval` — mean ± Student-t half-width, the usual 95% CI of a mean over seeds;
* :func:`welch` — Welch's t-test and the CI of a difference of means, which does not assume the two
  architectures have the same spread across seeds (they rarely do: one may solve a task on some seeds
  and sit at chance on others);
* :func:`permutation_test` — exact (all relabellings) when that is affordable, so its p-value needs no
  normality at all; with 3 vs 3 seeds the smallest attainable p is 2/20 = 0.1, which is worth saying.

scipy supplies only the t distribution's quantiles and tail; the formulas are written out so the tests
can check them against values computed by hand.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import random
from collections.abc import Sequence

from scipy.stats import t

ALPHA = 0.05


@dataclasses.dataclass(frozen=True)
class Interval:
    """A mean over ``n`` values with its ``confidence`` interval [low, high] and sample sd."""

    mean: float
    low: float
    high: float
    n: int
    sd: float
    confidence: float = 0.95

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Mean of a minus mean of b, its CI (Welch), Welch's t, df and two-sided p, and the permutation p."""

    diff: float
    low: float
    high: float
    t: float
    df: float
    p: float
    p_permutation: float
    n_a: int
    n_b: int

    def significant(self, alpha: float = ALPHA) -> bool:
        """Significant only if Welch's test says so (the permutation p is reported beside it)."""
        return math.isfinite(self.p) and self.p < alpha


def _clean(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def mean(values: Sequence[float]) -> float:
    values = _clean(values)
    return math.fsum(values) / len(values) if values else math.nan


def sample_variance(values: Sequence[float]) -> float:
    """Unbiased (n − 1) variance; NaN for fewer than two values."""
    values = _clean(values)
    if len(values) < 2:
        return math.nan
    m = mean(values)
    return math.fsum((v - m) ** 2 for v in values) / (len(values) - 1)


def t_quantile(probability: float, df: float) -> float:
    return float(t.ppf(probability, df))


def t_two_sided_p(t_value: float, df: float) -> float:
    return float(2 * t.sf(abs(t_value), df))


def t_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """mean ± t_{(1+c)/2, n−1} · s/√n. One value: the interval is unknown (NaN bounds)."""
    values = _clean(values)
    n = len(values)
    m = mean(values)
    if n < 2:
        return Interval(m, math.nan, math.nan, n, math.nan, confidence)
    sd = math.sqrt(sample_variance(values))
    half = t_quantile((1 + confidence) / 2, n - 1) * sd / math.sqrt(n)
    return Interval(m, m - half, m + half, n, sd, confidence)


def welch(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float, float, float]:
    """Welch's test of mean(a) = mean(b): (diff, low, high, t, df) with the CI of the difference.

    se² = s_a²/n_a + s_b²/n_b; df by Welch–Satterthwaite, se⁴ / Σ (s_i²/n_i)² / (n_i − 1).
    Both groups constant: the difference is exact (zero-width CI), t is ±inf (0 if equal), df NaN.
    """
    a, b = _clean(a), _clean(b)
    diff = mean(a) - mean(b)
    if len(a) < 2 or len(b) < 2:
        return diff, math.nan, math.nan, math.nan, math.nan
    va, vb = sample_variance(a) / len(a), sample_variance(b) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff, (0.0 if diff == 0 else math.copysign(math.inf, diff)), math.nan
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = t_quantile((1 + confidence) / 2, df) * se
    return diff, diff - half, diff + half, diff / se, df


def permutation_test(a: Sequence[float], b: Sequence[float], max_exact: int = 20000, rounds: int = 20000,
                     seed: int = 0) -> float:
    """Two-sided p of |mean(a) − mean(b)| under random relabelling of the pooled values.

    Exact over all C(n_a + n_b, n_a) relabellings when there are at most ``max_exact`` of them (the
    observed one included, so p ≥ 1/C); otherwise ``rounds`` random relabellings with a fixed seed
    and the (k + 1)/(rounds + 1) estimate.
    """
    a, b = _clean(a), _clean(b)
    if not a or not b:
        return math.nan
    pooled, n_a = a + b, len(a)
    total = math.fsum(pooled)
    observed = abs(mean(a) - mean(b))
    tolerance = 1e-12 * max(1.0, observed)

    def statistic(sum_a: float) -> float:
        return abs(sum_a / n_a - (total - sum_a) / len(b))

    if math.comb(len(pooled), n_a) <= max_exact:
        hits = count = 0
        for chosen in itertools.combinations(range(len(pooled)), n_a):
            count += 1
            hits += statistic(math.fsum(pooled[i] for i in chosen)) >= observed - tolerance
        return hits / count
    rng = random.Random(seed)
    hits = 0
    for _ in range(rounds):
        sample = rng.sample(pooled, n_a)
        hits += statistic(math.fsum(sample)) >= observed - tolerance
    return (hits + 1) / (rounds + 1)


def compare(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Comparison:
    """Everything a pairwise row shows: difference, its CI, Welch's t/df/p, permutation p."""
    diff, low, high, t_value, df = welch(a, b, confidence)
    if math.isnan(t_value):
        p = math.nan
    elif math.isinf(t_value):
        p = 0.0
    elif math.isnan(df):  # both constant and equal
        p = 1.0
    else:
        p = t_two_sided_p(t_value, df)
    return Comparison(diff, low, high, t_value, df, p, permutation_test(a, b), len(_clean(a)), len(_clean(b)))


def smallest_permutation_p(n_a: int, n_b: int) -> float:
    """The smallest two-sided p an exact permutation test can give with these sample sizes."""
    if not n_a or not n_b:
        return math.nan
    return (2 if n_a == n_b else 1) / math.comb(n_a + n_b, n_a)

"""Verdicts on claims of the form "A beats B": reproduced, contradicted or inconclusive — and, when
inconclusive, how many seeds would settle it.

A published comparison states claims such as "gated units beat tanh on JSB". Our runs give a few
seeds per architecture; the verdict says what those seeds support, and nothing else writes one:

* **reproduced** — Welch's 95% interval of the difference (A − B, oriented so that positive means A
  is better) lies entirely above 0;
* **contradicted** — it lies entirely below 0 (B is significantly better);
* **inconclusive** — it contains 0 (or there are too few seeds for an interval). The report then
  says how many seeds per architecture a two-sided test at α = 0.05 would need to detect the
  observed difference with 80% power, by the normal approximation
  n = 2·(z₀.₉₇₅ + z₀.₈)²·s²/δ², with s² the average of the two sample variances and δ the observed
  difference — a planning figure, which assumes the observed effect is the true one.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Literal

from scipy.stats import norm

from bench.report import stats

Outcome = Literal["reproduced", "contradicted", "inconclusive"]
POWER = 0.8


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What the seeds say about "``better`` beats ``worse``"."""

    outcome: Outcome
    better: str
    worse: str
    effect: float
    """Mean advantage of ``better`` over ``worse`` (positive: as claimed), in the metric's unit."""
    low: float
    high: float
    """Welch's 95% interval of ``effect`` (NaN with fewer than 2 seeds on a side)."""
    p: float
    n_better: int
    n_worse: int
    seeds_needed: float | None
    """Inconclusive only: seeds per architecture for 80% power at the observed effect (inf: none seen)."""

    def sentence(self) -> str:
        """One line for a report."""
        interval = (f"95% CI [{self.low:+.4g}, {self.high:+.4g}]" if math.isfinite(self.low) else "no interval")
        text = (f"{self.outcome}: {self.better} − {self.worse} advantage {self.effect:+.4g} ({interval}, "
                f"Welch p = {self.p:.3g}; n = {self.n_better} vs {self.n_worse})")
        if self.seeds_needed is not None:
            need = ("no difference observed" if math.isinf(self.seeds_needed) else
                    "too few seeds to estimate (2 each at least)" if math.isnan(self.seeds_needed) else
                    f"≈ {self.seeds_needed:.0f} seeds each")
            text += f"; to detect this effect with 80% power: {need}"
        return text


def seeds_for_power(a: Sequence[float], b: Sequence[float], alpha: float = stats.ALPHA, power: float = POWER) -> float:
    """Seeds per side for a two-sided test at ``alpha`` to detect the observed difference with ``power``
    (normal approximation, see the module docstring); inf when the means are equal, NaN with fewer
    than 2 values on a side."""
    if len(a) < 2 or len(b) < 2:
        return math.nan
    delta = stats.mean(a) - stats.mean(b)
    variance = (stats.sample_variance(a) + stats.sample_variance(b)) / 2
    if delta == 0:
        return math.inf
    z = norm.ppf(1 - alpha / 2) + norm.ppf(power)
    return max(2.0, math.ceil(2 * z * z * variance / (delta * delta)))


def judge(better: str, better_values: Sequence[float], worse: str, worse_values: Sequence[float],
          mode: Literal["min", "max"]) -> Verdict:
    """The verdict on "``better`` beats ``worse``" from their test metric over seeds (``mode``: whether
    lower or higher values are better)."""
    sign = 1.0 if mode == "max" else -1.0
    a, b = [sign * v for v in better_values], [sign * v for v in worse_values]
    comparison = stats.compare(a, b)
    if math.isfinite(comparison.low) and comparison.low > 0:
        outcome: Outcome = "reproduced"
    elif math.isfinite(comparison.high) and comparison.high < 0:
        outcome = "contradicted"
    else:
        outcome = "inconclusive"
    needed = seeds_for_power(a, b) if outcome == "inconclusive" else None
    return Verdict(outcome, better, worse, comparison.diff, comparison.low, comparison.high, comparison.p,
                   comparison.n_a, comparison.n_b, needed)

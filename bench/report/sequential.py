"""Seeds added in rounds without inflating the error rate: a group-sequential design.

A study judges every claim after its first seeds and adds seeds, round by round, only to the arms
of claims still undecided, up to the scale's cap. Looking after every round and stopping at the first
significant look would, left alone, make a false "A beats B" far likelier than the nominal 5%
(Armitage, McPherson & Rowe 1969). The looks are therefore planned (:class:`Design`: the first
seeds, the seeds added per round, the cap), and each look tests at a smaller nominal level, chosen
by Lan & DeMets' (1983) O'Brien–Fleming-type alpha spending, α/2 on each side:

    α(t) / 2 = 2 − 2·Φ(z₁₋α/₄ / √t),   t = seeds at this look / the cap,

so that the chance of *any* false decision over all looks is α. Early looks spend almost nothing
(they stop only on overwhelming evidence), the last one tests at nearly the fixed-sample level. The
boundaries (:func:`boundaries`) are computed by the standard numerical integration over the joint
distribution of the look statistics (Jennison & Turnbull 2000, Chapter 19), written out here because
no maintained Python library implements it; the tests check them against the published table.

Applied to Welch's t at each look (normal-theory boundaries used for t statistics, as is usual with
few observations) the error rates are not exact, so the procedure's false-decision rate and power
are simulated on this code path in the suite (``tests/report/test_sequential.py``) and the whole
curve is in ``results/decision_rule.md`` (``benchmarks/decision_rule.py``).

This module knows numbers, not claims: :func:`decide` replays the looks on two arms' values by seed
and returns where they stop. :mod:`bench.report.verdicts` turns that into a claim's verdict.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm

from bench.report import twosample

ALPHA = 0.05
"""Chance of a false "reproduced" or "contradicted" over all looks, when the arms are equal."""
EQUIVALENCE_ALPHA = 0.05
"""Chance of a false "no practical difference" over all looks, when the difference is one margin
(each side's one-sided test, as in two one-sided tests)."""
GRID = 1201
"""Points of the integration grid per look: boundaries agree with the published table to 1e-4."""

Finding = Literal["better", "worse", "same", "open"]
"""What the looks found for A − B: A better, B better, no practical difference (within the margin),
or nothing yet."""
TestName = Literal["welch", "success"]


@dataclasses.dataclass(frozen=True)
class Design:
    """The planned looks: after ``first`` seeds per arm, then every ``step`` more, the last at ``cap``."""

    first: int
    cap: int
    step: int = 3

    def __post_init__(self) -> None:
        if self.first < 2 or self.cap < self.first or self.step < 1:
            raise ValueError(f"a design needs 2 <= first <= cap and step >= 1, not {self}")

    def looks(self) -> tuple[int, ...]:
        """Seeds per arm at each look, the cap always the last."""
        sizes = list(range(self.first, self.cap, self.step))
        return (*sizes, self.cap)

    def fractions(self) -> tuple[float, ...]:
        return tuple(n / self.cap for n in self.looks())

    def next_size(self, n: int) -> int | None:
        """Seeds per arm at the look after one at ``n`` (None: ``n`` is the cap)."""
        later = [size for size in self.looks() if size > n]
        return later[0] if later else None


def spent(t: float, alpha: float) -> float:
    """Lan–DeMets O'Brien–Fleming-type spending: the two-sided α used up by information fraction t,
    spent symmetrically, α/2 on each side by 2 − 2·Φ(z₁₋α/₄ / √t) (the convention of DeMets & Lan 1994
    and of gsDesign's ``sfLDOF``, whose published boundaries the tests check)."""
    if t <= 0:
        return 0.0
    return float(2 * (2 - 2 * norm.cdf(norm.ppf(1 - alpha / 4) / math.sqrt(min(t, 1.0)))))


def boundaries(fractions: tuple[float, ...], alpha: float = ALPHA) -> tuple[float, ...]:
    """Two-sided critical values c_k of the standardised statistic at each look (reject at the first
    |Z_k| ≥ c_k) such that the chance of crossing first at look k, when there is no difference, is
    the α spent between looks k − 1 and k.

    Z_k·√t_k is a Brownian motion in t (independent increments of variance Δt), so the density of the
    statistic on the continuation region is carried from look to look by one convolution with the
    normal density of the increment, on a grid; each c_k is the root of "exit probability = α spent".
    """
    found: list[float] = []
    grid, mass = np.zeros(1), np.ones(1)  # before the first look: all mass at 0
    previous = 0.0
    for t in fractions:
        goal, step = spent(t, alpha) - spent(previous, alpha), math.sqrt(t - previous)
        c = 40.0 if goal <= 1e-15 else float(brentq(  # nothing spent at a look: it cannot stop
            _excess, 1e-6, 40.0, args=(math.sqrt(t), grid, mass, step, goal), xtol=1e-10))
        found.append(c)
        bound = c * math.sqrt(t)
        new_grid = np.linspace(-bound, bound, GRID)
        weights = np.full(GRID, new_grid[1] - new_grid[0])
        weights[[0, -1]] /= 2  # trapezoid rule
        density = (norm.pdf((new_grid[:, None] - grid[None, :]) / step) / step) @ mass
        grid, mass, previous = new_grid, weights * density, t
    return tuple(found)


def _excess(c: float, root_t: float, grid: np.ndarray, mass: np.ndarray, step: float, goal: float) -> float:
    """Chance that the score, carried from ``grid`` (with probability ``mass``) by a normal step of
    sd ``step``, ends beyond ±c·√t; less the α to spend there (the root is the boundary)."""
    bound = c * root_t
    return float(np.sum(mass * (norm.sf((bound - grid) / step) + norm.cdf((-bound - grid) / step)))) - goal


def nominal_levels(design: Design, alpha: float) -> tuple[float, ...]:
    """The two-sided nominal significance level at each look: 2·(1 − Φ(c_k))."""
    return tuple(float(2 * norm.sf(c)) for c in _cached_boundaries(design.fractions(), alpha))


_BOUNDARIES: dict[tuple[tuple[float, ...], float], tuple[float, ...]] = {}


def _cached_boundaries(fractions: tuple[float, ...], alpha: float) -> tuple[float, ...]:
    key = (fractions, alpha)
    if key not in _BOUNDARIES:
        _BOUNDARIES[key] = boundaries(fractions, alpha)
    return _BOUNDARIES[key]


@dataclasses.dataclass(frozen=True)
class Decision:
    """Where the looks on A − B stopped (oriented: positive means A is better)."""

    finding: Finding
    test: str
    """What decided (or was last applied): e.g. "Welch t", "two one-sided tests (Welch)"."""
    effect: float
    low: float
    high: float
    """The interval of the effect at the deciding (else the last) look, at 1 − ``level``: for "same",
    the equivalence interval the two one-sided tests invert (inside ±margin); otherwise the repeated
    confidence interval at the look's nominal level (the intervals of all looks hold together at 1 − α)."""
    p: float
    level: float
    """The nominal two-sided level of that interval."""
    n_a: int
    n_b: int
    look: int
    """1-based: the look that decided, else the last one made (0: not enough seeds for any)."""
    looks: int
    margin: float
    next_size: int | None
    """Undecided: seeds per arm the next planned look needs (None at the cap)."""
    seeds_to_decide: float | None = None
    """Undecided at the cap: seeds per arm a fixed design would need to decide, against the margin
    (80% power to show a difference of one margin and to show no practical difference at none)."""
    detail: str = ""

    @property
    def decided(self) -> bool:
        return self.finding != "open"


def prefix(values: Mapping[int, float], n: int) -> list[float]:
    """The values of seeds 0..n−1 that exist (a failed seed is missing, not replaced)."""
    return [values[seed] for seed in sorted(values) if seed < n and math.isfinite(values[seed])]


def reached(arms: Sequence[Mapping[int, float]], n: int) -> bool:
    """Whether every arm has run its seeds up to n (a later seed exists or seed n − 1 finished) and
    holds at least 2 values among them: the look at n can be made."""
    return all(max(values, default=-1) >= n - 1 and len(prefix(values, n)) >= 2 for values in arms)


def at_look(a: Mapping[int, float], b: Mapping[int, float], design: Design, k: int, margin: float,
            test: TestName = "welch", beyond: bool = False) -> Decision:
    """What look ``k`` (0-based) finds on the seeds up to its size, at its nominal levels.

    "same" if two one-sided tests show |A − B| < ``margin`` at the look's equivalence level; else
    "better"/"worse" if the two-sided test is significant at its level. The equivalence check comes
    first: a difference shown to be smaller than the smallest one that matters is "no practical
    difference", significant or not. ``beyond``: "better"/"worse" only when the difference is
    significantly beyond the margin (the refutation of an equivalence claim), not merely beyond zero."""
    level = nominal_levels(design, ALPHA)[k]
    same_level = nominal_levels(design, 2 * EQUIVALENCE_ALPHA)[k] / 2
    n = design.looks()[k]
    xa, xb = prefix(a, n), prefix(b, n)
    result = (twosample.success_look if test == "success" else twosample.welch_look)(xa, xb, margin, level, same_level)
    finding: Finding = "open"
    if result.p_same < same_level:
        finding = "same"
    elif (result.low > margin or result.high < -margin) if beyond else result.p < level:
        finding = "better" if result.effect > 0 else "worse"
    if finding == "same":  # shown with the interval that decided it: inside ±margin
        return Decision(finding, result.test_same, result.effect, result.same_low, result.same_high, result.p_same,
                        2 * same_level, len(xa), len(xb), k + 1, len(design.looks()), margin, None, detail=result.detail)
    return Decision(finding, result.test, result.effect, result.low, result.high, result.p, level, len(xa), len(xb),
                    k + 1, len(design.looks()), margin, design.next_size(n) if finding == "open" else None,
                    detail=result.detail)


def decide(a: Mapping[int, float], b: Mapping[int, float], design: Design, margin: float,
           test: TestName = "welch", beyond: bool = False) -> Decision:
    """Replay the planned looks on A's and B's values (by seed, oriented so higher is better) and
    stop at the first that decides (:func:`at_look`). Undecided at the cap, the decision carries the
    seeds a fixed design would need, against the margin (:func:`twosample.seeds_to_decide`)."""
    last: Decision | None = None
    for k, n in enumerate(design.looks()):
        if not reached((a, b), n):
            break
        last = at_look(a, b, design, k, margin, test, beyond)
        if last.decided:
            return last
    if last is None:
        return not_yet(design, margin, len(prefix(a, design.cap)), len(prefix(b, design.cap)))
    if last.next_size is None:
        need = twosample.seeds_to_decide(prefix(a, design.cap), prefix(b, design.cap), margin, test)
        last = dataclasses.replace(last, seeds_to_decide=need)
    return last


def not_yet(design: Design, margin: float, n_a: int = 0, n_b: int = 0) -> Decision:
    """Before the first look: nothing judged, the first look's seeds wanted."""
    return Decision("open", "none yet", math.nan, math.nan, math.nan, math.nan, math.nan, n_a, n_b, 0,
                    len(design.looks()), margin, design.first)

"""Verdicts on claims of the form "A beats B": reproduced, contradicted or inconclusive — and, when
inconclusive, how many seeds would settle it.

A published comparison states claims such as "gated units beat tanh on JSB". Our runs give a few
seeds per architecture; the verdict says what those seeds support, and nothing else writes one:

* **reproduced** — Welch's 95% interval of the difference (A − B, oriented so that positive means A
  is better) lies entirely above 0;
* **contradicted** — it lies entirely below 0 (B is significantly better);
* **inconclusive** — it contains 0 (or there are too few seeds for an interval). The report then
  says how many seeds per architecture a two-sided test at α = 0.05 would need to detect the
  observed difference with 80% power: n = 2·(t₀.₉₇₅ + t₀.₈)²·s²/δ², with s² the average of the two
  sample variances, δ the observed difference and the t quantiles at df = 2n − 2 (solved by
  iteration from the normal approximation, which at 2–3 seeds would promise far too few) — a
  planning figure, which assumes the observed effect is the true one.

"A is as good as B" (a paper's "comparable") is not the absence of a significant difference: it is
shown by two one-sided tests within a margin the study declares (:func:`judge_equivalent`), and
refuted when the difference lies beyond it. Claims over several experiments, or about a gap or a
hyperparameter's importance, are judged by the functions below from the same samples.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, Literal

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
    (see the module docstring); inf when the means are equal, NaN with fewer than 2 values on a side."""
    if len(a) < 2 or len(b) < 2:
        return math.nan
    delta = stats.mean(a) - stats.mean(b)
    variance = (stats.sample_variance(a) + stats.sample_variance(b)) / 2
    if delta == 0:
        return math.inf
    ratio = 2 * variance / (delta * delta)
    n = max(2.0, math.ceil((norm.ppf(1 - alpha / 2) + norm.ppf(power)) ** 2 * ratio))
    for _ in range(100):  # t quantiles at df = 2n − 2, until n stops moving
        df = 2 * n - 2
        better = max(2.0, math.ceil((stats.t_quantile(1 - alpha / 2, df) + stats.t_quantile(power, df)) ** 2 * ratio))
        if better == n:
            break
        n = better
    return n


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


@dataclasses.dataclass(frozen=True)
class ClaimVerdict:
    """The verdict on one claim of a study, over the experiments it names."""

    statement: str
    outcome: Outcome
    evidence: tuple[str, ...]
    """One sentence per experiment (or per analysis): the test, the effect and its interval, n."""
    seeds_needed: float | None = None
    """Inconclusive only: seeds per arm that would settle it (80% power at the observed effects)."""
    judged: int = 0
    """Experiments (or arms) the verdict rests on; the claim names ``named``."""
    named: int = 0

    def verdict_text(self) -> str:
        """The outcome, qualified when it rests on only some of the claim's experiments."""
        if self.judged == 0:
            return f"{self.outcome} (not judged: nothing it names ran)"
        return self.outcome if self.judged == self.named else f"{self.outcome} (on {self.judged} of {self.named})"

    def needed_text(self) -> str:
        if self.outcome != "inconclusive" or self.seeds_needed is None:
            return "—"
        if math.isnan(self.seeds_needed):
            return "too few seeds to estimate"
        return ("∞ (no difference observed somewhere)" if math.isinf(self.seeds_needed)
                else f"≈ {self.seeds_needed:.0f} per arm")


Samples = tuple[Sequence[float], Sequence[float]]
"""The two arms' values (over seeds) on one experiment."""
Missing = str
"""Why an experiment gives no values: "not run at this scale", "metric test/len40/... not logged", ..."""


def _unjudged(samples: dict[str, Any]) -> list[str]:
    return [f"{name}: {why}, so not judged" for name, why in samples.items() if isinstance(why, str)]


def _largest_need(verdicts: Sequence[Verdict]) -> float | None:
    needs = [v.seeds_needed for v in verdicts if v.outcome == "inconclusive" and v.seeds_needed is not None]
    if not needs:
        return None
    finite = [n for n in needs if not math.isnan(n)]
    return max(finite) if finite else math.nan


def _combined(outcomes: Sequence[Outcome]) -> Outcome:
    """Reproduced if reproduced on every experiment judged, contradicted if contradicted on any."""
    if "contradicted" in outcomes:
        return "contradicted"
    return "reproduced" if outcomes and set(outcomes) == {"reproduced"} else "inconclusive"


def judge_beats(statement: str, better: str, worse: str, samples: dict[str, Samples | Missing],
                modes: dict[str, Literal["min", "max"]]) -> ClaimVerdict:
    """"``better`` beats ``worse`` on every experiment": reproduced if reproduced on each experiment
    judged, contradicted if contradicted on any, inconclusive otherwise (or if none was judged). The
    verdict says on how many of the named experiments it rests (:meth:`ClaimVerdict.verdict_text`)."""
    verdicts = {name: judge(better, pair[0], worse, pair[1], modes[name])
                for name, pair in samples.items() if not isinstance(pair, str)}
    evidence = tuple(f"{name}: {v.sentence()}" for name, v in verdicts.items()) + tuple(_unjudged(samples))
    outcome = _combined([v.outcome for v in verdicts.values()])
    return ClaimVerdict(statement, outcome, evidence,
                        _largest_need(list(verdicts.values())) if outcome == "inconclusive" else None,
                        len(verdicts), len(samples))


def judge_no_consistent_winner(statement: str, a: str, b: str, samples: dict[str, Samples | Missing],
                               modes: dict[str, Literal["min", "max"]]) -> ClaimVerdict:
    """"Neither ``a`` nor ``b`` wins everywhere": reproduced when each is significantly better on at
    least one experiment; contradicted when one of them is significantly better on every experiment
    judged (two at least: one experiment cannot show consistency); inconclusive otherwise — no
    significant difference is not evidence of a tie."""
    verdicts = {name: judge(a, pair[0], b, pair[1], modes[name])
                for name, pair in samples.items() if not isinstance(pair, str)}
    evidence = tuple(f"{name}: {v.sentence()}" for name, v in verdicts.items()) + tuple(_unjudged(samples))
    outcomes = [v.outcome for v in verdicts.values()]
    if "reproduced" in outcomes and "contradicted" in outcomes:
        outcome: Outcome = "reproduced"
    elif len(outcomes) >= 2 and (set(outcomes) == {"reproduced"} or set(outcomes) == {"contradicted"}):
        outcome = "contradicted"
    else:
        outcome = "inconclusive"
    return ClaimVerdict(statement, outcome, evidence,
                        _largest_need(list(verdicts.values())) if outcome == "inconclusive" else None,
                        len(verdicts), len(samples))


def seeds_for_equivalence(a: Sequence[float], b: Sequence[float], margin: float, alpha: float = stats.ALPHA,
                          power: float = POWER) -> float:
    """Seeds per side for two one-sided tests at ``alpha`` to show equivalence within ±``margin`` with
    ``power``, if the observed difference d and variances were the truth: n = 2·(t₁₋α + t_q)²·s²/(margin −
    |d|)², q = power (or (1 + power)/2 when d = 0: both one-sided tests must then pass by chance), t at
    df = 2n − 2, iterated as :func:`seeds_for_power`. inf when |d| ≥ margin (more seeds would show
    the opposite), NaN with fewer than 2 finite values on a side."""
    a, b = [v for v in a if math.isfinite(v)], [v for v in b if math.isfinite(v)]
    if len(a) < 2 or len(b) < 2:
        return math.nan
    room = margin - abs(stats.mean(a) - stats.mean(b))
    if room <= 0:
        return math.inf
    q = (1 + power) / 2 if stats.mean(a) == stats.mean(b) else power
    ratio = 2 * (stats.sample_variance(a) + stats.sample_variance(b)) / 2 / (room * room)
    n = max(2.0, math.ceil((norm.ppf(1 - alpha) + norm.ppf(q)) ** 2 * ratio))
    for _ in range(100):
        df = 2 * n - 2
        better = max(2.0, math.ceil((stats.t_quantile(1 - alpha, df) + stats.t_quantile(q, df)) ** 2 * ratio))
        if better == n:
            break
        n = better
    return n


def judge_equivalent(statement: str, a: str, b: str, margin: float, samples: dict[str, Samples | Missing],
                     unlearned: dict[str, str] | None = None) -> ClaimVerdict:
    """"``a`` is as good as ``b`` within ±``margin``" on every experiment, by two one-sided tests at
    α = 0.05 — Welch's 90% interval of mean(a) − mean(b): reproduced on an experiment when it lies
    inside (−margin, margin), contradicted when it lies entirely outside it (the difference is
    significantly beyond the margin), inconclusive otherwise; combined over experiments as for
    "beats". An inconclusive verdict gives the seeds per arm that would show equivalence with 80%
    power (:func:`seeds_for_equivalence`).

    ``unlearned``: experiments (→ why) where neither arm learned the task — no seed reached its
    target. Two arms that both fail are alike, but a paper's "comparable" is about models that
    learn: there the verdict is inconclusive whatever the interval, and more seeds would not help."""
    evidence: list[str] = []
    outcomes: list[Outcome] = []
    needs: list[float] = []
    for name, pair in samples.items():
        if isinstance(pair, str):
            continue
        diff, low, high, _, _ = stats.welch(pair[0], pair[1], 1 - 2 * stats.ALPHA)
        n_a, n_b = len(pair[0]), len(pair[1])
        interval = f"90% CI [{low:+.4g}, {high:+.4g}]" if math.isfinite(low) else "no interval"
        if unlearned and name in unlearned:
            evidence.append(f"{name}: inconclusive: {a} − {b} {diff:+.4g} ({interval}, margin ±{margin:g}; "
                            f"n = {n_a} vs {n_b}), but {unlearned[name]}: an equivalence of failures")
            outcomes.append("inconclusive")  # and no seed count: more seeds would not make them learn
            continue
        if math.isfinite(low) and -margin < low and high < margin:
            outcome: Outcome = "reproduced"
        elif math.isfinite(low) and (low >= margin or high <= -margin):
            outcome = "contradicted"
        else:
            outcome = "inconclusive"
            needs.append(seeds_for_equivalence(pair[0], pair[1], margin))
        evidence.append(f"{name}: {outcome}: {a} − {b} {diff:+.4g} ({interval}, margin ±{margin:g}; "
                        f"n = {n_a} vs {n_b})")
        outcomes.append(outcome)
    combined = _combined(outcomes)
    finite = [n for n in needs if not math.isnan(n)]
    needed = (max(finite) if finite else math.nan) if combined == "inconclusive" and needs else None
    return ClaimVerdict(statement, combined, (*evidence, *_unjudged(samples)), needed, len(outcomes), len(samples))


def gap_closed(arm: Sequence[float], baseline: Sequence[float], target: Sequence[float],
               mode: Literal["min", "max"], confidence: float = 0.95) -> tuple[float, float, float]:
    """The fraction of the gap from ``baseline`` to ``target`` that ``arm`` closes,
    θ = (mean baseline − mean arm) / (mean baseline − mean target) (the same with higher-is-better
    values), and Fieller's ``confidence`` interval for this ratio of two correlated differences
    (they share the baseline's mean): the θ with (X − θY)² ≤ t²·(V_X − 2θ·C + θ²·V_Y), X and Y the
    two differences, V their variances and C = var(mean baseline), t at df = (fewest seeds − 1), a
    conservative choice for so few seeds. The interval is (NaN, NaN) when the gap itself is not
    significant at that level (Fieller's set is then unbounded)."""
    sign = 1.0 if mode == "min" else -1.0
    x = sign * (stats.mean(baseline) - stats.mean(arm))
    y = sign * (stats.mean(baseline) - stats.mean(target))
    closed = x / y if y != 0 else math.nan
    v_base = stats.sample_variance(baseline) / len(baseline)
    v_x = v_base + stats.sample_variance(arm) / len(arm)
    v_y = v_base + stats.sample_variance(target) / len(target)
    q = stats.t_quantile(1 - (1 - confidence) / 2, min(len(arm), len(baseline), len(target)) - 1) ** 2
    a, b, c = y * y - q * v_y, -2 * (x * y - q * v_base), x * x - q * v_x  # a·θ² + b·θ + c ≤ 0
    if a <= 0:
        return closed, math.nan, math.nan
    root = math.sqrt(max(b * b - 4 * a * c, 0.0))
    return closed, (-b - root) / (2 * a), (-b + root) / (2 * a)


def judge_closes_gap(statement: str, arm: str, baseline: str, target: str, fraction: float,
                     samples: dict[str, tuple[Sequence[float], Sequence[float], Sequence[float]] | Missing],
                     modes: dict[str, Literal["min", "max"]]) -> ClaimVerdict:
    """"``arm`` closes at least ``fraction`` of the gap from ``baseline`` to ``target``" on every
    experiment: per experiment, reproduced if Fieller's 95% interval of the closed fraction
    (:func:`gap_closed`) lies above ``fraction``, contradicted if below, else inconclusive; combined
    as for :func:`judge_beats`. The gap itself must be significant (Welch) in the claimed direction
    for the fraction to mean anything; where it is not, that experiment is inconclusive (and where
    it runs the other way, the report says so). Seeds needed (inconclusive): the interval's
    half-width shrinks as 1/√n, so n·(half-width / |closed − fraction|)²·((z₀.₉₇₅ + z₀.₈)/z₀.₉₇₅)²."""
    evidence, outcomes, needs = [], [], []
    for name, triple in samples.items():
        if isinstance(triple, str) or min(map(len, triple)) < 2:
            evidence.append(f"{name}: {triple if isinstance(triple, str) else 'fewer than 2 seeds per arm'}, so not judged")
            continue
        values, base, goal = triple
        gap = judge(target, goal, baseline, base, modes[name])
        closed, low, high = gap_closed(values, base, goal, modes[name])
        n = min(map(len, triple))
        if gap.outcome == "contradicted":
            outcome: Outcome = "inconclusive"
            need = math.nan
            text = f"{name}: the gap runs the other way: {target} is worse than {baseline} ({gap.sentence()})"
        elif gap.outcome != "reproduced" or not math.isfinite(low):
            outcome = "inconclusive"
            need = gap.seeds_needed if gap.seeds_needed is not None else math.nan
            text = (f"{name}: the gap itself is not established ({gap.sentence()}); {arm} closes "
                    f"{closed:.0%} of it")
        else:
            outcome = "reproduced" if low >= fraction else "contradicted" if high < fraction else "inconclusive"
            z = norm.ppf(1 - stats.ALPHA / 2)
            half, distance = (high - low) / 2, abs(closed - fraction)
            need = (math.inf if distance == 0 else
                    max(2.0, math.ceil(n * (half / distance) ** 2 * ((z + norm.ppf(POWER)) / z) ** 2)))
            text = (f"{name}: {outcome}: {arm} closes {closed:.0%} of the {baseline}→{target} gap "
                    f"(Fieller 95% CI [{low:.0%}, {high:.0%}], claimed ≥ {fraction:.0%}; n = {n} per arm; "
                    f"gap {gap.effect:+.4g}, Welch p = {gap.p:.3g})")
        evidence.append(text)
        outcomes.append(outcome)
        if outcome == "inconclusive":
            needs.append(need)
    combined = _combined(outcomes)
    finite = [n for n in needs if not math.isnan(n)]
    need_all = (max(finite) if finite else math.nan) if combined == "inconclusive" and needs else None
    return ClaimVerdict(statement, combined, tuple(evidence), need_all, len(outcomes), len(samples))


def judge_most_important(statement: str, parameter: str, rankings: dict[str, list[dict[str, float]] | Missing]) -> ClaimVerdict:
    """"``parameter`` is the most important hyperparameter": per study (experiment × arm), the
    share of bootstrap refits of fANOVA (trials resampled) in which it ranks first — reproduced at
    95% or more, contradicted at 5% or less, inconclusive between (more trials would settle it; the
    claim is about trials, not seeds, so no seed count is given). Combined as for :func:`judge_beats`."""
    evidence, outcomes = [], []
    for name, fits in rankings.items():
        if isinstance(fits, str) or not fits:
            evidence.append(f"{name}: {fits or 'too few complete tuning trials for fANOVA'}, so not judged")
            continue
        first = sum(1 for fit in fits if fit and max(fit, key=lambda k: fit[k]) == parameter) / len(fits)
        mean_share = stats.mean([fit.get(parameter, 0.0) for fit in fits])
        outcome: Outcome = "reproduced" if first >= 0.95 else "contradicted" if first <= 0.05 else "inconclusive"
        leaders: dict[str, int] = {}
        for fit in fits:
            if fit:
                top = max(fit, key=lambda k: fit[k])
                leaders[top] = leaders.get(top, 0) + 1
        ranked = ", ".join(f"{k} {v / len(fits):.0%}" for k, v in sorted(leaders.items(), key=lambda kv: -kv[1]))
        evidence.append(f"{name}: {outcome}: {parameter} ranks first in {first:.0%} of {len(fits)} bootstrap fANOVA "
                        f"fits (mean importance {mean_share:.2f}; first place: {ranked})")
        outcomes.append(outcome)
    return ClaimVerdict(statement, _combined(outcomes), tuple(evidence), None, len(outcomes), len(rankings))

"""Verdicts on a study's claims: reproduced, contradicted, no practical difference, or undecided —
and for an undecided one, the seeds its next look needs and why it is still open.

Every comparison claim carries a **margin**, declared in the study file with its reason before
anything runs: the smallest difference, in the metric's unit, that would matter. Each experiment's
two arms are judged by :func:`bench.report.sequential.decide` — planned looks as seeds are added,
each at the nominal level of an O'Brien–Fleming alpha-spending design — which finds A better, B
better, no practical difference (two one-sided tests put the difference inside ±margin), or nothing
yet. A claim's verdict combines its experiments:

* "A beats B": **reproduced** if A is better on every experiment judged; **contradicted** if B is
  better on any; **no practical difference** if every experiment is decided and some show none (the
  paper's claim fails at this scale: the difference it reports is not there, or is smaller than the
  margin); **undecided** otherwise.
* "no consistent winner between A and B": reproduced once neither can win everywhere (an
  experiment with no practical difference, or each arm better somewhere); contradicted when one is
  better on every experiment, two at least.
* "A is as good as B within ±margin": reproduced on no practical difference; contradicted when the
  difference is significantly beyond the margin.
* "A closes ≥ f of the gap from B to C": the gap must first be shown (else no practical difference:
  there is nothing to close); then Fieller's interval of the closed fraction at the look's level.
* "P is the most important hyperparameter": fANOVA over tuning trials, about trials not seeds.

Experiments are combined without a multiplicity correction: each experiment's own error rate is the
simulated one; a claim over several is read experiment by experiment in the report.
"""
from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from typing import Literal

from bench.report import sequential, stats
from bench.report.sequential import Decision, Design, TestName

Outcome = Literal["reproduced", "contradicted", "no practical difference", "undecided"]
DECIDED: tuple[Outcome, ...] = ("reproduced", "contradicted", "no practical difference")

Values = Mapping[int, float]
"""One arm's values on one experiment, by seed."""
Missing = str
"""Why an experiment gives no values: "not run at this scale", "metric test/len40/... not logged", ..."""
Want = tuple[str, str, int]
"""(experiment, arm, seeds): the seeds per arm the next look of an undecided claim needs."""


@dataclasses.dataclass(frozen=True)
class ClaimVerdict:
    """The verdict on one claim of a study, over the experiments it names."""

    statement: str
    outcome: Outcome
    evidence: tuple[str, ...]
    """One sentence per experiment (or per analysis): the test, the effect and its interval, n, looks."""
    judged: int = 0
    """Experiments (or arms) the verdict rests on; the claim names ``named``."""
    named: int = 0
    decisions: tuple[tuple[str, Decision], ...] = ()
    """Per experiment: where its looks stopped (comparisons only)."""
    wants: tuple[Want, ...] = ()
    """Undecided: the seeds the next look needs, per experiment and arm (empty at the cap)."""
    why: str = ""
    """Undecided: why, and what would decide it."""

    def verdict_text(self) -> str:
        """The outcome, qualified when it rests on only some of the claim's experiments."""
        if self.judged == 0:
            return f"{self.outcome} (not judged: nothing it names ran)"
        return self.outcome if self.judged == self.named else f"{self.outcome} (on {self.judged} of {self.named})"

    def needed_text(self) -> str:
        """What an undecided claim needs, in a few words."""
        if self.outcome != "undecided":
            return "—"
        if self.wants:
            return f"next look: {max(n for _, _, n in self.wants)} seeds per arm"
        needs = [d.seeds_to_decide for _, d in self.decisions if d.seeds_to_decide is not None]
        finite = [n for n in needs if math.isfinite(n)]
        return f"≈ {max(finite):.0f} per arm (fixed design, against the margin)" if finite else self.why or "—"


def confidence(level: float) -> str:
    """The confidence of an interval at nominal two-sided ``level``, as a reader writes it: 95%, 99.9%, 99.998%."""
    percent = 100 * (1 - level)
    decimals = f"{percent:.6f}".partition(".")[2].rstrip("0")
    digits = len(decimals) - len(decimals.lstrip("9")) + 1 if decimals else 0  # the nines, then one digit
    return f"{round(percent, digits):.{digits}f}".rstrip("0").rstrip(".") + "%"


def describe(decision: Decision, a: str, b: str) -> str:
    """One sentence: what decided, the effect, its repeated interval, n, the look."""
    if decision.look == 0:
        return f"not yet judged: {decision.n_a} vs {decision.n_b} seeds, the first look needs {decision.next_size} each"
    found = {"better": f"{a} better", "worse": f"{b} better", "same": "no practical difference", "open": "undecided"}
    interval = f"{confidence(decision.level)} CI [{decision.low:+.4g}, {decision.high:+.4g}]"
    text = (f"{found[decision.finding]} by {decision.test}: {a} − {b} {decision.effect:+.4g} ({interval}, margin "
            f"±{decision.margin:g}; n = {decision.n_a} vs {decision.n_b}; look {decision.look} of {decision.looks})")
    if decision.detail:
        text += f"; {decision.detail}"
    if decision.finding == "open" and decision.next_size is not None:
        text += f"; the next look at {decision.next_size} seeds per arm"
    elif decision.finding == "open" and decision.seeds_to_decide is not None:
        need = decision.seeds_to_decide
        text += ("; at the cap" + (f": a fixed design would need ≈ {need:.0f} seeds per arm to decide it against the margin"
                                   if math.isfinite(need) else ""))
    return text


def _oriented(values: Values, mode: Literal["min", "max"]) -> dict[int, float]:
    return {seed: (v if mode == "max" else -v) for seed, v in values.items()}


def _unjudged(samples: Mapping[str, object]) -> list[str]:
    return [f"{name}: {why}, so not judged" for name, why in samples.items() if isinstance(why, str)]


def _wants(decisions: Mapping[str, Decision], arms: Sequence[str]) -> tuple[Want, ...]:
    return tuple((name, arm, d.next_size) for name, d in decisions.items()
                 if d.finding == "open" and d.next_size is not None for arm in arms)


def _why_open(decisions: Mapping[str, Decision]) -> str:
    open_ = [name for name, d in decisions.items() if d.finding == "open"]
    if not open_:
        return ""
    at_cap = [name for name in open_ if decisions[name].next_size is None]
    if at_cap:
        needs = [decisions[name].seeds_to_decide for name in at_cap]
        figure = ("more seeds (the fixed-design figure above)" if any(n is not None and math.isfinite(n) for n in needs)
                  else "more seeds")
        return (f"undecided at the cap on {', '.join(at_cap)}: the interval straddles both zero and the margin; "
                f"{figure} or a larger margin declared in advance would decide it")
    return f"looks still to come on {', '.join(open_)}"


def _pairs(samples: Mapping[str, tuple[Values, Values] | Missing], modes: Mapping[str, Literal["min", "max"]],
           design: Design, margins: Mapping[str, float], test: TestName, beyond: bool = False) -> dict[str, Decision]:
    return {name: sequential.decide(_oriented(pair[0], modes[name]), _oriented(pair[1], modes[name]), design,
                                    margins[name], test, beyond)
            for name, pair in samples.items() if not isinstance(pair, str)}


def judge_beats(statement: str, better: str, worse: str, samples: Mapping[str, tuple[Values, Values] | Missing],
                modes: Mapping[str, Literal["min", "max"]], design: Design, margins: Mapping[str, float],
                test: TestName = "welch") -> ClaimVerdict:
    """"``better`` beats ``worse`` on every experiment" (see the module docstring)."""
    decisions = _pairs(samples, modes, design, margins, test)
    findings = [d.finding for d in decisions.values()]
    outcome: Outcome
    if "worse" in findings:
        outcome = "contradicted"
    elif findings and all(f == "better" for f in findings):
        outcome = "reproduced"
    elif findings and "open" not in findings:
        outcome = "no practical difference"
    else:
        outcome = "undecided"
    return _verdict(statement, outcome, decisions, samples, (better, worse))


def judge_no_consistent_winner(statement: str, a: str, b: str, samples: Mapping[str, tuple[Values, Values] | Missing],
                               modes: Mapping[str, Literal["min", "max"]], design: Design, margins: Mapping[str, float],
                               test: TestName = "welch") -> ClaimVerdict:
    """"Neither ``a`` nor ``b`` wins everywhere" (see the module docstring)."""
    decisions = _pairs(samples, modes, design, margins, test)
    findings = [d.finding for d in decisions.values()]
    outcome: Outcome
    if "same" in findings or ("better" in findings and "worse" in findings):
        outcome = "reproduced"
    elif len(findings) >= 2 and "open" not in findings and len(set(findings)) == 1:
        outcome = "contradicted"
    else:
        outcome = "undecided"
    verdict = _verdict(statement, outcome, decisions, samples, (a, b))
    if outcome == "undecided" and not verdict.why:
        verdict = dataclasses.replace(verdict, why="one experiment decided alone cannot show that neither arm wins "
                                                   "everywhere; the claim needs its other experiments")
    return verdict


def judge_equivalent(statement: str, a: str, b: str, samples: Mapping[str, tuple[Values, Values] | Missing],
                     modes: Mapping[str, Literal["min", "max"]], design: Design, margins: Mapping[str, float],
                     unlearned: Mapping[str, str] | None = None, test: TestName = "welch") -> ClaimVerdict:
    """"``a`` is as good as ``b`` within ±margin" on every experiment (see the module docstring).

    ``unlearned``: experiments (→ why) where neither arm learned the task — no seed reached its
    target. Two arms that both fail are alike, but a paper's "comparable" is about models that
    learn: there the experiment stays undecided whatever the interval, and more seeds would not help."""
    unlearned = unlearned or {}
    decisions = _pairs({k: v for k, v in samples.items() if k not in unlearned}, modes, design, margins, test, beyond=True)
    per = {"same": "reproduced", "better": "contradicted", "worse": "contradicted", "open": "undecided"}
    outcomes = [per[d.finding] for d in decisions.values()] + ["undecided" for k in unlearned if k in samples]
    outcome: Outcome = ("contradicted" if "contradicted" in outcomes else
                        "reproduced" if outcomes and set(outcomes) == {"reproduced"} else "undecided")
    verdict = _verdict(statement, outcome, decisions, {k: v for k, v in samples.items() if k not in unlearned}, (a, b))
    failures = tuple(f"{name}: undecided: {why}: an equivalence of failures, which more seeds would not change"
                     for name, why in unlearned.items() if name in samples)
    if failures:
        verdict = dataclasses.replace(verdict, evidence=verdict.evidence + failures, named=len(samples),
                                      judged=verdict.judged + len(failures),
                                      why=(verdict.why + "; " if verdict.why else "") + "neither arm learned the task on "
                                      + ", ".join(n for n in unlearned if n in samples) + ": a longer training budget would")
    return verdict


def _settled(evidence: Sequence[str], outcome: Outcome) -> tuple[str, ...]:
    """A decided claim adds no seeds: its open experiments are not looked at again, and say so."""
    if outcome == "undecided":
        return tuple(evidence)
    return tuple(re.sub(r"; the next look at \d+ seeds per arm", "; not looked at again: the claim was decided", e)
                 for e in evidence)


def _verdict(statement: str, outcome: Outcome, decisions: Mapping[str, Decision], samples: Mapping[str, object],
             arms: Sequence[str]) -> ClaimVerdict:
    a, b = arms[0], arms[1]
    evidence = _settled([f"{name}: {describe(d, a, b)}" for name, d in decisions.items()], outcome) + tuple(_unjudged(samples))
    undecided = outcome == "undecided"
    return ClaimVerdict(statement, outcome, evidence, len(decisions), len(samples), tuple(decisions.items()),
                        _wants(decisions, arms) if undecided else (), _why_open(decisions) if undecided else "")


def gap_closed(arm: Sequence[float], baseline: Sequence[float], target: Sequence[float],
               mode: Literal["min", "max"], confidence: float = 0.95) -> tuple[float, float, float]:
    """The fraction of the gap from ``baseline`` to ``target`` that ``arm`` closes,
    θ = (mean baseline − mean arm) / (mean baseline − mean target) (the same with higher-is-better
    values), and Fieller's ``confidence`` interval for this ratio of two correlated differences
    (they share the baseline's mean): the θ with (X − θY)² ≤ t²·(V_X − 2θ·C + θ²·V_Y), X and Y the
    two differences, V their variances and C = var(mean baseline), t at df = (fewest seeds − 1), a
    conservative choice for so few seeds. The interval is (NaN, NaN) when the gap itself is not
    significant at that level (Fieller's set is then unbounded). No maintained library computes it."""
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
                     samples: Mapping[str, tuple[Values, Values, Values] | Missing],
                     modes: Mapping[str, Literal["min", "max"]], design: Design, margins: Mapping[str, float]) -> ClaimVerdict:
    """"``arm`` closes at least ``fraction`` of the gap from ``baseline`` to ``target``" on every
    experiment. Per experiment the looks are replayed: at each, the gap (``target`` vs ``baseline``)
    is judged as a comparison with ``margin``; within the margin there is no gap to close (no
    practical difference); running the other way, the claim's premise fails (contradicted); once it
    is shown, Fieller's interval at the look's level decides: reproduced above ``fraction``,
    contradicted below, else the next look."""
    decisions: dict[str, Decision] = {}
    evidence: list[str] = []
    outcomes: dict[str, Outcome] = {}
    for name, triple in samples.items():
        if isinstance(triple, str):
            continue
        values, base, goal = triple  # Fieller orients by mode itself
        mode, margin = modes[name], margins[name]
        outcome: Outcome = "undecided"
        decision, text = sequential.not_yet(design, margin), f"not yet judged: the first look needs {design.first} seeds per arm"
        for k, n in enumerate(design.looks()):
            if not sequential.reached((values, base, goal), n):
                break
            gap = sequential.at_look(_oriented(goal, mode), _oriented(base, mode), design, k, margin)
            closed, low, high = gap_closed(sequential.prefix(values, n), sequential.prefix(base, n),
                                           sequential.prefix(goal, n), mode, confidence=1 - gap.level)
            decision = gap
            if gap.finding == "same":
                outcome, text = "no practical difference", f"no gap to close: {describe(gap, target, baseline)}"
            elif gap.finding == "worse":
                outcome, text = "contradicted", f"the gap runs the other way: {describe(gap, target, baseline)}"
            else:
                bounds = (f"[{low:.0%}, {high:.0%}]" if math.isfinite(low) else
                          "unbounded while the gap itself is not shown")
                fieller = (f"{arm} closes {closed:.0%} of the {baseline}→{target} gap (Fieller {confidence(gap.level)} "
                           f"interval {bounds}, claimed ≥ {fraction:.0%}; n = {gap.n_a} per arm; gap: "
                           f"{describe(gap, target, baseline)})")
                if gap.finding == "better" and math.isfinite(low) and (low >= fraction or high < fraction):
                    outcome, text = ("reproduced" if low >= fraction else "contradicted"), fieller
                    decision = dataclasses.replace(gap, test="Fieller interval of the closed fraction", effect=closed,
                                                   low=low, high=high)
                else:
                    decision = dataclasses.replace(gap, finding="open", next_size=design.next_size(n))
                    text = f"undecided: {fieller}"
            if outcome != "undecided":
                break
        decisions[name] = decision
        evidence.append(f"{name}: {outcome}: {text}" if not text.startswith("undecided") else f"{name}: {text}")
        outcomes[name] = outcome
    found = list(outcomes.values())
    combined: Outcome = ("contradicted" if "contradicted" in found else
                         "reproduced" if found and set(found) == {"reproduced"} else
                         "no practical difference" if found and "undecided" not in found else "undecided")
    open_ = {k: d for k, d in decisions.items() if outcomes[k] == "undecided"}
    undecided = combined == "undecided"
    return ClaimVerdict(statement, combined, (*_settled(evidence, combined), *_unjudged(samples)), len(found), len(samples),
                        tuple(decisions.items()), _wants(open_, (arm, baseline, target)) if undecided else (),
                        _why_open(open_) if undecided else "")


def judge_most_important(statement: str, parameter: str, rankings: Mapping[str, list[dict[str, float]] | Missing]) -> ClaimVerdict:
    """"``parameter`` is the most important hyperparameter": per study (experiment × arm), the
    share of bootstrap refits of fANOVA (trials resampled) in which it ranks first — reproduced at
    95% or more, contradicted at 5% or less, undecided between (more trials would settle it; the
    claim is about trials, not seeds). Combined as for :func:`judge_beats`."""
    evidence, outcomes = [], []
    for name, fits in rankings.items():
        if isinstance(fits, str) or not fits:
            evidence.append(f"{name}: {fits or 'too few complete tuning trials for fANOVA'}, so not judged")
            continue
        first = sum(1 for fit in fits if fit and max(fit, key=lambda k: fit[k]) == parameter) / len(fits)
        mean_share = stats.mean([fit.get(parameter, 0.0) for fit in fits])
        outcome: Outcome = "reproduced" if first >= 0.95 else "contradicted" if first <= 0.05 else "undecided"
        leaders: dict[str, int] = {}
        for fit in fits:
            if fit:
                top = max(fit, key=lambda k: fit[k])
                leaders[top] = leaders.get(top, 0) + 1
        ranked = ", ".join(f"{k} {v / len(fits):.0%}" for k, v in sorted(leaders.items(), key=lambda kv: -kv[1]))
        evidence.append(f"{name}: {outcome}: {parameter} ranks first in {first:.0%} of {len(fits)} bootstrap fANOVA "
                        f"fits (mean importance {mean_share:.2f}; first place: {ranked})")
        outcomes.append(outcome)
    combined: Outcome = ("contradicted" if "contradicted" in outcomes else
                         "reproduced" if outcomes and set(outcomes) == {"reproduced"} else "undecided")
    why = "more tuning trials would settle the ranking" if combined == "undecided" else ""
    return ClaimVerdict(statement, combined, tuple(evidence), len(outcomes), len(rankings), why=why)


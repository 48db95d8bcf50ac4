"""The group-sequential design behind every study verdict: its boundaries are the published ones, and
the whole procedure — every look up to the cap, through the verdict code the reports use — keeps its
error rates and has its power, by simulation (the curve is in results/decision_rule.md)."""
import math

import numpy as np
import pytest

from bench.core.registry import STUDIES
from bench.report.sequential import Design, boundaries, decide, spent
from bench.report.verdicts import judge_beats
from bench.study.judging import design_of

# Lan–DeMets O'Brien–Fleming spending, two-sided α = 0.05, K equally spaced looks: the critical values
# published by DeMets & Lan (1994, Statistics in Medicine 13, Table 1) and printed by R gsDesign's
# gsDesign(k=K, test.type=2, sfu=sfLDOF).
PUBLISHED = {
    3: (3.7103, 2.5114, 1.9930),
    4: (4.3326, 2.9631, 2.3590, 2.0141),
    5: (4.8769, 3.3569, 2.6803, 2.2898, 2.0310),
}


@pytest.mark.parametrize("looks", sorted(PUBLISHED))
def test_boundaries_match_the_published_obrien_fleming_table(looks):
    found = boundaries(tuple((k + 1) / looks for k in range(looks)))
    assert found == pytest.approx(PUBLISHED[looks], abs=2e-4)


def test_spending_uses_the_whole_alpha_at_the_cap_and_almost_none_early():
    assert spent(1.0, 0.05) == pytest.approx(0.05)
    assert spent(0.25, 0.05) < 1e-4 < spent(0.5, 0.05) < spent(0.75, 0.05) < 0.05


def test_the_boundaries_keep_the_chance_of_any_crossing_at_alpha_for_a_normal_statistic():
    """Brownian motion sampled at the looks: the chance of crossing any boundary is α (the grid
    integration checked by brute force, 200,000 paths)."""
    fractions = (0.25, 0.5, 0.75, 1.0)
    c = np.array(boundaries(fractions))
    rng = np.random.default_rng(0)
    steps = rng.standard_normal((200_000, 4)) * np.sqrt(np.diff((0.0, *fractions)))
    z = np.cumsum(steps, axis=1) / np.sqrt(fractions)
    crossed = (np.abs(z) >= c).any(axis=1).mean()
    assert crossed == pytest.approx(0.05, abs=3 * math.sqrt(0.05 * 0.95 / 200_000))


def test_a_design_looks_at_its_first_seeds_then_every_step_and_always_at_the_cap():
    assert Design(3, 12, 3).looks() == (3, 6, 9, 12)
    assert Design(3, 10, 3).looks() == (3, 6, 9, 10)
    assert Design(3, 3).looks() == (3,)
    assert Design(3, 12, 3).next_size(6) == 9 and Design(3, 12, 3).next_size(12) is None
    with pytest.raises(ValueError):
        Design(1, 12)


def test_a_look_is_made_only_once_both_arms_have_run_its_seeds_and_later_seeds_never_change_a_decision():
    design = Design(3, 12, 3)
    a = {i: 10.0 + 0.01 * i for i in range(12)}
    b = {i: 0.0 + 0.01 * i for i in range(12)}
    early = decide({i: a[i] for i in range(3)}, {i: b[i] for i in range(3)}, design, margin=1.0)
    assert early.finding == "better" and early.look == 1  # overwhelming at the first look
    later = decide(a, b | {3: 1e6}, design, margin=1.0)  # seeds added for another claim's sake
    assert (later.finding, later.look, later.n_a, later.effect) == (early.finding, 1, 3, early.effect)
    missing = decide({0: 1.0, 1: 2.0}, {0: 1.0, 1: 2.0, 2: 3.0}, design, margin=1.0)
    assert missing.finding == "open" and missing.look == 0 and missing.next_size == 3


def test_no_practical_difference_is_shown_with_the_interval_that_decided_it_inside_the_margin():
    rng = np.random.default_rng(4)
    design = Design(3, 12, 3)
    same = 0
    for _ in range(300):
        a, b = dict(enumerate(rng.normal(0, 1, 12))), dict(enumerate(rng.normal(0, 1, 12)))
        decision = decide(a, b, design, margin=1.5)
        if decision.finding == "same":
            same += 1
            assert -1.5 < decision.low <= decision.effect <= decision.high < 1.5, decision
            assert "two one-sided tests" in decision.test
    assert same > 200


# The whole procedure, simulated on the production path: judge_beats over one experiment, the laptop
# scales' design, the margin at 1.5 seed-standard-deviations (1.5σ; for 0/1 outcomes at p = 0.5, σ = 0.5).
SIMULATIONS = 2000
MARGIN_SDS = 1.5


def laptop_design() -> Design:
    designs = {design_of(STUDIES.get(name).scale("laptop")) for name in STUDIES.names()
               if any(not hasattr(c, "parameter") for c in STUDIES.get(name).claims)}
    assert len(designs) == 1, designs  # every comparison study shares one laptop design
    return designs.pop()


def simulate(difference: float, kind: str, design: Design, seed: int) -> dict[str, float]:
    """Rates of each verdict over SIMULATIONS studies with true A − B = ``difference`` (in σ, or in
    success rate for ``bimodal``)."""
    rng = np.random.default_rng(seed)
    counts: dict[str, int] = {}
    for _ in range(SIMULATIONS):
        if kind == "normal":
            a, b = rng.normal(difference, 1.0, design.cap), rng.normal(0.0, 1.0, design.cap)
            margin, test = MARGIN_SDS, "welch"
        else:
            a = (rng.random(design.cap) < 0.5 + difference).astype(float)
            b = (rng.random(design.cap) < 0.5).astype(float)
            margin, test = MARGIN_SDS * 0.5, "success"
        verdict = judge_beats("a beats b", "a", "b", {"e": (dict(enumerate(a)), dict(enumerate(b)))}, {"e": "max"},
                              design, {"e": margin}, test)
        counts[verdict.outcome] = counts.get(verdict.outcome, 0) + 1
    return {k: v / SIMULATIONS for k, v in counts.items()}


def monte_carlo_error(rate: float) -> float:
    return 2 * math.sqrt(max(rate * (1 - rate), 0.05 * 0.95) / SIMULATIONS)


@pytest.fixture(scope="module")
def design():
    return laptop_design()


def test_equal_arms_are_falsely_reproduced_or_contradicted_at_most_5_percent_and_called_alike_80(design):
    rates = simulate(0.0, "normal", design, seed=1)
    false = rates.get("reproduced", 0) + rates.get("contradicted", 0)
    assert false <= 0.05 + monte_carlo_error(0.05), rates
    same = rates.get("no practical difference", 0)
    assert same >= 0.80 - monte_carlo_error(0.80), rates


def test_a_true_difference_of_one_margin_is_reproduced_by_the_cap_80_percent(design):
    rates = simulate(MARGIN_SDS, "normal", design, seed=2)
    assert rates.get("reproduced", 0) >= 0.80 - monte_carlo_error(0.80), rates
    assert rates.get("contradicted", 0) == 0, rates


def test_bimodal_success_metrics_with_equal_rates_are_falsely_decided_at_most_5_percent(design):
    rates = simulate(0.0, "bimodal", design, seed=3)
    false = rates.get("reproduced", 0) + rates.get("contradicted", 0)
    assert false <= 0.05 + monte_carlo_error(0.05), rates

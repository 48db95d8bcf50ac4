"""The study contract: a study is data that must be consistent, and every registered one is."""
import pytest

from bench import Arm, Beats, Experiment, Margin, Scale, Study
from bench.core.errors import UsageError
from bench.core.registry import STUDIES


@pytest.mark.parametrize("name", STUDIES.names())
def test_every_registered_study_is_consistent(name):
    study = STUDIES.get(name)
    assert study.problems() == []
    assert study.summary() and study.paper and study.claims
    for scale in ("smoke", "laptop", "paper"):
        assert study.experiments_at(scale), f"{name}: scale {scale} runs no experiment"


def test_the_seven_shipped_studies_are_found_by_the_registry_without_a_list():
    assert {"chung2014", "bai2018", "le2015", "graves2014", "zaremba2014", "jozefowicz2015", "greff2017"} <= set(
        STUDIES.names())
    assert set(STUDIES.summaries()) == set(STUDIES.names())  # read from the files' source, as `bench list` does


class Broken(Study):
    """A study whose claims name arms and experiments it does not declare."""

    experiments = (Experiment("short", "parity"),)
    arms = (Arm("gru", "gru"),)
    scales = {"smoke": Scale(1, 1, experiments=("long",))}
    claims = (Beats("gru", "lstm", ("short", "long")), Beats("gru", "gru", ("short",)))


def test_a_claim_naming_an_undeclared_arm_or_experiment_is_a_problem():
    problems = Broken.problems()
    assert "scales smoke, laptop and paper are required" in problems
    assert any("unknown arm 'lstm'" in p for p in problems)
    assert any("unknown experiment 'long'" in p for p in problems)
    assert "claim 'gru beats gru on short': none of its experiments runs at the smoke scale" in problems
    assert "scale smoke: a comparison needs at least 2 seeds per arm for an interval" in problems


class Unmeasured(Study):
    name = "unmeasured"
    experiments = (Experiment("short", "parity"),)
    arms = (Arm("gru", "gru"), Arm("lstm", "lstm"))
    scales = {s: Scale(trials=1, seeds=3, max_seeds=12) for s in ("smoke", "laptop", "paper")}
    claims = (Beats("gru", "lstm", ("short",)), Beats("lstm", "gru", ("short",), Margin(0.05, " ")),
              Beats("gru", "lstm", ("short",), Margin(0.05, "5 points of accuracy: a tenth of chance-to-solved")))


def test_every_comparison_declares_its_margin_and_why_before_anything_runs():
    problems = Unmeasured.problems()
    assert problems == ["claim 'gru beats lstm on short': declare its margin (> 0) and why that much",
                        "claim 'lstm beats gru on short': declare its margin (> 0) and why that much"]


def test_a_scale_replaces_the_experiment_options_and_budgets_it_names_and_an_unknown_scale_is_a_usage_error():
    study = STUDIES.get("bai2018")
    adding = {e.name: e for e in study.experiments_at("laptop")}["adding"]
    assert adding.options["length"] == 100 and adding.options["variant"] == "adding" and adding.params == 20_000
    assert {e.name for e in study.experiments_at("smoke")} == {"adding", "nottingham"}
    smoke = {e.name: e for e in study.experiments_at("smoke")}
    assert smoke["nottingham"].params == 20_000 and smoke["adding"].params == 70_000  # budget: only where named
    assert {e.name: e for e in study.experiments_at("paper")}["nottingham"].params == 1_000_000
    with pytest.raises(UsageError, match="no scale 'huge'"):
        study.scale("huge")

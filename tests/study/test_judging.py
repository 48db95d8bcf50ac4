"""A study's claims judged from its collected runs: each kind of claim by its own judge, failed seed
runs said beside the verdict."""
import typing
from types import SimpleNamespace

import pytest

from bench import Beats, Margin
from bench.core.study import Claim, Scale
from bench.report.verdicts import ClaimVerdict
from bench.study.judging import Evidence, design_of, judge, with_failures

CLAIM = Beats("gru", "tanh", ("jsb", "speech"), Margin(0.1, "a tenth"))


def test_seed_runs_that_failed_are_named_in_the_evidence_of_the_claims_on_their_arms():
    reports = {"jsb": SimpleNamespace(arch_runs={"gru": SimpleNamespace(failed=2), "tanh": SimpleNamespace(failed=0),
                                                 "lstm": SimpleNamespace(failed=5)}),
               "speech": SimpleNamespace(arch_runs={"tanh": SimpleNamespace(failed=1)})}
    verdict = with_failures(ClaimVerdict("gru beats tanh", "reproduced", ("jsb: gru better",)), CLAIM, reports)
    assert verdict.evidence == ("jsb: gru better", "jsb: 2 seed run(s) of gru failed or were stopped and are not counted",
                                "speech: 1 seed run(s) of tanh failed or were stopped and are not counted")
    clean = {"jsb": SimpleNamespace(arch_runs={"gru": SimpleNamespace(failed=0)})}
    assert with_failures(verdict, CLAIM, clean) is verdict


def test_arms_learned_the_task_when_a_seed_met_the_target_on_test_even_without_steps_to_target():
    """Runs trained to the step limit before ``steps_to_target`` was counted for them say by their
    test score whether they learned: one LSTM seed at mse 0.0002 (target 0.01) is not a failure."""
    import pandas as pd

    from bench.report.runs import ArchRuns
    from bench.study.judging import neither_learned

    def arm(*mse):
        return ArchRuns("arm", pd.DataFrame({"metrics.steps": [4000] * len(mse), "metrics.test/mse": list(mse)}), "")

    report = SimpleNamespace(metric="mse", mode="min", target_value=0.01,
                             arch_runs={"irnn": arm(0.17, 0.16), "lstm": arm(0.0002, 0.17), "tanh": arm(0.17, 0.168)})
    assert neither_learned(report, ("irnn", "lstm")) is None
    assert neither_learned(report, ("irnn", "tanh")) == "no seed of either reached the task's target (mse ≤ 0.01)"


def test_a_duration_reads_in_the_unit_a_reader_would_say_it():
    from bench.study.report import duration

    assert [duration(s) for s in (31, 119.4, 120, 4000, 7200, 6666 * 3)] == ["31 s", "119 s", "2 min", "67 min",
                                                                             "2.0 h", "5.6 h"]


def test_every_kind_of_claim_has_its_judge_and_a_kind_without_one_is_refused_by_name():
    assert set(typing.get_args(Claim)) <= set(judge.registry)
    evidence = Evidence({}, {}, design_of(Scale(1, 2)))
    with pytest.raises(TypeError, match="no judge for claims of kind SimpleNamespace"):
        judge(SimpleNamespace(), evidence)
    verdict = judge(CLAIM, evidence)  # nothing ran: judged undecided on no experiment, with the reason
    assert verdict.outcome == "undecided" and "not run at this scale" in " ".join(verdict.evidence + (verdict.why,))

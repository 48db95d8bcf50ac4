"""A study's claims judged from its collected runs: failed seed runs are said beside the verdict."""
from types import SimpleNamespace

from bench import Beats, Margin
from bench.report.verdicts import ClaimVerdict
from bench.study.judging import with_failures

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

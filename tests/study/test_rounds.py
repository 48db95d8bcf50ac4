"""`bench study run` adds seeds in rounds, only to the arms of undecided claims, up to the cap; the
design it ran under is recorded, so the report judges by it; the same command resumes."""
import json
import os
from pathlib import Path

import optuna

from bench.core.registry import STUDIES
from bench.study.plan import optuna_study_name
from bench.tracking.optuna_store import default_storage_url


def test_undecided_claims_get_their_arms_seeds_added_up_to_a_users_cap_and_the_report_follows_that_design(bench_main):
    ran = bench_main("study", "run", "le2015", "--scale", "smoke", "--max-seeds", "4", "--no-progress")
    assert ran.returncode == 0, ran.stderr
    # 20 updates decide nothing: after the first look (2 seeds) every arm of the open claims goes to 4, the cap.
    assert "after round 0: 0 of 3 claims decided" in ran.stderr
    assert "round 1: 4 seeds per arm for adding300/irnn, adding300/lstm, adding300/tanh" in ran.stderr
    assert "round 2" not in ran.stderr  # the cap ends the rounds
    study = STUDIES.get("le2015")
    (experiment,) = study.experiments_at("smoke")
    storage = default_storage_url()
    for arm in study.arms:
        seeds = optuna.load_study(study_name=optuna_study_name(study, "smoke", experiment, arm) + "/seeds", storage=storage)
        complete = [t for t in seeds.trials if t.state == optuna.trial.TrialState.COMPLETE]
        assert sorted(t.params["train.seed"] for t in complete) == [0, 1, 2, 3]

    again = bench_main("study", "run", "le2015", "--scale", "smoke", "--max-seeds", "4", "--no-progress")
    assert again.returncode == 0 and "round 1" not in again.stderr  # resumed: nothing left to add

    reported = bench_main("study", "report", "le2015", "--scale", "smoke")
    assert reported.returncode == 0, reported.stderr
    summary = json.loads((Path(os.environ["RNNBENCH_HOME"]) / "reports" / "studies" / "le2015@smoke" / "study.json").read_text())
    assert summary["looks"] == [2, 4]
    judged = [c for c in summary["claims"] if c["n per arm"] != "—"]
    assert judged and all(c["n per arm"] == "adding300 4/4" and c["looks"] == "adding300 2/2" for c in judged)

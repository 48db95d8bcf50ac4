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
    label = "smoke~max_seeds=4"  # a cap of one's own is a scale of its own, planned before its first seed
    assert "round 1: 4 seeds per arm for adding300/irnn, adding300/lstm, adding300/tanh" in ran.stderr
    assert "round 2" not in ran.stderr  # the cap ends the rounds
    study = STUDIES.get("le2015")
    (experiment,) = study.experiments_at("smoke")
    storage = default_storage_url()
    for arm in study.arms:
        seeds = optuna.load_study(study_name=optuna_study_name(study, label, experiment, arm) + "/seeds", storage=storage)
        complete = [t for t in seeds.trials if t.state == optuna.trial.TrialState.COMPLETE]
        assert sorted(t.params["train.seed"] for t in complete) == [0, 1, 2, 3]

    again = bench_main("study", "run", "le2015", "--scale", "smoke", "--max-seeds", "4", "--no-progress")
    assert again.returncode == 0 and "round 1" not in again.stderr  # resumed: nothing left to add

    assert f"next: bench study report le2015 --scale {label}" in again.stdout
    reported = bench_main("study", "report", "le2015")  # the largest scale with runs: the bent one
    assert reported.returncode == 0, reported.stderr
    folder = Path(os.environ["RNNBENCH_HOME"]) / "reports" / "studies" / f"le2015@{label}"
    summary = json.loads((folder / "study.json").read_text())
    assert summary["scale"] == label and summary["looks"] == [2, 4] and "Bent here: --max-seeds 4." in summary["differs"]
    judged = [c for c in summary["claims"] if c["n per arm"] != "—"]
    assert judged and all(c["n per arm"] == "adding300 4/4" and c["looks"] == "adding300 2/2" for c in judged)


def test_rounds_stop_when_failed_seeds_leave_a_look_without_its_seeds(monkeypatch):
    """A seed that fails is not rerun (its trial is replaced by another seed number), so a look can
    stay short of seeds: the rounds say so and stop instead of asking again forever."""
    from types import SimpleNamespace

    from bench.study import rounds
    from bench.study.plan import StudyRun

    study = STUDIES.get("le2015")
    (experiment,) = study.experiments_at("smoke")
    plans = [SimpleNamespace(name=optuna_study_name(study, "smoke", experiment, arm)) for arm in study.arms]
    blocked = SimpleNamespace(wants=(("adding300", "irnn", 2), ("adding300", "tanh", 2)), outcome="undecided",
                              statement="irnn beats tanh")
    sweeps, said = [], []
    monkeypatch.setattr(rounds, "run_sweep", lambda plans, options: sweeps.append(len(plans)) or "table")
    monkeypatch.setattr(rounds, "judge_scale", lambda *a: SimpleNamespace(verdicts=[blocked]))
    table, verdicts = rounds.run_rounds(StudyRun(study, "smoke", plans, []), rounds.SweepOptions(), said.append)
    assert sweeps == [3, 2]  # round 0, then one round for the two arms, then no more
    assert "lack seeds that failed" in said[-1] and "adding300/irnn at 2 seeds" in said[-1]

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


def test_a_bent_sampler_and_tuning_seed_are_scales_of_their_own_and_redraw_the_tuning():
    """Dodge et al.'s expected best needs random search; Bouthillier et al.'s variance of tuning needs
    the tuning repeated with other draws: both bend a scale without writing a study."""
    from bench.core.errors import UsageError
    from bench.study.scales import Bend, bent, from_label

    study = STUDIES.get("le2015")
    changed, label = bent(study, "smoke", Bend(sampler="random", tuning_seed=2))
    assert label == "smoke~sampler=random,tuning_seed=2"
    assert changed.sampler == "random" and study.sampler == "tpe"  # the registered study is untouched
    assert changed.scale(label).tuning_seed == 2 and "Bent here: --sampler random --tuning-seed 2." in changed.scale(label).differs
    again, same = from_label(study, label)  # a report finds the same design from the label alone
    assert same == label and again.sampler == "random" and again.scale(label).tuning_seed == 2
    for wrong in (Bend(sampler="grid"), Bend(tuning_seed=0)):
        try:
            bent(study, "smoke", wrong)
        except UsageError as error:
            assert "--sampler grid" in str(error) or "--tuning-seed 0" in str(error)
        else:
            raise AssertionError(f"{wrong} was accepted")


def test_another_tuning_seed_draws_other_configurations_and_the_report_says_which_search_ran(bench_main):
    first = bench_main("study", "run", "le2015", "--scale", "smoke", "--sampler", "random", "--no-progress")
    other = bench_main("study", "run", "le2015", "--scale", "smoke", "--sampler", "random", "--tuning-seed", "1",
                       "--no-progress")
    assert first.returncode == 0 and other.returncode == 0, (first.stderr, other.stderr)
    study, storage = STUDIES.get("le2015"), default_storage_url()
    (experiment,) = study.experiments_at("smoke")
    arm = study.arms[0]
    drawn = [[t.params for t in optuna.load_study(study_name=optuna_study_name(study, label, experiment, arm),
                                                  storage=storage).trials]
             for label in ("smoke~sampler=random", "smoke~sampler=random,tuning_seed=1")]
    assert len(drawn[0]) == len(drawn[1]) == study.scale("smoke").trials and drawn[0] != drawn[1]
    reported = bench_main("study", "report", "le2015", "--scale", "smoke~sampler=random,tuning_seed=1")
    assert reported.returncode == 0, reported.stderr
    folder = Path(os.environ["RNNBENCH_HOME"]) / "reports" / "studies" / "le2015@smoke~sampler=random,tuning_seed=1"
    text = (folder / "report.md").read_text()
    assert "random search" in text and "Bent here: --sampler random --tuning-seed 1." in text

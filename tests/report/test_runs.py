"""Which runs a report counts: one run per (configuration, seed). A `bench reproduce` run is never a
seed, and a seed logged twice (a resumed or retried duplicate) counts once, its earliest run; what was
left out is in `ArchRuns.left_out` and the source sentence says so.

The frames are built by hand the way `mlflow.search_runs` returns them: newest first, params as
strings, a tag column absent when no run has that tag.
"""
from __future__ import annotations

import pandas as pd

from bench.report.runs import choose_runs, choose_study_runs

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def run(run_id: str, seed: int | None, minute: int, mse: float, *, arch: str = "gru", lr: str = "0.01",
        status: str = "FINISHED", **tags: str) -> dict[str, object]:
    """One row of a runs frame; ``tags`` use ``_`` for ``.`` (``sweep_role`` is ``tags.sweep.role``)."""
    return {"run_id": run_id, "status": status, "start_time": T0 + pd.Timedelta(minutes=minute),
            "params.train.seed": None if seed is None else str(seed), "params.train.lr": lr, "tags.arch": arch,
            "metrics.test/mse": mse, **{f"tags.{k.replace('_', '.')}": v for k, v in tags.items()}}


def frame(*rows: dict[str, object]) -> pd.DataFrame:
    """Newest first, as MLflow orders a search."""
    return pd.DataFrame(list(rows)).sort_values("start_time", ascending=False, ignore_index=True)


def seeds_of(runs: pd.DataFrame) -> list[str]:
    return sorted(runs["params.train.seed"])


def study_seed(run_id: str, seed: int, minute: int, mse: float, study: str = "gru-adding", **kw: str) -> dict[str, object]:
    return run(run_id, seed, minute, mse, sweep_role="seed", sweep_study=study, **kw)


def test_a_reproduction_of_seed_0_beside_seeds_0_and_1_gives_n_2_and_is_left_out():
    runs = frame(run("a", 0, 0, 0.10), run("b", 1, 1, 0.20), run("r", 0, 2, 0.10, reproduces="a"))
    chosen = choose_runs(runs, "gru")
    assert chosen is not None
    assert len(chosen.runs) == 2 and set(chosen.runs["run_id"]) == {"a", "b"}
    assert chosen.values("metrics.test/mse") == [0.20, 0.10]  # newest first, the copy not among them
    assert list(chosen.left_out["run_id"]) == ["r"] and list(chosen.left_out["left_out"]) == ["reproduction"]
    assert chosen.source == ("2 `bench run` runs with identical configs apart from the seed "
                             "(1 reproduction not counted: one run per seed)")


def test_reproductions_do_not_make_their_config_the_largest_group():
    """Fails on the old rule: config lr=0.03 had 2 seeds + 2 reproductions = 4 runs, beating lr=0.01's 3 seeds."""
    runs = frame(run("a0", 0, 0, 0.1), run("a1", 1, 1, 0.2), run("a2", 2, 2, 0.3),
                 run("b0", 0, 3, 0.4, lr="0.03"), run("b1", 1, 4, 0.5, lr="0.03"),
                 run("r1", 0, 5, 0.4, lr="0.03", reproduces="b0"), run("r2", 0, 6, 0.4, lr="0.03", reproduces="r1"))
    chosen = choose_runs(runs, "gru")
    assert chosen is not None
    assert set(chosen.runs["run_id"]) == {"a0", "a1", "a2"}
    assert chosen.left_out.empty  # the copies reproduce the other config's runs, not these
    assert chosen.source == ("3 `bench run` runs with identical configs apart from the seed "
                             "(2 other `bench run` run(s) with other configs left out)")


def test_a_repeated_seed_of_bench_run_counts_once_the_earliest_kept():
    runs = frame(run("first", 0, 0, 0.10), run("b", 1, 1, 0.20), run("again", 0, 5, 0.15), run("r", 1, 6, 0.2, reproduces="b"))
    chosen = choose_runs(runs, "gru")
    assert chosen is not None
    assert seeds_of(chosen.runs) == ["0", "1"] and set(chosen.runs["run_id"]) == {"first", "b"}
    assert dict(zip(chosen.left_out["run_id"], chosen.left_out["left_out"])) == {"r": "reproduction", "again": "repeated seed"}
    assert chosen.source.endswith("(1 reproduction and 1 repeated seed not counted: one run per seed)")


def test_a_duplicate_finished_seed_rerun_in_a_study_arm_counts_once_the_earliest_kept():
    everything = frame(study_seed("s0", 0, 0, 0.1), study_seed("s1", 1, 1, 0.2), study_seed("s2", 2, 2, 0.3),
                       study_seed("s1-retry", 1, 9, 0.9),  # resumed/retried: a second FINISHED run of seed 1
                       study_seed("s3", 3, 3, 0.0, status="FAILED"),
                       run("t", 0, -1, 0.1, sweep_role="trial", sweep_study="gru-adding"))
    finished = everything[everything["status"] == "FINISHED"]
    chosen = choose_study_runs(finished, "gated", "gru-adding", everything)
    assert chosen is not None and chosen.study == "gru-adding"
    assert set(chosen.runs["run_id"]) == {"s0", "s1", "s2"} and seeds_of(chosen.runs) == ["0", "1", "2"]
    assert sorted(chosen.values("metrics.test/mse")) == [0.1, 0.2, 0.3]  # not the retry's 0.9
    assert list(chosen.left_out["run_id"]) == ["s1-retry"] and list(chosen.left_out["left_out"]) == ["repeated seed"]
    assert chosen.source == ("3 seed reruns of the best trial of sweep study `gru-adding` "
                             "(1 other seed run(s) failed or were stopped and are not counted; "
                             "1 repeated seed not counted: one run per seed)")


def test_a_duplicate_seed_does_not_win_the_choice_of_study_in_choose_runs():
    """Fails on the old rule: study `old` had 3 runs (one seed twice) to `new`'s 3 distinct seeds, and was newer."""
    runs = frame(study_seed("n0", 0, 0, 0.1, study="new"), study_seed("n1", 1, 1, 0.2, study="new"),
                 study_seed("n2", 2, 2, 0.3, study="new"),
                 study_seed("o0", 0, 3, 0.4, study="old"), study_seed("o1", 1, 4, 0.5, study="old"),
                 study_seed("o1b", 1, 5, 0.6, study="old"))
    chosen = choose_runs(runs, "gru")
    assert chosen is not None and chosen.study == "new" and len(chosen.runs) == 3 and chosen.left_out.empty
    assert chosen.source == "3 seed reruns of the best trial of sweep study `new`"


def test_a_reproduction_of_a_seed_rerun_is_not_counted_and_is_listed():
    # `bench reproduce` of a seed rerun logs no sweep tags, only reproduces=<the rerun's id>.
    runs = frame(study_seed("s0", 0, 0, 0.1), study_seed("s1", 1, 1, 0.2), run("r", 0, 5, 0.1, reproduces="s0"))
    chosen = choose_runs(runs, "gru")
    assert chosen is not None and set(chosen.runs["run_id"]) == {"s0", "s1"}
    assert list(chosen.left_out["run_id"]) == ["r"]
    assert chosen.source == "2 seed reruns of the best trial of sweep study `gru-adding` (1 reproduction not counted: one run per seed)"
    arm = choose_study_runs(runs, "gated", "gru-adding")
    assert arm is not None and set(arm.runs["run_id"]) == {"s0", "s1"} and list(arm.left_out["run_id"]) == ["r"]


def test_reproductions_alone_are_never_seeds():
    assert choose_runs(frame(run("r", 0, 0, 0.1, reproduces="gone")), "gru") is None


def test_absent_columns_still_work():
    """No run has a `reproduces` tag (nor a sweep tag): the columns are absent, not empty."""
    runs = frame(run("a", 0, 0, 0.1), run("b", 1, 1, 0.2), run("c", 2, 2, 0.3))
    assert "tags.reproduces" not in runs and "tags.sweep.role" not in runs
    chosen = choose_runs(runs, "gru")
    assert chosen is not None and len(chosen.runs) == 3 and chosen.left_out.empty
    assert chosen.source == "3 `bench run` runs with identical configs apart from the seed"

    study = frame(study_seed("s0", 0, 0, 0.1), study_seed("s1", 1, 1, 0.2), study_seed("s1b", 1, 2, 0.3))
    assert "tags.reproduces" not in study
    arm = choose_study_runs(study, "gated", "gru-adding", study)
    assert arm is not None and set(arm.runs["run_id"]) == {"s0", "s1"} and list(arm.left_out["run_id"]) == ["s1b"]

    no_seed = runs.drop(columns=["params.train.seed"])  # nothing to deduplicate on: every run kept
    chosen = choose_runs(no_seed, "gru")
    assert chosen is not None and len(chosen.runs) == 3 and chosen.left_out.empty


def test_an_empty_reproduces_tag_is_not_a_reproduction():
    runs = frame(run("a", 0, 0, 0.1, reproduces=""), run("b", 1, 1, 0.2))
    runs.loc[runs["run_id"] == "b", "tags.reproduces"] = None
    chosen = choose_runs(runs, "gru")
    assert chosen is not None and len(chosen.runs) == 2 and chosen.left_out.empty


def test_an_arm_without_seed_reruns_is_shown_by_its_best_trials_run_not_the_newest():
    from bench.report.runs import ArchRuns, best_trial_instead

    frame = pd.DataFrame({
        "run_id": ["t2", "t1", "t0"], "status": ["FINISHED"] * 3, "tags.arch": ["gru"] * 3,
        "tags.sweep.role": ["trial"] * 3, "tags.sweep.study": ["s"] * 3, "tags.sweep.trial": ["2", "1", "0"],
        "metrics.num_parameters": [1107.0, 20100.0, 5000.0],
        "start_time": pd.to_datetime(["2026-01-03", "2026-01-02", "2026-01-01"]),
    })
    newest = ArchRuns("gru", frame.iloc[[0]], "no seed reruns: the newest trial of study `s` alone (n = 1)", "s")
    chosen = best_trial_instead(newest, frame, best_trial=1)
    assert list(chosen.runs["run_id"]) == ["t1"] and chosen.values("metrics.num_parameters") == [20100.0]
    assert "the best trial (1)" in chosen.source
    assert best_trial_instead(newest, frame, best_trial=7) is newest  # that trial's run did not finish

"""`bench reproduce RUN_ID`: the same config on the same machine and versions gives identical
metrics (exit 0); a moved metric is reported (exit 1) and version differences are named."""
from __future__ import annotations

import mlflow

from bench.cli import main

TINY = ["run", "--task", "parity", "--opt", "length=4", "--arch", "gru", "--hidden-size", "8", "--max-steps", "60",
        "--eval-every", "20", "--eval-size", "100", "--dropout", "0.2", "--num-layers", "2", "--threads", "1",
        "--no-progress"]


def test_reproduce_reruns_a_logged_run_and_finds_every_metric_identical(bench_main, isolated_store):
    assert main(TINY) == 0
    c = mlflow.tracking.MlflowClient(f"sqlite:///{isolated_store}/mlflow.db")
    (original,) = c.search_runs([c.get_experiment_by_name("parity").experiment_id])
    run_id = original.info.run_id

    same = bench_main("reproduce", run_id, "--no-progress")
    assert same.returncode == 0, same.stderr
    assert "metrics identical" in same.stdout and "test/seq_acc" in same.stdout
    assert "warning" not in same.stderr

    c.log_metric(run_id, "test/loss", 123.0, step=10**6)  # as if the result had been different
    c.set_tag(run_id, "version.torch", "0.0.1")
    moved = bench_main("reproduce", run_id, "--no-progress")
    assert moved.returncode == 1
    assert "warning: version.torch: run 0.0.1" in moved.stderr
    assert "1 of" in moved.stderr and "metrics differ" in moved.stderr and "Traceback" not in moved.stderr
    reruns = [r for r in c.search_runs([original.info.experiment_id]) if r.data.tags.get("reproduces") == run_id]
    assert len(reruns) == 2 and all(r.info.status == "FINISHED" for r in reruns)


def test_a_reproduction_is_shown_but_never_counted_as_a_second_seed(bench_main, isolated_store, tmp_path):
    assert main([*TINY, "--seed", "0"]) == 0
    assert main([*TINY, "--seed", "1"]) == 0
    c = mlflow.tracking.MlflowClient(f"sqlite:///{isolated_store}/mlflow.db")
    seed0 = next(r for r in c.search_runs([c.get_experiment_by_name("parity").experiment_id])
                 if r.data.params["train.seed"] == "0")
    assert bench_main("reproduce", seed0.info.run_id, "--no-progress").returncode == 0
    reported = bench_main("report", "--task", "parity", "--out", str(tmp_path / "report"))
    assert reported.returncode == 0, reported.stderr
    text = (tmp_path / "report" / "report.md").read_text()
    assert "2 `bench run` runs with identical configs apart from the seed (1 reproduction" in text  # n = 2, not 3

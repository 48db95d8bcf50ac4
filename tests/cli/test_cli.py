"""The `bench` command as a user runs it: a separate process, exit codes, one-line errors, MLflow records."""
from pathlib import Path

import pytest

SMALL = ["--opt", "length=6", "--opt", "score=all", "--max-steps", "60", "--eval-every", "30",
         "--eval-size", "200", "--threads", "1", "--no-progress"]


def store_runs(store: Path):
    """All runs in the embedded store (an empty list if it was never created)."""
    if not (store / "mlflow.db").exists():
        return []
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(experiments) if experiments else []


def test_help_explains_every_option_with_its_default(bench_cli):
    result = bench_cli("run", "--help")
    assert result.returncode == 0
    for text in ["--task NAME", "--arch NAME", "--hidden-size", "(default: 64)", "--lr", "--seed", "--opt KEY=VALUE",
                 "--config FILE", "--tracking-uri", "--clip-grad-norm", "--early-stop, --no-early-stop"]:
        assert text in result.stdout, text


def test_list_names_every_task_and_architecture_and_their_options(bench_cli):
    listing = bench_cli("list").stdout
    for name in ["parity", "copy", "addition", "vanilla", "lstm", "gru", "irnn"]:
        assert f"  {name} " in listing
    assert "forget_bias" in bench_cli("list", "lstm").stdout
    assert "score" in bench_cli("list", "parity").stdout


def test_the_readme_shows_what_bench_list_prints(bench_cli):
    """The README's list of tasks and architectures is `bench list`'s output, not a copy that goes stale."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert bench_cli("list").stdout in readme


BAD_INPUTS = {
    "unknown task": (["run", "--task", "parityy"], "did you mean 'parity'"),
    "unknown arch": (["run", "--arch", "lstn"], "did you mean 'lstm'"),
    "negative length": (["run", "--opt", "length=-3"], "task option 'length' must be >= 1"),
    "hidden size 0": (["run", "--hidden-size", "0"], "'hidden_size' must be >= 1"),
    "one-example validation": (["run", "--eval-size", "1"], "'eval_size' must be >= 16"),
    "not a number": (["run", "--lr", "fast"], "'lr' must be float"),
    "unknown option": (["run", "--opt", "lenght=3"], "did you mean 'length'"),
    "bidirectional causal": (["run", "--bidirectional"], "causal"),
    "unknown flag": (["run", "--hiden-size", "3"], "unrecognized arguments"),
    "missing config": (["run", "--config", "nope.yaml"], "cannot read config file"),
    "unknown task in runs": (["runs", "--task", "parityy"], "did you mean 'parity'"),
}


@pytest.mark.parametrize("args, message", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_one_line_exit_2_and_no_run(bench_main, usage_error, isolated_store, args, message):
    usage_error(bench_main(*args), message)
    assert store_runs(isolated_store) == []


def test_malformed_yaml_is_one_line_exit_2(bench_main, usage_error, tmp_path):
    (tmp_path / "bad.yaml").write_text("model: {arch: gru\ntrain: [")
    usage_error(bench_main("run", "--config", str(tmp_path / "bad.yaml")), "not valid YAML")


def test_unwritable_tracking_location_is_one_line_exit_2(bench_cli, usage_error, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = bench_cli("run", *SMALL, "--tracking-uri", f"sqlite:///{blocker}/mlflow.db")
    usage_error(result, "cannot write the tracking store")


@pytest.mark.parametrize("damage", ["noise", "overwritten pages"])
def test_a_corrupt_tracking_store_is_one_line_saying_to_move_it_aside(bench_main, usage_error, tmp_path, damage,
                                                                       empty_mlflow_db):
    store = tmp_path / "damaged" / "mlflow.db"
    store.parent.mkdir()
    if damage == "noise":
        store.write_bytes(bytes(range(256)) * 32)
    else:  # a real MLflow store whose pages were overwritten after its header
        data = bytearray(Path(empty_mlflow_db).read_bytes())
        data[4096:-4096] = bytes((i * 7919) % 251 for i in range(len(data) - 8192))
        store.write_bytes(bytes(data))
    result = bench_main("run", *SMALL, "--tracking-uri", f"sqlite:///{store}")
    usage_error(result, f"the tracking store {store} is corrupt")
    assert f"mv {store} {store}.broken" in result.stderr


def test_unreachable_tracking_server_is_one_line_exit_2(bench_main, usage_error):
    usage_error(bench_main("run", *SMALL, "--tracking-uri", "http://127.0.0.1:9"), "cannot use tracking store")


def test_nan_loss_stops_the_run_and_records_it_failed(bench_cli, isolated_store):
    result = bench_cli("run", "--arch", "irnn", "--optimizer", "sgd", "--lr", "1e30", "--clip-grad-norm", "0",
                       "--opt", "identity_scale=5", "--log-every", "1", *SMALL)
    assert result.returncode == 1, result.stderr
    assert "non-finite training loss" in result.stderr and "Traceback" not in result.stderr
    [run] = store_runs(isolated_store)
    assert run.info.status == "FAILED"
    assert "non-finite" in run.data.tags["failure_reason"]


def test_run_logs_everything_and_its_config_reruns_identically(bench_cli, bench_main, isolated_store, tmp_path):
    first = bench_cli("run", "--arch", "lstm", "--seed", "3", "--log-every", "10", *SMALL)
    assert first.returncode == 0, first.stderr
    assert "test" in first.stdout and "MLflow run" in first.stdout
    [run] = store_runs(isolated_store)
    assert run.info.run_id in first.stdout
    assert run.info.status == "FINISHED"
    assert run.data.params["model.arch"] == "lstm" and run.data.params["task.length"] == "6"
    assert run.data.params["model.forget_bias"] == "1.0"
    for tag in ["git_commit", "version.torch", "version.lightning", "seed", "device"]:
        assert tag in run.data.tags
    for metric in ["num_parameters", "train/seq_acc", "val/seq_acc", "test/seq_acc", "test/len12/seq_acc"]:
        assert metric in run.data.metrics

    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{isolated_store / 'mlflow.db'}")
    assert len(client.get_metric_history(run.info.run_id, "train/batch_loss")) >= 2
    config = Path(client.download_artifacts(run.info.run_id, "config.yaml", str(tmp_path)))
    again = bench_main("run", "--config", str(config), "--no-progress")  # in this process: no second start-up
    assert again.returncode == 0, again.stderr
    rerun = next(r for r in store_runs(isolated_store) if r.info.run_id != run.info.run_id)
    final = {k: v for k, v in run.data.metrics.items() if k.split("/")[0] in ("train", "val", "test")
             and k != "train/batch_loss"}
    assert final and all(rerun.data.metrics[k] == v for k, v in final.items())

    table = bench_main("runs", "--task", "parity", "--format", "csv")
    assert table.returncode == 0, table.stderr
    assert run.info.run_id[:8] in table.stdout and rerun.info.run_id[:8] in table.stdout
    assert "test/seq_acc" in table.stdout.splitlines()[0]
    assert "| lstm " in bench_main("runs", "--task", "parity", "--format", "md").stdout
    assert "forget_bias" not in table.stdout.splitlines()[0].split(",")  # the same in every run: not a column

    other = bench_main("run", "--arch", "lstm", "--seed", "3", *SMALL, "--opt", "forget_bias=2.0")
    assert other.returncode == 0, other.stderr
    header = bench_main("runs", "--task", "parity", "--format", "csv").stdout.splitlines()[0]
    assert "forget_bias" in header.split(",")  # what tells the runs apart is shown


@pytest.mark.fresh_store
def test_two_first_runs_at_once_share_a_new_store(isolated_store):
    """Parallel workers on a fresh machine: both create the same SQLite store without a clash."""
    import os
    import subprocess
    import sys

    command = [sys.executable, "-m", "bench.cli", "run", *SMALL]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
             for _ in range(2)]
    outcomes = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outcomes]
    assert sorted(r.info.status for r in store_runs(isolated_store)) == ["FINISHED", "FINISHED"]

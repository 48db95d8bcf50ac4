"""`bench sweep`: studies reach exactly the requested trials, resume, survive killed workers and bad
trials, and log every trial to MLflow under the study's parent run.

These run real worker processes on the embedded SQLite storage, with tiny trials: 4-bit parity, 16
hidden units. PostgreSQL storage with four racing workers, and a worker killed mid-trial, are tested
on many machines' topology in tests/tracking/test_many_machines.py; signals in tests/sweep/test_signals.py.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from tests.sweep.sweeps import TINY, mlflow_runs, start_sweep, states, study


def test_four_workers_make_exactly_the_trials_asked_log_each_one_and_resume_to_a_larger_count(
        bench_cli, bench_main, isolated_store, space_file):
    first = bench_cli("sweep", *TINY, "--arch", "gru,lstm", "--trials", "3", "--workers", "4",
                      "--max-steps", "30", "--space", space_file, "--seeds", "2")
    assert first.returncode == 0, first.stderr
    assert "parity/gru/params=any" in first.stdout and "parity/lstm/params=any" in first.stdout
    for arch in ("gru", "lstm"):
        finished = study(isolated_store, f"parity/{arch}/params=any")
        assert states(finished.trials) == ["COMPLETE"] * 3 and [t.number for t in finished.trials] == [0, 1, 2]
        seeds = study(isolated_store, f"parity/{arch}/params=any/seeds")
        assert sorted(t.params["train.seed"] for t in seeds.trials) == [0, 1]
        assert states(seeds.trials) == ["COMPLETE"] * 2
    all_trials = [t for a in ("gru", "lstm") for t in study(isolated_store, f"parity/{a}/params=any").trials]
    assert len({t.user_attrs["worker"] for t in all_trials}) >= 2  # the work was really shared

    again = bench_cli("sweep", *TINY, "--arch", "gru", "--trials", "4", "--max-steps", "30", "--space", space_file)
    assert again.returncode == 0, again.stderr
    gru = study(isolated_store, "parity/gru/params=any")
    assert [t.number for t in gru.trials] == [0, 1, 2, 3] and states(gru.trials) == ["COMPLETE"] * 4

    runs = mlflow_runs(isolated_store)
    parents = {r.data.tags["sweep.study"]: r for r in runs if r.data.tags.get("sweep.role") == "parent"}
    assert set(parents) == {"parity/gru/params=any", "parity/lstm/params=any"}
    assert all(p.info.status == "FINISHED" for p in parents.values())
    gru_trials = sorted((r for r in runs if r.data.tags.get("sweep.study") == "parity/gru/params=any"
                         and r.data.tags.get("sweep.role") == "trial"), key=lambda r: int(r.data.tags["sweep.trial"]))
    assert [int(r.data.tags["sweep.trial"]) for r in gru_trials] == [0, 1, 2, 3]
    assert [r.info.run_name.split(" · ")[::2] for r in gru_trials] == [["gru", f"trial {i}"] for i in range(4)]
    assert {r.data.tags["mlflow.parentRunId"] for r in gru_trials} == {parents["parity/gru/params=any"].info.run_id}
    for run, trial in zip(gru_trials, gru.trials):
        assert run.info.status == "FINISHED"
        assert float(run.data.params["train.lr"]) == pytest.approx(trial.params["train.lr"])
        assert run.data.metrics["val/seq_acc"] == pytest.approx(trial.value)
    seed_runs = [r for r in runs if r.data.tags.get("sweep.role") == "seed"]
    assert len(seed_runs) == 4

    status = bench_main("sweep", "status", "--task", "parity")
    assert status.returncode == 0, status.stderr
    assert "parity/gru/params=any " in status.stdout and "parity/lstm/params=any/seeds" in status.stdout
    assert_dashboard_lists(f"sqlite:///{isolated_store}/optuna.db", {"parity/gru/params=any", "parity/lstm/params=any"})


def assert_dashboard_lists(storage, names):
    """optuna-dashboard, started on the storage as it is, serves our studies and their trials."""
    import json
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-c", "from optuna_dashboard._cli import main; main()",
               storage, "--host", "127.0.0.1", "--port", str(port)]
    dashboard = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5) as response:
                    summaries = json.load(response)["study_summaries"]
                break
            except OSError:
                assert time.monotonic() < deadline, "optuna-dashboard did not answer"
                time.sleep(0.5)
        listed = {s["study_name"]: s["study_id"] for s in summaries}
        assert names <= set(listed)
        study_id = listed["parity/gru/params=any"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies/{study_id}", timeout=10) as response:
            assert len(json.load(response)["trials"]) == 4
    finally:
        dashboard.terminate()
        dashboard.wait(timeout=10)


def test_resuming_with_another_search_space_or_fixed_config_is_a_usage_error(isolated_store):
    from bench.core.errors import UsageError
    from bench.tracking.optuna_store import create_or_check, open_storage

    storage = open_storage()
    space = {"train.lr": {"type": "float", "low": 0.001, "high": 0.01}}
    base = {"train": {"max_steps": 30}}
    create_or_check(storage, "parity/gru/params=any", "maximize", space, base)
    create_or_check(storage, "parity/gru/params=any", "maximize", space, base)  # same: resumes
    with pytest.raises(UsageError, match="exists with a different search space \\(train.lr\\)"):
        create_or_check(storage, "parity/gru/params=any", "maximize", {"train.lr": {**space["train.lr"], "high": 0.1}}, base)
    with pytest.raises(UsageError, match="exists with a different fixed config \\(train.max_steps\\)"):
        create_or_check(storage, "parity/gru/params=any", "maximize", space, {"train": {"max_steps": 40}})


def test_a_trial_whose_loss_becomes_nan_fails_with_its_reason_and_the_study_goes_on(bench_cli, isolated_store, tmp_path):
    space = tmp_path / "nan.yaml"
    space.write_text("train.lr: {type: categorical, choices: [1.0e+38, 0.01]}\n"
                     "model.hidden_size: null\ntrain.optimizer: null\ntrain.clip_grad_norm: null\n")
    # Seed 6: random search draws lr 0.01, 1e38, then 0.01 (each trial's draw is seeded by its number).
    result = bench_cli("sweep", *TINY, "--arch", "gru", "--trials", "2", "--max-steps", "60", "--log-every", "5",
                       "--optimizer", "sgd", "--clip-grad-norm", "0", "--sampler", "random", "--space", str(space),
                       "--seed", "6")
    assert result.returncode == 0, result.stderr
    trials = study(isolated_store, "parity/gru/params=any").trials
    failed = [t for t in trials if t.state.name == "FAIL"]
    assert [t.state.name for t in trials].count("COMPLETE") == 2
    assert failed and all(t.params["train.lr"] == 1e38 for t in failed)
    assert "non-finite" in failed[0].user_attrs["fail_reason"]
    assert "failed: " in result.stderr  # reported as it happened
    assert "RUNNING" not in {r.info.status for r in mlflow_runs(isolated_store)}


@pytest.mark.parametrize("args, message", [
    (["--storage", "postgresql://127.0.0.1:1/test"], "cannot use sweep storage postgresql://127.0.0.1:1/test"),
    (["--trials", "0"], "--trials must be at least 1"),
    (["--devices", "gpu0"], "give CUDA device numbers"),
    (["--arch", "gru,lstmm"], "unknown architecture 'lstmm'"),
])
def test_bad_sweep_requests_are_one_line_errors(bench_main, usage_error, args, message):
    usage_error(bench_main("sweep", "--task", "parity", "--arch", "gru", *args), message)


def test_pruned_trials_stop_at_a_validation_step_and_end_their_run_finished(isolated_store):
    """The pruning callback reports every validation at its update step (not epoch 0, as a
    single-epoch synthetic stream would give optuna-integration's callback)."""
    from bench.core.resolve import resolve
    from bench.sweep.worker import pruning_callback
    from bench.train.run import Hooks, run

    config = resolve({"task": {"name": "parity", "length": 4}, "model": {"arch": "gru", "hidden_size": 8},
                      "train": {"max_steps": 200, "eval_every": 40, "eval_size": 64, "early_stop": False}})
    pruner_study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=2.0,
                                                                                                   n_warmup_steps=70))
    trial = pruner_study.ask()
    started = []
    with pytest.raises(optuna.TrialPruned, match="pruned at step 80"):
        run(config, hooks=Hooks(callbacks=[pruning_callback(trial, "val/seq_acc")],
                                stop_exceptions=(optuna.TrialPruned,), on_start=started.append), progress=False)
    pruner_study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    assert sorted(pruner_study.trials[0].intermediate_values) == [40, 80]
    assert pruner_study.trials[0].user_attrs["pruned_at_step"] == 80
    (logged,) = mlflow_runs(isolated_store)
    assert logged.info.run_id == started[0]
    assert logged.info.status == "FINISHED" and "pruned at step 80" in logged.data.tags["stopped_by"]


@pytest.mark.parametrize("args, message", [
    (["--workers-per-device", "2"], "--workers-per-device needs --devices"),
    (["--devices", "0", "--workers-per-device", "2", "--workers", "3"], "not both"),
    (["--devices", "0", "--workers-per-device", "-1"], "--workers-per-device must be at least 0"),
    (["--workers", "0"], "--workers 0: give at least 1 (leave it out for one per --devices entry, else 1)"),
])
def test_bad_workers_per_device_requests_are_one_line_errors(bench_main, usage_error, monkeypatch, args, message):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    usage_error(bench_main("sweep", "--task", "parity", "--arch", "gru", *args), message)


@pytest.mark.parametrize("gpus, message", [
    (0, "--devices 0: CUDA is not available on this machine; leave out --devices"),
    (1, "this machine has 1 CUDA device(s) (0 to 0), not 1"),
])
def test_devices_this_machine_lacks_are_one_line_errors_before_any_worker_starts(bench_main, usage_error, monkeypatch,
                                                                                gpus, message):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    usage_error(bench_main("sweep", "--task", "parity", "--arch", "gru", "--devices", "0" if gpus == 0 else "0,1"),
                message)


@pytest.mark.parametrize("args, workers", [
    ([], 1), (["--workers", "3"], 3), (["--devices", "0,1"], 2), (["--devices", "0", "--workers-per-device", "4"], 4),
    (["--devices", "0,1", "--workers-per-device", "2"], 4), (["--devices", "0,1", "--workers", "3"], 3),
])
def test_workers_per_device_sets_the_number_of_workers(bench_main, monkeypatch, args, workers):
    import pandas as pd
    import torch

    from bench.sweep import orchestrator as sweep

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a machine with two GPUs
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    seen = []
    monkeypatch.setattr(sweep, "run_sweep", lambda plans, options: seen.append(options) or pd.DataFrame())
    assert bench_main("sweep", "--task", "parity", "--arch", "gru", *args).returncode == 0
    assert seen[0].workers == workers


def test_k_workers_per_device_are_pinned_k_to_each_device_with_cuda_visible_devices(monkeypatch, tmp_path):
    """What CUDA_VISIBLE_DEVICES each worker process is started with (no process is started)."""
    import types

    from bench.core.resolve import resolve
    from bench.sweep import orchestrator as sweep

    started = []

    class FakePopen:
        def __init__(self, command, env, **kwargs):
            started.append(env)

    monkeypatch.setattr(sweep.subprocess, "Popen", FakePopen)
    plan = types.SimpleNamespace(name="parity/gru/params=any", direction="maximize", experiment=None, tags={},
                                 config=resolve({"task": {"name": "parity"}}))
    workers = sweep.worker_count(0, 2, ["0", "1"])
    pool = sweep.WorkerPool([plan], sweep.SweepOptions(workers=workers, devices=["0", "1"]))
    pool.start_all()
    assert sorted(env["CUDA_VISIBLE_DEVICES"] for env in started) == ["0", "0", "1", "1"]
    assert all(env["OMP_NUM_THREADS"] == "1" for env in started)
    assert pool.threads == 1


def test_runs_left_open_by_an_outage_are_ended_when_the_server_answers_and_no_other_is_touched(isolated_store):
    """A run that could not be ended (the server was down past the patience, or a stale trial's run,
    which is never ended under the claim lock) is ended at the next look once the server answers;
    one that ended meanwhile keeps its status."""
    from mlflow.exceptions import MlflowException

    from bench.tracking.store import Tracker

    tracker = Tracker()
    left_open = tracker.start_run("parity", "left open", {}, {}, "")
    ended = tracker.start_run("parity", "ended meanwhile", {}, {}, "")
    tracker.end_run(ended, "FINISHED")
    tracker.end_later(left_open, "FAILED", "tracking server http://mlflow:5000 unreachable for 181 s")
    tracker.end_later(ended, "FAILED", "its worker stopped")
    tracker.end_later("0" * 32, "FAILED", "a run that is gone")

    real_get_run = tracker.direct.get_run
    tracker.direct.get_run = lambda run_id: (_ for _ in ()).throw(
        MlflowException("API request failed: Max retries exceeded (Failed to establish a new connection)"))
    tracker.close_pending()
    assert len(tracker.unclosed) == 3  # still down: kept for the next look
    tracker.direct.get_run = real_get_run
    tracker.close_pending()
    assert tracker.unclosed == {}
    closed = tracker.client.get_run(left_open)
    assert closed.info.status == "FAILED" and "unreachable for 181 s" in closed.data.tags["failure_reason"]
    assert tracker.client.get_run(ended).info.status == "FINISHED"


@pytest.mark.parametrize("visible, devices, expected", [
    ("", ["0", "1"], ["0", "1"]), ("3,5", ["0", "1"], ["3", "5"]), ("GPU-uuid-a,GPU-uuid-b", ["1"], ["GPU-uuid-b"]),
])
def test_devices_count_the_gpus_a_scheduler_left_visible(monkeypatch, visible, devices, expected):
    from bench.sweep.orchestrator import physical_device

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    assert [physical_device(d) for d in devices] == expected


def test_a_storage_password_is_in_no_process_arguments_no_mlflow_record_and_no_report(tmp_path, isolated_store):
    """The password of a PostgreSQL storage URL (PostgreSQL on 127.0.0.1, which ignores it under trust
    authentication): given to `bench sweep` with --storage, it reaches no worker's command line (a worker's
    spec is a file only its user reads), no MLflow param or tag; given as RNNBENCH_STORAGE, a report shows it
    redacted."""
    import os
    import uuid

    import psycopg

    database, password = f"rnnbench_secret_{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    with psycopg.connect("postgresql://127.0.0.1:5432/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {database}")
    try:
        url = f"postgresql://root:{password}@127.0.0.1:5432/{database}"
        env = {**os.environ, "RNNBENCH_STORAGE": url}
        sweep = subprocess.Popen([sys.executable, "-m", "bench.cli", "sweep", *TINY, "--arch", "gru", "--trials", "2",
                                  "--workers", "2", "--max-steps", "300", "--no-early-stop", "--storage", url], cwd=tmp_path,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen_workers, leaks = 0, []
        while sweep.poll() is None:
            for proc in Path("/proc").iterdir():
                try:
                    arguments = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if "bench.sweep.worker" in arguments:
                    seen_workers += 1
                    if password in arguments:
                        leaks.append(arguments[:300])
            time.sleep(0.5)
        out, err = sweep.communicate()
        assert sweep.returncode == 0, err
        assert seen_workers and not leaks
        assert password not in err
        assert not list((isolated_store / "sweep-logs").glob("*.spec.json"))  # read, then deleted by each worker
        for run in mlflow_runs(isolated_store):
            assert password not in str(run.data.params) + str(run.data.tags)
        report = subprocess.run([sys.executable, "-m", "bench.cli", "report", "--task", "parity", "--out", "r"],
                                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert report.returncode == 0, report.stderr
        text = (tmp_path / "r" / "report.md").read_text()
        assert f"postgresql://root:***@127.0.0.1:5432/{database}" in text and password not in text
    finally:
        with psycopg.connect("postgresql://127.0.0.1:5432/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def test_the_same_sweep_started_twice_at_once_makes_the_trials_asked_and_repeats_none(tmp_path, isolated_store, space_file):
    """The many-machines recipe of docs/sweeps.md on one box: two `bench sweep` of one study (one worker each, so
    both workers are worker 0 with the same sampler seed) share the work without drawing a configuration twice."""
    args = [*TINY, "--arch", "gru", "--trials", "4", "--workers", "1", "--max-steps", "400", "--no-early-stop",
            "--space", space_file]  # long enough that the two sweeps' trials overlap
    sweeps = [start_sweep(tmp_path, *args) for _ in range(2)]
    for sweep in sweeps:
        _, err = sweep.communicate(timeout=600)
        assert sweep.returncode == 0, err
    trials = study(isolated_store, "parity/gru/params=any").trials
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(complete) >= 4
    drawn = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(drawn)) == len(drawn), drawn


def test_a_one_worker_sweep_draws_the_same_configurations_when_rerun_from_scratch(tmp_path, monkeypatch, space_file):
    import shutil

    args = [*TINY, "--arch", "gru", "--trials", "3", "--workers", "1", "--max-steps", "30", "--space", space_file]
    drawn = []
    for attempt in range(2):
        home = tmp_path / f"home{attempt}"
        monkeypatch.setenv("RNNBENCH_HOME", str(home))
        result = subprocess.run([sys.executable, "-m", "bench.cli", "sweep", *args], cwd=tmp_path, capture_output=True,
                                text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        found = optuna.load_study(study_name="parity/gru/params=any", storage=f"sqlite:///{home}/optuna.db").trials
        drawn.append([sorted(t.params.items()) for t in found])
        shutil.rmtree(home / "mlruns", ignore_errors=True)
    assert drawn[0] == drawn[1]

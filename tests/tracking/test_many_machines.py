"""Many machines, one study, the way a lab runs it: a PostgreSQL database for Optuna's studies,
another for MLflow's backend, one real ``mlflow server --serve-artifacts``, and two "machines" —
two ``bench sweep`` commands with their own working directory and ``RNNBENCH_HOME`` — working on
the same studies; then ``bench report``, ``bench reproduce`` and ``bench run --resume`` from a
third. All on 127.0.0.1 (this machine kind runs PostgreSQL on port 5432).

The faults a lab meets: the MLflow server killed and started again mid-sweep (twice), PostgreSQL
cutting every connection to the studies' database, and one machine's worker killed with SIGKILL. The sweeps must ride them out: exactly the trials asked for,
one FINISHED run per complete trial on the server, nothing left RUNNING, each fault told in a line.
One scenario, not one test per fault: every step costs seconds of process and server start. (It
is also the suite's test of PostgreSQL storage with four racing workers and of a killed worker's
trial retried.)
"""
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import mlflow
import optuna
import pytest
import sqlalchemy

POSTGRES = "postgresql://127.0.0.1:5432/test"
TINY = ["--task", "parity", "--opt", "length=4", "--hidden-size", "16", "--eval-size", "64", "--no-progress"]
LR_ONLY = "train.lr: {type: float, low: 0.001, high: 0.03, log: true}\n" \
          "model.hidden_size: null\ntrain.optimizer: null\ntrain.clip_grad_norm: null\n"


class MlflowServer:
    """``mlflow server`` on a free local port, with a PostgreSQL backend and served artifacts."""

    def __init__(self, backend: str, artifacts: str) -> None:
        self.backend, self.artifacts = backend, artifacts
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log = open(os.path.join(artifacts, os.pardir, "mlflow-server.log"), "ab")

    def start(self, timeout: float = 240) -> None:
        # The job runner (for GenAI evaluation jobs) only slows the start of a tracking server.
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", self.backend, "--serve-artifacts",
             "--artifacts-destination", self.artifacts, "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", "1"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"mlflow server exited {self.process.returncode}; see {self.log.name}"
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{self.url}/health", timeout=2):
                    return
            time.sleep(0.5)
        raise AssertionError(f"mlflow server did not answer within {timeout} s; see {self.log.name}")

    def kill(self) -> None:
        """SIGKILL the server and its uvicorn workers, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A fresh MLflow backend database and server for this module, dropped afterwards."""
    database = f"rnnbench_mlflow_{uuid.uuid4().hex[:8]}"
    # No pool: the test cuts every connection to this database (drop_connections).
    admin = sqlalchemy.create_engine(POSTGRES, isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool)
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{database}"'))
    folder = tmp_path_factory.mktemp("mlflow-server")
    (folder / "artifacts").mkdir()
    running = MlflowServer(f"postgresql://127.0.0.1:5432/{database}", str(folder / "artifacts"))
    try:
        running.start()
        yield running
    finally:
        running.kill()
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def optuna_db():
    """The test's own handle on the studies' database: one storage without a connection pool.

    Every ``optuna.load_study(storage=URL)`` builds an engine whose pooled connection stays open
    until garbage collection; a test polling that way held dozens of PostgreSQL's 100 connections
    and, on a slow machine, ran the server out of them. Without a pool each query opens and closes
    its own connection, which also rides out ``drop_connections``.
    """
    storage = optuna.storages.RDBStorage(POSTGRES, engine_kwargs={"poolclass": sqlalchemy.pool.NullPool})
    yield storage
    storage.engine.dispose()


@pytest.fixture
def studies(optuna_db):
    """Unique study names in the shared Optuna database, deleted afterwards."""
    suffix = f"lab-{uuid.uuid4().hex[:8]}"
    names = [f"parity/gru/params=any/{suffix}", f"parity/gru/params=any/{suffix}/seeds"]
    yield suffix, names
    for name in names:
        with contextlib.suppress(KeyError):
            optuna.delete_study(study_name=name, storage=optuna_db)


def drop_connections(database):
    """What a PostgreSQL restart does to its clients: every connection to ``database`` is cut."""
    admin = sqlalchemy.create_engine(POSTGRES, isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool)
    with admin.connect() as connection:
        dropped = connection.execute(sqlalchemy.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": database}).scalar()
    admin.dispose()
    assert dropped >= 2  # at least the two machines' coordinators were connected


def machine(tmp_path, name):
    """A machine's own working directory and ``RNNBENCH_HOME``."""
    folder = tmp_path / name
    folder.mkdir()
    return folder, {**os.environ, "RNNBENCH_HOME": str(folder / ".bench"), "RNNBENCH_TRACKING_PATIENCE": "180"}


def bench(folder_env, *args, **popen):
    folder, env = folder_env
    return subprocess.Popen([sys.executable, "-m", "bench.cli", *args], cwd=folder, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def finish(process, timeout=400):
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def server_runs(server, study):
    """Every MLflow run of ``study`` on the server, by role (parent, trial, seed)."""
    client = mlflow.tracking.MlflowClient(server.url)
    experiment = client.get_experiment_by_name("parity")
    runs = client.search_runs([experiment.experiment_id], f"tags.`sweep.study` = '{study}'", max_results=1000)
    by_role = {}
    for run in runs:
        by_role.setdefault(run.data.tags["sweep.role"], []).append(run)
    return client, by_role


def test_two_machines_ride_out_server_restarts_and_a_killed_worker_then_a_third_reports_and_resumes(
        tmp_path, server, studies, optuna_db, bench_main):
    suffix, (search, seeds) = studies
    space = tmp_path / "space.yaml"
    space.write_text(LR_ONLY)
    # Two workers on each machine: four racing for the same study's trials under PostgreSQL's lock.
    # A 5 s heartbeat (15 s grace): four workers starved on two busy cores are not taken for dead.
    sweep = ["sweep", *TINY, "--arch", "gru", "--trials", "4", "--seeds", "2", "--workers", "2", "--max-steps", "800",
             "--eval-every", "100", "--no-early-stop", "--checkpoint-every", "100", "--heartbeat", "5",
             "--space", str(space), "--study-suffix", suffix, "--storage", POSTGRES, "--tracking-uri", server.url]
    processes = [bench(machine(tmp_path, name), *sweep) for name in ("a", "b")]
    client = mlflow.tracking.MlflowClient(server.url)

    def running_trial(with_checkpoint=False, timeout=180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(KeyError):
                for trial in optuna.load_study(study_name=search, storage=optuna_db).trials:
                    run_id = trial.user_attrs.get("mlflow_run_id")
                    if trial.state.name == "RUNNING" and run_id and (
                            not with_checkpoint or client.list_artifacts(run_id, "checkpoints")):
                        return trial
            time.sleep(0.3)
        raise AssertionError("no trial started training")

    # Faults: the server crashes mid-trial and comes back (down for a few seconds plus its start);
    # PostgreSQL drops its connections; one machine's worker is killed after its trial's first checkpoint, and the server crashes
    # again while that trial waits to be found stale.
    running_trial()
    server.kill()
    time.sleep(3)
    server.start()
    drop_connections("test")  # and PostgreSQL drops every connection to the studies' database
    victim = running_trial(with_checkpoint=True)
    os.kill(int(victim.user_attrs["worker"].rsplit(":", 1)[1]), signal.SIGKILL)
    server.kill()
    time.sleep(3)
    server.start()
    results = [finish(p) for p in processes]
    errors = "\n".join(err for _, _, err in results)
    assert [code for code, _, _ in results] == [0, 0], errors[-3000:]

    # Each fault told in one line on the terminal of the machine it hit (the workers' lines relayed
    # by their machine's `bench sweep`); no worker died of an outage, only the one killed.
    assert re.search(f"worker [01]: tracking server {server.url} unreachable; retrying for up to 180 s", errors)
    assert re.search(f"worker [01]: tracking server {server.url} back after [0-9]+ s", errors)
    assert errors.count("died (exit code") == 1 and "died (exit code -9); restarting it" in errors
    assert f"{search} trial {victim.number} failed: its worker stopped; retried" in errors

    # Exactly the trials asked for; the killed one failed and was retried with its parameters; the
    # work was shared.
    trials = optuna.load_study(study_name=search, storage=optuna_db).trials
    reruns = optuna.load_study(study_name=seeds, storage=optuna_db).trials
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(complete) == 4 and [t.number for t in trials if t.state.name != "COMPLETE"] == [victim.number]
    assert [t.number for t in trials] == list(range(5))
    (retry,) = [t for t in trials if t.system_attrs.get("failed_trial") == victim.number]
    assert retry.state.name == "COMPLETE" and retry.params == victim.params
    assert sorted(t.params["train.seed"] for t in reruns) == [0, 1] and [t.state.name for t in reruns] == ["COMPLETE"] * 2
    assert len({t.user_attrs["worker"] for t in complete + reruns}) >= 3

    # One FINISHED run on the server per complete trial, with its metrics and weights (through the
    # server's artifact store); the killed trial's run FAILED with the reason; nothing RUNNING.
    _, runs = server_runs(server, search)
    assert sorted(runs) == ["parent", "seed", "trial"] and len(runs["parent"]) == 1
    for role, study_trials in (("trial", complete), ("seed", reruns)):
        assert sorted(r.info.run_id for r in runs[role] if r.info.status == "FINISHED") == sorted(
            t.user_attrs["mlflow_run_id"] for t in study_trials)
    for run in runs["trial"] + runs["seed"]:
        if run.info.status == "FINISHED":
            assert "test/seq_acc" in run.data.metrics
            assert "model.pt" in {a.path for a in client.list_artifacts(run.info.run_id)}
    killed = client.get_run(victim.user_attrs["mlflow_run_id"])
    assert killed.info.status == "FAILED" and "its worker stopped" in killed.data.tags["failure_reason"]
    assert not [r for r in client.search_runs([killed.info.experiment_id], max_results=1000)
                if r.info.status == "RUNNING"]

    # A third machine, holding none of the data (this test's own folder and RNNBENCH_HOME, commands run
    # in this process to save their start-up): the report, a rerun of a seed run, and the killed
    # trial's run continued from its last checkpoint.
    report = bench_main("report", "--task", "parity", "--tracking-uri", server.url, "--storage", POSTGRES,
                        "--out", "report")
    assert report.returncode == 0, report.stderr[-2000:]
    assert "gru" in (tmp_path / "report" / "report.md").read_text()
    rerun = bench_main("reproduce", runs["seed"][0].info.run_id, "--tracking-uri", server.url, "--no-progress")
    assert rerun.returncode == 0, (rerun.stdout + rerun.stderr)[-2000:]  # exit 0: every metric identical
    resume = bench_main("run", "--resume", killed.info.run_id, "--tracking-uri", server.url, "--no-progress")
    assert resume.returncode == 0, resume.stderr[-2000:]
    resumed = client.get_run(killed.info.run_id)
    assert resumed.info.status == "FINISHED" and resumed.data.metrics["steps"] == 800
    assert int(resumed.data.tags["resumed_from_step"]) >= 100

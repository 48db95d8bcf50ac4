"""What the sweep tests share: a tiny trial's options, a search space of the learning rate only, and
ways to read what a sweep left (its Optuna study, its MLflow runs) or watch one as it runs."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import optuna

TINY = ["--task", "parity", "--opt", "length=4", "--hidden-size", "16", "--eval-every", "30",
        "--eval-size", "64", "--no-progress", "--heartbeat", "2"]
LR_ONLY = "train.lr: {type: float, low: 0.001, high: 0.03, log: true}\n" \
          "model.hidden_size: null\ntrain.optimizer: null\ntrain.clip_grad_norm: null\n"


def study(isolated_store, name, storage=None):
    return optuna.load_study(study_name=name, storage=storage or f"sqlite:///{isolated_store}/optuna.db")


def states(trials):
    return sorted(t.state.name for t in trials)


def mlflow_runs(isolated_store, task="parity"):
    client = mlflow.tracking.MlflowClient(f"sqlite:///{isolated_store}/mlflow.db")
    experiment = client.get_experiment_by_name(task)
    return client.search_runs([experiment.experiment_id])


def start_sweep(tmp_path, *args, in_background=False):
    """``in_background``: started as a script's `bench sweep ... &` or a batch scheduler starts it,
    with SIGINT ignored (what a non-interactive shell does to its background jobs)."""
    return subprocess.Popen([sys.executable, "-m", "bench.cli", "sweep", *args], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if in_background else None)


def wait_for_running_trial(sweep, isolated_store, name, timeout=180):
    """The first RUNNING trial of ``sweep`` that has started training (its worker and MLflow run are
    known). Fails at once, with the sweep's output, if the sweep ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sweep.poll() is not None:
            out, err = sweep.communicate()
            raise AssertionError(f"the sweep ended (exit {sweep.returncode}) before a trial of {name} "
                                 f"started:\n{out}\n{err}")
        try:
            for trial in study(isolated_store, name).get_trials(states=(optuna.trial.TrialState.RUNNING,)):
                if "mlflow_run_id" in trial.user_attrs:
                    return trial
        except (KeyError, Exception):
            pass
        time.sleep(0.3)
    sweep.kill()
    out, err = sweep.communicate()
    logs = "\n".join(f"{log}:\n{log.read_text()}" for log in isolated_store.rglob("*.log"))
    raise AssertionError(f"no trial of {name} started within {timeout} s:\n{out}\n{err}\n{logs}")




def workers_of(home):
    """Sweep worker processes started with RNNBENCH_HOME ``home``: this test's workers, not those of
    other tests running beside it."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if b"bench.sweep.worker" in (proc / "cmdline").read_bytes() and str(home).encode() in (proc / "environ").read_bytes():
                found.append(proc.name)
        except OSError:
            pass
    return found

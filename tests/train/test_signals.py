"""A run stopped by a signal: SIGTERM (a scheduler, `timeout`) and Ctrl-C each end the run KILLED with
the reason, in one line, with the shell's exit code for that signal (128 + its number; 130 for Ctrl-C)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import mlflow
import pytest
from lightning.pytorch.callbacks import Callback

from bench.core.errors import forget_signals, raise_on_signal
from bench.core.resolve import resolve
from bench.train.run import Hooks, run

LONG = ["run", "--task", "parity", "--opt", "length=6", "--arch", "gru", "--hidden-size", "16", "--max-steps", "100000",
        "--no-early-stop", "--eval-every", "50", "--threads", "1", "--no-progress"]


def training_run(store, timeout=120):
    """The MLflow run of the `bench run` under test, once it has validated (it is training)."""
    client = mlflow.tracking.MlflowClient(f"sqlite:///{store}/mlflow.db")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        experiment = client.get_experiment_by_name("parity")
        runs = client.search_runs([experiment.experiment_id]) if experiment else []
        if runs and client.get_metric_history(runs[0].info.run_id, "val/loss"):
            return client, runs[0].info.run_id
        time.sleep(0.5)
    raise AssertionError("the run did not start training")


@pytest.mark.parametrize("stop, code, said, reason", [
    (signal.SIGTERM, 143, "bench: stopped by SIGTERM", "stopped by SIGTERM"),
    (signal.SIGINT, 130, "bench: interrupted", "interrupted (Ctrl-C)"),
])
def test_a_signal_ends_the_run_killed_with_its_reason_and_the_shells_exit_code(isolated_store, tmp_path, stop, code,
                                                                              said, reason):
    process = subprocess.Popen([sys.executable, "-m", "bench.cli", *LONG], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        client, run_id = training_run(isolated_store)
        process.send_signal(stop)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == code, err
    assert err.strip().splitlines()[-1].startswith(said) and "Traceback" not in err
    run = client.get_run(run_id)
    assert run.info.status == "KILLED" and run.data.tags.get("failure_reason") == reason



class DropsCtrlCAt(Callback):
    """At update ``step``, Ctrl-C arrives while Python runs a finalizer: the handler's KeyboardInterrupt
    is printed as "Exception ignored in ..." and dropped, as when a weakref callback runs mid-step."""

    def __init__(self, step):
        self.step, self.last = step, 0

    def on_train_batch_end(self, trainer, *args):
        self.last = trainer.global_step
        if trainer.global_step == self.step:
            class Finalized:
                def __del__(self):
                    os.kill(os.getpid(), signal.SIGINT)
                    time.sleep(0.05)  # the handler runs here, inside __del__

            Finalized()


def test_ctrl_c_whose_exception_python_dropped_still_stops_the_run_at_the_next_step(isolated_store):
    config = resolve({"task": {"name": "parity", "length": 4}, "model": {"arch": "gru", "hidden_size": 8},
                      "train": {"max_steps": 200, "eval_every": 100, "early_stop": False, "threads": 1}})
    dropped = DropsCtrlCAt(5)
    previous = signal.signal(signal.SIGINT, raise_on_signal)  # what `bench` installs
    try:
        with pytest.raises(KeyboardInterrupt):
            run(config, hooks=Hooks(callbacks=[dropped]), progress=False)
    finally:
        signal.signal(signal.SIGINT, previous)  # Lightning ignores Ctrl-C once it has seen one
        forget_signals()
    assert dropped.last == 5  # stopped in the next update's end, not at the 200th
    client = mlflow.tracking.MlflowClient(f"sqlite:///{isolated_store}/mlflow.db")
    [killed] = client.search_runs([client.get_experiment_by_name("parity").experiment_id])
    assert killed.info.status == "KILLED" and killed.data.tags["failure_reason"] == "interrupted (Ctrl-C)"

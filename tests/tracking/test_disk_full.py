"""A disk that fills is said as such, in one line, and leaves nothing broken behind: the run FAILED
with the reason, never retried as a server outage, and the store works again once space is freed.

On a real full disk: a small tmpfs mounted for the test (a simulated ENOSPC would not show what
SQLite and MLflow really do). Mounting needs root, as the CI has; elsewhere the tests are skipped.
"""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.sweep.sweeps import workers_of

STUDY = "parity/gru/params=any"
SMALL_RUN = ["run", "--task", "parity", "--opt", "length=4", "--arch", "gru", "--hidden-size", "8",
             "--eval-size", "32", "--no-early-stop", "--threads", "1", "--no-progress"]


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB filesystem, unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk, leave_kib: int):
    """Fill ``disk`` up to ``leave_kib`` KiB of free space; the file to delete to free it."""
    stats = os.statvfs(disk)
    free_kib = stats.f_bavail * stats.f_frsize // 1024
    filler = disk / "filler"
    with open(filler, "wb") as out:
        out.write(b"\0" * max(0, free_kib - leave_kib) * 1024)
    return filler


def statuses(store):
    with sqlite3.connect(store / "mlflow.db") as db:
        return db.execute("SELECT status, (SELECT value FROM tags WHERE tags.run_uuid = runs.run_uuid "
                          "AND key = 'failure_reason') FROM runs ORDER BY start_time").fetchall()


def test_a_disk_that_fills_mid_run_is_one_line_the_run_failed_and_the_store_usable_after(small_disk, bench_cli):
    env = {"RNNBENCH_HOME": str(small_disk), "RNNBENCH_TRACKING_PATIENCE": "60"}
    assert bench_cli(*SMALL_RUN, "--max-steps", "20", env=env).returncode == 0  # the store exists
    filler = fill(small_disk, leave_kib=40)

    # Every 5 steps a validation and a checkpoint: the store or the artifacts run out of space.
    full = bench_cli(*SMALL_RUN, "--max-steps", "3000", "--eval-every", "5", "--checkpoint-every", "5", env=env)
    assert full.returncode == 1
    assert full.stderr.count("\n") == 1 and full.stderr.startswith("bench: disk full ("), full.stderr[-2000:]
    assert "unreachable" not in full.stderr  # not waited out as an outage
    (_, _), (status, reason) = statuses(small_disk)
    assert status == "FAILED" and ("disk is full" in reason or "No space left" in reason)

    filler.unlink()
    again = bench_cli(*SMALL_RUN, "--max-steps", "20", env=env)
    assert again.returncode == 0, again.stderr
    assert [s for s, _ in statuses(small_disk)] == ["FINISHED", "FAILED", "FINISHED"]


def test_a_disk_that_fills_while_the_store_is_created_leaves_no_half_built_store(small_disk, bench_cli):
    env = {"RNNBENCH_HOME": str(small_disk)}
    filler = fill(small_disk, leave_kib=100)  # room to start MLflow's migrations, not to finish them
    full = bench_cli(*SMALL_RUN, "--max-steps", "20", env=env)
    assert full.returncode == 2
    assert full.stderr.count("\n") == 1 and full.stderr.startswith("bench: error: disk full ("), full.stderr

    filler.unlink()
    again = bench_cli(*SMALL_RUN, "--max-steps", "20", env=env)
    assert again.returncode == 0, again.stderr
    assert [s for s, _ in statuses(small_disk)] == ["FINISHED"]


def test_a_disk_that_fills_mid_sweep_stops_its_worker_with_one_line_and_the_same_command_resumes(small_disk, tmp_path):
    """A worker that meets a full disk fails its trial (with that reason, where the store has room to
    record it) and claims no more (each would fail the same way, counted against --max-failures): the
    sweep says "disk full" as its last line, exit 1, even where it has no room to end its parent run,
    and leaves no worker behind; once space is freed the same command completes the study."""
    import optuna

    space = tmp_path / "space.yaml"
    space.write_text("train.lr: {type: float, low: 0.001, high: 0.03, log: true}\n"
                     "model.hidden_size: null\ntrain.optimizer: null\ntrain.clip_grad_norm: null\n")
    env = {**os.environ, "RNNBENCH_HOME": str(small_disk), "RNNBENCH_TRACKING_PATIENCE": "60"}
    sweep = [sys.executable, "-m", "bench.cli", "sweep", "--task", "parity", "--opt", "length=4", "--arch", "gru",
             "--hidden-size", "8", "--eval-size", "32", "--eval-every", "5", "--checkpoint-every", "5", "--no-early-stop",
             "--max-steps", "300", "--trials", "2", "--workers", "1", "--threads", "1", "--space", str(space),
             "--no-progress", "--heartbeat", "2"]
    running = subprocess.Popen(sweep, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    storage = f"sqlite:///{small_disk}/optuna.db"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and running.poll() is None:  # a trial trains: both stores exist
        try:
            if any("mlflow_run_id" in t.user_attrs for t in optuna.load_study(study_name=STUDY, storage=storage).trials):
                break
        except Exception:
            pass
        time.sleep(0.2)
    filler = fill(small_disk, leave_kib=12)  # too little to record the reason or end the parent run
    _, err = running.communicate(timeout=240)
    assert running.returncode == 1, err[-3000:]
    assert err.strip().splitlines()[-1].startswith("bench: disk full ("), err[-3000:]
    assert "Traceback" not in err and "unreachable" not in err
    # The trial's reason, relayed; where the store had no room left to record it, the worker's line says it.
    assert "failed: disk full (" in err or "worker 0: disk full (" in err, err[-3000:]
    assert not workers_of(small_disk)

    filler.unlink()
    again = subprocess.run(sweep, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert again.returncode == 0, again.stderr[-3000:]
    trials = optuna.load_study(study_name=STUDY, storage=storage).trials
    assert [t.state.name for t in trials].count("COMPLETE") == 2
    assert [t.state.name for t in trials].count("FAIL") == 1  # the trial the full disk stopped, retried once
    assert "RUNNING" not in [s for s, _ in statuses(small_disk)]

"""`bench sweep` under a signal: Ctrl-C or a scheduler's SIGTERM stops the workers cleanly and the same
command resumes; SIGKILL, which the sweep cannot catch, still leaves no worker training (each notices
its parent is gone) and the next command ends every run."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

from tests.sweep.sweeps import TINY, mlflow_runs, start_sweep, states, study, wait_for_running_trial, workers_of


def test_sigterm_or_ctrl_c_stops_the_workers_cleanly_and_the_same_command_resumes(tmp_path, isolated_store, space_file):
    """A scheduler's SIGTERM stops the sweep (exit 143), the same command resumes it, Ctrl-C stops that
    one (exit 130), and the same command again completes the study: each stop leaves no trial
    RUNNING, its trial failed with the reason, its run KILLED and no worker behind. The SIGTERM goes to a
    sweep started as a scheduler does, SIGINT ignored: its workers stop all the same. One study
    through both signals: one resume fewer."""
    args = [*TINY, "--arch", "gru", "--trials", "2", "--max-steps", "600", "--no-early-stop", "--space", space_file]
    for stop, code in [(signal.SIGTERM, 143), (signal.SIGINT, 130)]:
        sweep = start_sweep(tmp_path, *args, in_background=stop == signal.SIGTERM)
        wait_for_running_trial(sweep, isolated_store, "parity/gru/params=any")
        sweep.send_signal(stop)
        out, err = sweep.communicate(timeout=120)
        assert sweep.returncode == code, err
        if stop == signal.SIGTERM:  # a scheduler's stop: said in one line
            assert "bench: stopped by SIGTERM" in err.splitlines()[-1]
        assert not workers_of(isolated_store), f"a worker trains on after {stop.name}"
        interrupted = study(isolated_store, "parity/gru/params=any").trials
        assert "RUNNING" not in states(interrupted)
        assert states(interrupted).count("FAIL") == (1 if stop == signal.SIGTERM else 2)
        said = "its worker was stopped by SIGTERM; retried" if stop == signal.SIGTERM else "interrupted (Ctrl-C)"
        assert [t.user_attrs.get("fail_reason") for t in interrupted if t.state.name == "FAIL"][-1] == said
        runs = mlflow_runs(isolated_store)
        assert "RUNNING" not in {r.info.status for r in runs}
        killed = {r.data.tags.get("failure_reason") for r in runs if r.info.status == "KILLED" and "sweep.trial" in r.data.tags}
        assert ("stopped by SIGTERM" if stop == signal.SIGTERM else "interrupted (Ctrl-C)") in killed

    resumed = subprocess.run([sys.executable, "-m", "bench.cli", "sweep", *args], cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert [t.state.name for t in study(isolated_store, "parity/gru/params=any").trials].count("COMPLETE") == 2


def test_a_sweep_killed_outright_leaves_no_worker_training_and_the_next_command_ends_every_run(tmp_path, isolated_store,
                                                                                             space_file):
    """SIGKILL (the OOM killer, `kill -9`, a scheduler past its grace period) gives the sweep no
    chance to stop its workers: each notices that its parent is gone and stops as on SIGTERM."""
    # A trial of 5,000 updates trains for far longer than the 10 s its worker is given to notice.
    args = [*TINY, "--arch", "gru", "--trials", "1", "--max-steps", "5000", "--no-early-stop", "--space", space_file]
    sweep = start_sweep(tmp_path, *args)
    wait_for_running_trial(sweep, isolated_store, "parity/gru/params=any")
    assert workers_of(isolated_store)
    sweep.kill()
    sweep.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and workers_of(isolated_store):
        time.sleep(0.2)
    assert not workers_of(isolated_store), "orphan workers train on"
    assert "RUNNING" not in states(study(isolated_store, "parity/gru/params=any").trials)

    resumed = subprocess.run([sys.executable, "-m", "bench.cli", "sweep", *args], cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert [t.state.name for t in study(isolated_store, "parity/gru/params=any").trials].count("COMPLETE") == 1
    assert "RUNNING" not in {r.info.status for r in mlflow_runs(isolated_store)}



"""Checkpoints and `bench run --resume`: a run killed at a random step continues in the same MLflow
run and ends exactly where an uninterrupted run ends; broken checkpoints are one-line errors."""
from __future__ import annotations

import errno
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import mlflow
import pytest

from bench.cli import main

# Dropout and two layers: the resumed run must also restore the RNG that dropout draws from.
RUN = ["run", "--task", "parity", "--opt", "length=6", "--arch", "gru", "--hidden-size", "16", "--num-layers", "2",
       "--dropout", "0.1", "--max-steps", "1200", "--eval-every", "20", "--checkpoint-every", "40",
       "--eval-size", "128", "--no-early-stop", "--threads", "1", "--no-progress"]


def client(store):
    return mlflow.tracking.MlflowClient(f"sqlite:///{store}/mlflow.db")


def only_run(store, status=None):
    c = client(store)
    experiment = c.get_experiment_by_name("parity")
    if experiment is None:  # not created yet
        return []
    runs = c.search_runs([experiment.experiment_id])
    return [r for r in runs if status is None or r.info.status == status]


def artifact_folder(store, run_id) -> Path:
    return Path(urlparse(client(store).get_run(run_id).info.artifact_uri).path)


def history(store, run_id, key):
    return sorted((p.step, p.value) for p in client(store).get_metric_history(run_id, key))


def first_checkpointed_run(store) -> str:
    """The id of the RUNNING run, once it has written its first checkpoint (within 120 s)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        running = only_run(store, "RUNNING")
        if running and (artifact_folder(store, running[0].info.run_id) / "checkpoints/latest.json").exists():
            return running[0].info.run_id
        time.sleep(0.2)
    raise AssertionError("the run wrote no checkpoint")


def test_a_run_killed_at_a_random_step_resumes_to_exactly_the_uninterrupted_result(isolated_store, tmp_path, capsys):
    assert main(RUN) == 0
    (uninterrupted,) = only_run(isolated_store)

    killed = subprocess.Popen([sys.executable, "-m", "bench.cli", *RUN], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pointer = first_checkpointed_run(isolated_store)
    time.sleep(random.uniform(0.0, 2.0))  # somewhere between two checkpoints
    killed.kill()
    killed.wait()
    assert client(isolated_store).get_run(pointer).info.status == "RUNNING"  # nobody could mark it

    assert main(["run", "--resume", pointer, "--no-progress"]) == 0
    resumed = client(isolated_store).get_run(pointer)
    assert resumed.info.status == "FINISHED" and int(resumed.data.tags["resumed_from_step"]) >= 40
    finals = {k: v for k, v in uninterrupted.data.metrics.items() if k != "train_seconds"}
    assert {k: resumed.data.metrics[k] for k in finals} == finals
    for key in ("train/batch_loss", "val/loss", "val/seq_acc"):  # no gap, no repeated step
        assert history(isolated_store, pointer, key) == history(isolated_store, uninterrupted.info.run_id, key)


def test_a_resumed_run_counts_the_training_time_before_its_checkpoint(isolated_store, stopped_run):
    """train_seconds is the time behind the final weights (reports compare time to target with it):
    the time up to the checkpoint resumed from, which the checkpoint carries, plus the rest."""
    import torch

    for path in (artifact_folder(isolated_store, stopped_run) / "checkpoints").glob("*.ckpt"):
        checkpoint = torch.load(path, weights_only=False)
        assert 0 < checkpoint["rnnbench_train_seconds"] < 300
        checkpoint["rnnbench_train_seconds"] = 1000.0  # as if the part before the stop had trained 1000 s
        torch.save(checkpoint, path)
    assert main(["run", "--resume", stopped_run, "--no-progress"]) == 0
    assert 1000 < client(isolated_store).get_run(stopped_run).data.metrics["train_seconds"] < 1300


@pytest.fixture
def stopped_run(isolated_store):
    """A short run with checkpoints, then marked FAILED, as a crash would leave it."""
    assert main([*RUN[:RUN.index("--max-steps")], "--max-steps", "80", *RUN[RUN.index("--eval-every"):]]) == 0
    (run,) = only_run(isolated_store)
    client(isolated_store).set_terminated(run.info.run_id, "FAILED")
    return run.info.run_id


@pytest.mark.parametrize("name, final", [("gru · hidden 16 · seed 0", "gru · {k}k params · seed 0"),
                                         ("gru · hidden 16 · trial 3", "gru · {k}k params · trial 3"),
                                         ("my run", "my run")])
def test_a_resumed_run_gets_the_final_name_a_fresh_one_gets_and_a_given_name_is_kept(isolated_store, stopped_run,
                                                                                    name, final):
    """A run that crashed before its end still has the name it started with (the size asked for, not
    the parameter count); resumed to its end it is named as if it had never stopped."""
    client(isolated_store).update_run(stopped_run, name=name)
    assert main(["run", "--resume", stopped_run, "--no-progress"]) == 0
    resumed = client(isolated_store).get_run(stopped_run)
    assert resumed.info.run_name == final.format(k=f"{resumed.data.metrics['num_parameters'] / 1000:.1f}")


def test_corrupt_checkpoints_are_a_one_line_error(bench_main, usage_error, isolated_store, stopped_run):
    for name in ("a.ckpt", "b.ckpt"):
        path = artifact_folder(isolated_store, stopped_run) / "checkpoints" / name
        if path.exists():
            path.write_bytes(path.read_bytes()[:200])
    usage_error(bench_main("run", "--resume", stopped_run), f"the checkpoints of run {stopped_run} are corrupt")


def test_a_checkpoint_written_by_another_architecture_is_refused(bench_main, usage_error, isolated_store, stopped_run):
    lstm = [*RUN[:RUN.index("--arch")], "--arch", "lstm", *RUN[RUN.index("--hidden-size"):]]
    lstm[lstm.index("1200")] = "40"
    assert main(lstm) == 0
    (lstm_run,) = [r for r in only_run(isolated_store) if r.data.tags["arch"] == "lstm"]
    target = artifact_folder(isolated_store, stopped_run) / "checkpoints"
    shutil.rmtree(target)
    shutil.copytree(artifact_folder(isolated_store, lstm_run.info.run_id) / "checkpoints", target)
    usage_error(bench_main("run", "--resume", stopped_run), "was written by another model (model.arch is 'lstm'")


@pytest.mark.parametrize("args", [["run", "--resume"], ["reproduce"]])
def test_a_run_id_that_is_not_in_the_store_is_a_one_line_error(bench_main, usage_error, isolated_store, tmp_path, args):
    """Mistyped, or logged to another store: both say where they looked and what to pass."""
    from bench.tracking.store import Tracker

    Tracker()  # creates the (empty) default store
    usage_error(bench_main(*args, "0123456789abcdef"), "no run '0123456789abcdef' in the tracking store")
    other = f"sqlite:///{tmp_path}/other.db"
    Tracker(other)
    usage_error(bench_main(*args, "0123456789abcdef", "--tracking-uri", other), "pass the --tracking-uri it was logged to")


def test_resume_keeps_the_logged_config_and_refuses_finished_runs(bench_main, usage_error, isolated_store, stopped_run):
    usage_error(bench_main("run", "--resume", stopped_run, "--lr", "0.1"), "--resume continues the run's logged config; drop --lr")
    usage_error(bench_main("run", "--resume", stopped_run, "--arch", "lstm"), f"run {stopped_run} is --arch gru, not lstm")
    client(isolated_store).set_terminated(stopped_run, "FINISHED")
    usage_error(bench_main("run", "--resume", stopped_run), "finished; nothing to resume")


def test_a_full_disk_mid_run_fails_the_run_with_the_reason_and_keeps_the_last_checkpoint(isolated_store, monkeypatch):
    """The artifact store starts failing with ENOSPC after the first checkpoint (simulated: the
    machine's disk cannot be filled safely in a test); the run ends FAILED saying so, and the
    checkpoint written before is still the one a resume would load."""
    from mlflow.tracking import MlflowClient

    from bench.core.resolve import resolve
    from bench.train.checkpoints import download_checkpoint
    from bench.train.run import run

    real_log_artifact = MlflowClient.log_artifact
    writes = []

    def log_artifact(self, run_id, local_path, artifact_path=None):
        writes.append(local_path)
        if artifact_path == "checkpoints" and len(writes) > 3:  # config.yaml, then a.ckpt + latest.json
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_log_artifact(self, run_id, local_path, artifact_path)

    monkeypatch.setattr(MlflowClient, "log_artifact", log_artifact)
    config = resolve({"task": {"name": "parity", "length": 4}, "model": {"arch": "gru", "hidden_size": 8},
                      "train": {"max_steps": 200, "eval_every": 20, "checkpoint_every": 40, "eval_size": 64,
                                "early_stop": False}})
    with pytest.raises(OSError, match="No space left"):
        run(config, progress=False)
    (failed,) = only_run(isolated_store)
    assert failed.info.status == "FAILED" and "No space left on device" in failed.data.tags["failure_reason"]
    monkeypatch.setattr(MlflowClient, "log_artifact", real_log_artifact)
    from bench.tracking.store import Tracker

    path, step = download_checkpoint(Tracker(), failed.info.run_id, config, str(isolated_store / "dl"))
    assert step == 40 and Path(path).stat().st_size > 0


def test_a_checkpoint_written_at_a_validation_holds_what_every_callback_made_of_that_validation():
    """A checkpoint is saved after a validation; the stopping callbacks (best weights, first step at
    the target) must already have seen it, or a run resumed from the checkpoint written at the very
    validation that first met the target records a later step than the uninterrupted run."""
    from lightning.pytorch.callbacks import Callback

    from bench.core.resolve import resolve
    from bench.train.run import fit

    class Saves(Callback):  # what the checkpoint writer sees, at the point in the order it runs
        seen: list[tuple[int, dict]] = []

        def on_validation_end(self, trainer, pl_module):
            states = trainer._checkpoint_connector.dump_checkpoint()["callbacks"]
            first = next(v for k, v in states.items() if k.startswith("FirstReached"))
            self.seen.append((trainer.global_step, first))

    config = resolve({"task": {"name": "parity", "length": 3, "score": "all"}, "model": {"arch": "gru", "hidden_size": 8},
                      "train": {"max_steps": 600, "eval_every": 20, "eval_size": 64, "threads": 1, "lr": 1e-2,
                                "early_stop": False}})
    result = fit(config, progress=False, callbacks=[Saves()])
    assert result.steps_to_target is not None
    at_target = dict(Saves.seen)[result.steps_to_target]
    assert at_target == {"step": result.steps_to_target}


def test_a_second_writer_is_refused_while_the_first_is_alive(
        bench_main, usage_error, isolated_store, tmp_path):
    """`bench run --resume` of a run still training would interleave two histories in one run (once
    its writer is killed, the resume goes ahead: the random-kill test above)."""
    training = subprocess.Popen([sys.executable, "-m", "bench.cli", *RUN], cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        live = first_checkpointed_run(isolated_store)
        usage_error(bench_main("run", "--resume", live), f"run {live} is still being trained by ")
        assert client(isolated_store).get_run(live).data.tags["lease.owner"].endswith(f":{training.pid}")
    finally:
        training.kill()
        training.wait()
    assert "resumed_from_step" not in client(isolated_store).get_run(live).data.tags  # the refusal wrote nothing


def test_a_lease_is_live_while_its_process_exists_here_or_its_heartbeat_is_fresh_elsewhere():
    import os
    import socket

    from bench.train.lease import HEARTBEAT_TAG, OWNER_TAG, STALE_SECONDS, live_writer

    here, now = socket.gethostname(), time.time()
    parent = os.getppid()
    assert live_writer({OWNER_TAG: f"{here}:{parent}", HEARTBEAT_TAG: f"{now - 3600}"}, now)  # alive, if quiet
    dead = subprocess.Popen(["true"])
    dead.wait()
    assert live_writer({OWNER_TAG: f"{here}:{dead.pid}", HEARTBEAT_TAG: f"{now}"}, now) is None  # SIGKILLed
    assert live_writer({OWNER_TAG: "elsewhere:1", HEARTBEAT_TAG: f"{now - STALE_SECONDS / 2}"}, now)
    assert live_writer({OWNER_TAG: "elsewhere:1", HEARTBEAT_TAG: f"{now - STALE_SECONDS - 1}"}, now) is None
    assert live_writer({}, now) is None

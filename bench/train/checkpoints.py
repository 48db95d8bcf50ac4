"""Checkpoints in a run's MLflow artifacts, and resuming a run from them.

A checkpoint is Lightning's own (weights, optimizer, loop progress, callbacks' state: early
stopping, best weights, the compile decision) plus what Lightning leaves out: the global torch RNG
state (dropout), a state carried between batches (truncated BPTT) and the resolved config, so a
checkpoint written by another model is recognised. The data stream needs no state of its own: it is
a deterministic function of the seed, and a resumed run replays the batches already consumed
(:class:`bench.train.data.SequenceDataModule`), which costs the generation time only.

Writing is crash-safe: checkpoints alternate between two files, ``checkpoints/a.ckpt`` and
``checkpoints/b.ckpt``, and ``checkpoints/latest.json`` names the last one completely written, so a
run killed while writing one still has the other.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from mlflow.exceptions import MlflowException

from bench.core.config import RunConfig
from bench.core.errors import UsageError
from bench.tracking.store import Tracker

FOLDER = "checkpoints"
SLOTS = ("a.ckpt", "b.ckpt")


class MLflowCheckpoints(Callback):
    """Save a checkpoint after the first validation at least ``every`` steps since the last one,
    and when training ends normally (``every = 0``: only then). Not on Ctrl-C: an optimizer step
    interrupted half-way would be saved half-applied; a resume starts from the last periodic one."""

    def __init__(self, tracker: Tracker, run_id: str, config: RunConfig, every: int) -> None:
        self.tracker, self.run_id, self.config, self.every = tracker, run_id, config, every
        self.last_step = 0
        self.slot = 0
        self._rng_to_restore: dict[str, Any] | None = None

    # -- what goes into a checkpoint beyond Lightning's own -------------------------------------
    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]) -> None:
        checkpoint["rnnbench"] = {
            "config": self.config.to_dict(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }

    def on_load_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]) -> None:
        extra = checkpoint.get("rnnbench", {})
        self._rng_to_restore = extra
        self.last_step = checkpoint.get("global_step", 0)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Restored here, not on load: nothing between loading and the first step may draw from it.
        if self._rng_to_restore:
            torch.set_rng_state(self._rng_to_restore["torch_rng"])
            if self._rng_to_restore.get("cuda_rng") and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(self._rng_to_restore["cuda_rng"])
            self._rng_to_restore = None

    # -- when ----------------------------------------------------------------------------------
    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not self.every or trainer.global_step - self.last_step < self.every:
            return
        self.save(trainer)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.global_step > self.last_step:
            self.save(trainer)

    def save(self, trainer: pl.Trainer) -> None:
        # Metrics up to this step reach MLflow first: a resumed run replays only the steps after it.
        for logger in trainer.loggers:
            if hasattr(logger, "flush"):
                logger.flush()
        with tempfile.TemporaryDirectory() as folder:
            name = SLOTS[self.slot]
            path = Path(folder) / name
            trainer.save_checkpoint(str(path), weights_only=False)
            self.tracker.client.log_artifact(self.run_id, str(path), FOLDER)
            pointer = Path(folder) / "latest.json"
            pointer.write_text(json.dumps({"file": name, "step": trainer.global_step}))
            self.tracker.client.log_artifact(self.run_id, str(pointer), FOLDER)
        self.last_step = trainer.global_step
        self.slot = 1 - self.slot


def download_checkpoint(tracker: Tracker, run_id: str, config: RunConfig, folder: str) -> tuple[str, int]:
    """The newest readable checkpoint of a run, checked against its config: ``(local path, step)``."""
    try:
        names = {os.path.basename(f.path) for f in tracker.client.list_artifacts(run_id, FOLDER)}
    except Exception as exc:
        raise UsageError(f"cannot read the artifacts of run {run_id}: {exc}") from None
    if not names & set(SLOTS):
        raise UsageError(f"run {run_id} has no checkpoint yet (it stopped before its first one); start it again")
    order = list(SLOTS)
    if "latest.json" in names:
        try:
            pointer = json.loads(Path(tracker.client.download_artifacts(run_id, f"{FOLDER}/latest.json", folder)).read_text())
            order.sort(key=lambda name: name != pointer.get("file"))
        except (OSError, ValueError):
            pass  # a torn pointer: try both, newest step first
    problems = []
    candidates = []
    for name in order:
        if name not in names:
            continue
        path = tracker.client.download_artifacts(run_id, f"{FOLDER}/{name}", folder)
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=False)
            step = int(checkpoint["global_step"])
            written_by = checkpoint["rnnbench"]["config"]
        except Exception as exc:
            problems.append(f"{name}: {type(exc).__name__}")
            continue
        mismatch = _model_mismatch(written_by, config.to_dict())
        if mismatch:
            raise UsageError(f"checkpoint {name} of run {run_id} was written by another model ({mismatch}); "
                             "it cannot be resumed as this run")
        candidates.append((step, path))
    if not candidates:
        raise UsageError(f"the checkpoints of run {run_id} are corrupt ({'; '.join(problems)}); start the run again")
    step, path = max(candidates)
    return path, step


def _model_mismatch(written: dict[str, dict[str, object]], wanted: dict[str, dict[str, object]]) -> str:
    for section in ("task", "model"):
        for key in sorted(set(written.get(section, {})) | set(wanted.get(section, {}))):
            a, b = written.get(section, {}).get(key), wanted.get(section, {}).get(key)
            if a != b:
                return f"{section}.{key} is {a!r}, the run has {b!r}"
    return ""


def prepare_resume(tracker: Tracker, run_id: str, config: RunConfig, folder: str) -> tuple[str, dict[str, int]]:
    """Reopen a stopped run: its newest checkpoint (downloaded into ``folder``) and, per metric, the
    last step already logged — the logger skips those when the resumed run replays them."""
    run = tracker.client.get_run(run_id)
    if run.info.status == "FINISHED":
        raise UsageError(f"run {run_id} finished; nothing to resume (rerun it with `bench reproduce {run_id}`)")
    path, step = download_checkpoint(tracker, run_id, config, folder)
    logged = {}
    for key in run.data.metrics:
        history = tracker.client.get_metric_history(run_id, key)
        logged[key] = max(point.step for point in history)
    tracker.client.update_run(run_id, status="RUNNING")
    if "failure_reason" in run.data.tags:
        try:
            tracker.client.delete_tag(run_id, "failure_reason")
        except MlflowException as exc:  # a retry after an outage, when the first try had deleted it
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
    tracker.set_tags(run_id, {"resumed_from_step": step})
    return path, logged

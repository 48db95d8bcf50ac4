"""A logged run, found again: its MLflow record, its resolved config (``config.yaml``), its weights.

The one place a run is read back from MLflow: what ``bench sample``, ``bench reproduce``, ``bench run
--resume`` and the reports (tables, the inside of trained models) start from. A run id that is not
in the store (mistyped, or from another store), or a run without its config or weights, is a
one-line usage error.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from bench.core.config import load_yaml
from bench.core.errors import UsageError
from bench.core.resolve import resolve
from bench.tracking.store import Tracker

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient
    from torch import Tensor

    from bench.core.config import RunConfig


def open_logged_run(run_id: str, tracking_uri: str | None = None) -> tuple[Tracker, Run]:
    """``(tracker, mlflow run)`` for ``run_id`` in the tracking store."""
    if not Tracker.exists(tracking_uri):
        raise UsageError("no tracking store with runs here; train one with `bench run` (or pass --tracking-uri)")
    tracker = Tracker(tracking_uri)
    try:
        run = tracker.client.get_run(run_id)
    except Exception:
        raise UsageError(f"no run {run_id!r} in the tracking store {tracker.uri}; see `bench runs --task TASK` "
                         "for run ids, or pass the --tracking-uri it was logged to") from None
    return tracker, run


def logged_config(client: MlflowClient, run_id: str) -> RunConfig:
    """The run's resolved config, re-resolved (and so re-validated) by the current code."""

    with tempfile.TemporaryDirectory() as folder:
        try:
            path = client.download_artifacts(run_id, "config.yaml", folder)
        except Exception:
            raise UsageError(f"run {run_id} has no config.yaml artifact; it was not logged by `bench run`") from None
        return resolve(load_yaml(path))


def logged_weights(client: MlflowClient, run_id: str) -> dict[str, Tensor]:
    """The trained model's state dict the run saved at its end (artifact ``model.pt``), on the CPU."""
    import torch

    with tempfile.TemporaryDirectory() as folder:
        try:
            path = client.download_artifacts(run_id, "model.pt", folder)
        except Exception:
            raise UsageError(f"run {run_id} has no saved weights (model.pt): it failed, or predates saving; "
                             "train it again with `bench run`") from None
        weights: dict[str, Tensor] = torch.load(Path(path), map_location="cpu", weights_only=True)
        return weights

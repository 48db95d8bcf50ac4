"""The Lightning logger that carries a run's metrics to MLflow, in batches."""
from __future__ import annotations

import time
from collections.abc import Mapping

from lightning.pytorch.loggers import Logger
from lightning.pytorch.utilities import rank_zero_only
from mlflow.entities import Metric

from bench.tracking.store import Tracker


class MLflowMetricsLogger(Logger):
    """A Lightning logger that buffers metrics and sends them to one MLflow run in batches.

    Logging each step straight to MLflow costs several times a small model's training step;
    one ``log_batch`` every ``flush_every`` seconds (and at the end) costs almost nothing.
    """

    def __init__(self, tracker: Tracker, run_id: str, flush_every: float = 10.0,
                 already_logged: Mapping[str, int] | None = None) -> None:
        super().__init__()
        self.tracker, self.run_id, self.flush_every = tracker, run_id, flush_every
        self.already_logged = dict(already_logged or {})
        """A resumed run's last logged step per metric: the replayed steps up to it are not sent twice."""
        self._buffer: list[tuple[str, float, int, int]] = []
        self._last_flush = time.monotonic()

    @property
    def name(self) -> str:
        return "mlflow"

    @property
    def version(self) -> str:
        return self.run_id

    @rank_zero_only
    def log_hyperparams(self, params: object, *args: object, **kwargs: object) -> None:
        """Params are logged once, from the resolved config, when the run starts."""

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        now = int(time.time() * 1000)
        for key, value in metrics.items():
            if key != "epoch" and (step or 0) > self.already_logged.get(key, -1):
                self._buffer.append((key, float(value), now, step or 0))
        if time.monotonic() - self._last_flush > self.flush_every:
            self.flush()

    @rank_zero_only
    def flush(self) -> None:
        batch = [Metric(k, v, ts, step) for k, v, ts, step in self._buffer]
        for i in range(0, len(batch), 1000):
            self.tracker.client.log_batch(self.run_id, metrics=batch[i:i + 1000])
        self._buffer.clear()
        self._last_flush = time.monotonic()

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """Flush; the run's final status is set by :func:`bench.train.run.run`, which knows the reason."""
        self.flush()

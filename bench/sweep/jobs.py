"""What the sweep's coordinator hands its worker processes: the studies to work on and how.

Kept apart from :mod:`bench.sweep.worker` so that the coordinator (``bench sweep``'s own process),
which only starts and watches workers, does not import the training stack a worker needs.
"""
from __future__ import annotations

import dataclasses
import json

from bench.tracking.optuna_store import Direction

EXIT_TOO_MANY_FAILURES = 3
EXIT_DISK_FULL = 4


@dataclasses.dataclass
class Job:
    """One study a worker works on until it holds ``trials`` complete or pruned trials."""

    study: str
    trials: int
    direction: Direction = "minimize"
    seeds_of: str | None = None
    """For the seed reruns: the search study whose best configuration this study reruns per seed."""
    experiment: str | None = None
    """The MLflow experiment of its runs (default: the task's name)."""
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    """Tags every run of the job carries besides the sweep's own (a study's experiment and arm)."""


@dataclasses.dataclass
class WorkerSpec:
    """Everything a worker process needs, passed as JSON on its command line."""

    jobs: list[Job]
    storage: str | None = None
    tracking_uri: str | None = None
    heartbeat: int = 10
    sampler: str = "tpe"
    pruner: str = "median"
    sampler_seed: int = 0
    threads: int = 0
    device: str | None = None
    max_failures: int = 10
    poll_seconds: float = 2.0

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> WorkerSpec:
        data = json.loads(text)
        data["jobs"] = [Job(**job) for job in data["jobs"]]
        return cls(**data)

"""rnnbench: which recurrent architecture is best for this kind of sequence, and how sure are we?

This module is the whole surface a plugin needs: a task, architecture or study file imports from
``bench`` alone (``from bench import Batch, SyntheticTask, option, register_task``). The names are
loaded on first use (PEP 562), so that ``bench --help`` does not import torch.

The packages, bottom layer first (each imports only from layers below it; ``pyproject.toml``'s
import-linter contracts check this in CI):

- ``bench.core``      the contracts and the config: options, RunConfig and its resolution, the
                      registries, Task and Architecture, metrics, network, parameter budgets
- ``bench.tracking``  where results live: the MLflow store and its reading back, Optuna storage
- ``bench.train``     one run: the Lightning module and data, the compile decision, checkpoints
- ``bench.sweep``     many runs: Optuna studies, search spaces, worker processes
- ``bench.report``    reading runs back into tables, statistics, verdicts and figures (it never trains)
- ``bench.study``     published comparisons (``studies/``): run as sweeps, reported claim by claim
- ``bench.api``       every command as a Python function returning objects and DataFrames (notebooks)
- ``bench.cli``       the ``bench`` command, a thin layer over ``bench.api``
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from bench.core.architecture import (
        Architecture,
        FusedRecurrent,
        GatedScanLayer,
        ScanLayer,
        ScannedRecurrent,
        ScanOptions,
        State,
        SteppedRecurrent,
        WeightMaps,
        one_block_more_or_fewer,
    )
    from bench.core.config import ModelConfig
    from bench.core.datafiles import bench_home, cache_dir, file_key
    from bench.core.dataset import DatasetOptions, Example, SequenceDataset, next_step
    from bench.core.errors import RunFailed, UsageError
    from bench.core.kernels import AppendOnlyMemory
    from bench.core.metrics import LOG_STD_MIN, Metric, gaussian_nll
    from bench.core.options import NoOptions, option
    from bench.core.registry import register_architecture, register_study, register_task
    from bench.core.scan import ScanMethod, linear_recurrence, positive
    from bench.core.study import (
        Arm,
        Beats,
        ClosesGap,
        Data,
        Equivalent,
        Experiment,
        Margin,
        MostImportant,
        NoConsistentWinner,
        Published,
        Scale,
        Study,
    )
    from bench.core.task import Batch, Draw, Split, SyntheticOptions, SyntheticTask, Task, to_device

_PUBLIC = {
    "Architecture": "bench.core.architecture", "FusedRecurrent": "bench.core.architecture",
    "State": "bench.core.architecture", "SteppedRecurrent": "bench.core.architecture", "WeightMaps": "bench.core.architecture",
    "ScannedRecurrent": "bench.core.architecture", "ScanLayer": "bench.core.architecture", "GatedScanLayer": "bench.core.architecture",
    "one_block_more_or_fewer": "bench.core.architecture", "ScanOptions": "bench.core.architecture",
    "ScanMethod": "bench.core.scan", "linear_recurrence": "bench.core.scan", "positive": "bench.core.scan",
    "ModelConfig": "bench.core.config", "file_key": "bench.core.datafiles", "bench_home": "bench.core.datafiles", "cache_dir": "bench.core.datafiles",
    "DatasetOptions": "bench.core.dataset", "Example": "bench.core.dataset",
    "SequenceDataset": "bench.core.dataset", "next_step": "bench.core.dataset",
    "AppendOnlyMemory": "bench.core.kernels", "RunFailed": "bench.core.errors", "UsageError": "bench.core.errors",
    "LOG_STD_MIN": "bench.core.metrics", "Metric": "bench.core.metrics", "gaussian_nll": "bench.core.metrics",
    "NoOptions": "bench.core.options", "option": "bench.core.options",
    "register_architecture": "bench.core.registry", "register_task": "bench.core.registry",
    "register_study": "bench.core.registry",
    **{name: "bench.core.study" for name in ("Arm", "Beats", "ClosesGap", "Data", "Experiment", "Margin", "MostImportant",
                                             "NoConsistentWinner", "Equivalent", "Published", "Scale", "Study")},
    "Batch": "bench.core.task", "Draw": "bench.core.task", "Split": "bench.core.task", "SyntheticOptions": "bench.core.task",
    "SyntheticTask": "bench.core.task", "Task": "bench.core.task", "to_device": "bench.core.task",
}
__all__ = [
    "AppendOnlyMemory", "Architecture", "Batch", "DatasetOptions", "Example", "FusedRecurrent", "LOG_STD_MIN", "Metric",
    "ModelConfig", "NoOptions", "RunFailed", "SequenceDataset", "Split", "State", "SteppedRecurrent",
    "SyntheticOptions", "SyntheticTask", "Task", "UsageError", "bench_home", "cache_dir", "file_key",
    "gaussian_nll", "next_step", "option", "register_architecture", "register_task", "to_device",
    "register_study", "Arm", "Beats", "ClosesGap", "Data", "Experiment", "Margin", "MostImportant", "NoConsistentWinner", "Equivalent",
    "Published", "Scale", "Study", "ScannedRecurrent", "ScanLayer", "GatedScanLayer", "one_block_more_or_fewer", "ScanOptions", "ScanMethod",
    "linear_recurrence", "positive", "WeightMaps", "Draw",
]
assert sorted(__all__) == sorted(_PUBLIC)


def __getattr__(name: str) -> object:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'bench' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

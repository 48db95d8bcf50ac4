"""``bench study run``'s plan: a study at one scale becomes ``bench sweep`` studies, one per experiment × arm.

Every arm of every experiment is one Optuna study with the same tuning budget (the scale's trials),
then its best configuration rerun over seeds — in rounds, added where a claim is undecided
(:mod:`bench.study.rounds`) — exactly what ``bench sweep`` does, run by
the same workers (:func:`bench.sweep.orchestrator.run_sweep`): the same MLflow parent and child runs,
resumable with the same command, ``--storage`` and ``--workers`` as for a sweep. The sweep studies are
named ``TASK/ARCH/params=N/STUDY/SCALE/EXPERIMENT/ARM``, so a scale's runs never mix with another's and
``bench study report`` finds them by name; their MLflow runs are in the experiment named after the study.

Data a study needs and cannot generate is looked up (``--data NAME=PATH``, else the data folder);
experiments without their data are skipped and listed, the others run.
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench.core.config import RunConfig, Sections
from bench.core.errors import UsageError
from bench.core.resolve import resolve
from bench.core.study import Arm, Data, Experiment, Study
from bench.sweep.orchestrator import StudyPlan, plan_study
from bench.tracking.optuna_store import study_name

DATA_ENV = "RNNBENCH_DATA"
"""Environment variable naming the data folder (``music/JSB_Chorales.mat`` and the like live under it)."""


def data_folder(given: str | None) -> Path | None:
    """``--data-dir``, else ``$RNNBENCH_DATA``, else none."""
    text = given or os.environ.get(DATA_ENV)
    return Path(text).expanduser() if text else None


def parse_data(pairs: Sequence[str], study: type[Study]) -> dict[str, Path]:
    """``--data NAME=PATH`` pairs, checked against the data the study names."""
    known = sorted({e.data.name for e in study.experiments if e.data})
    found: dict[str, Path] = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or not name or not path:
            raise UsageError(f"--data {pair!r}: write NAME=PATH, e.g. --data jsb=JSB_Chorales.mat")
        if name not in known:
            raise UsageError(f"--data {name}: study {study.name} needs no data called {name!r}; "
                             f"it reads {', '.join(known) or 'no data files'}")
        if not Path(path).expanduser().exists():
            raise UsageError(f"--data {name}={path}: no such file or folder")
        found[name] = Path(path).expanduser().resolve()
    return found


def locate(data: Data, given: Mapping[str, Path], folder: Path | None) -> Path | None:
    """Where ``data`` is: as given, else under the data folder, else nowhere."""
    if data.name in given:
        return given[data.name]
    if folder is not None and (folder / data.path).exists():
        return (folder / data.path).resolve()
    return None


def optuna_study_name(study: type[Study], scale: str, experiment: Experiment, arm: Arm) -> str:
    """The sweep study of one arm on one experiment at one scale (see the module docstring)."""
    params = experiment.params or study.params
    return f"{study_name(experiment.task, arm.arch, params)}/{study.name}/{scale}/{experiment.name}/{arm.label}"


def mlflow_experiment(study: type[Study]) -> str:
    """The MLflow experiment holding every run of the study, at every scale: the study's name, so
    the MLflow UI shows a study's runs together and a task's own experiment (``bench report --task``)
    never mixes them with other runs."""
    return study.name


def arm_names(study: type[Study], scale: str, experiment: Experiment) -> dict[str, str]:
    """Arm label → its sweep study name on ``experiment``, as :func:`plan` names them."""
    return {arm.label: optuna_study_name(study, scale, experiment, arm) for arm in study.arms}


@dataclasses.dataclass
class StudyRun:
    """What ``bench study run`` will do: the sweep studies, and the experiments it skips (why)."""

    study: type[Study]
    scale: str
    plans: list[StudyPlan]
    skipped: list[str]


def arm_config(study: type[Study], scale: str, experiment: Experiment, arm: Arm, data_path: Path | None,
               overrides: Mapping[str, Mapping[str, object]] | None = None) -> RunConfig:
    """The resolved fixed config of one arm on one experiment: protocol < scale < arm < ``overrides``."""
    task: dict[str, object] = {"name": experiment.task, **experiment.options, **arm.task}
    if experiment.data is not None and data_path is not None:
        task[experiment.data.option] = str(data_path)
    layers: Sections = {
        "task": task,
        "model": {"arch": arm.arch, "params": experiment.params or study.params, **study.model, **arm.model},
        "train": {**study.train, **study.scale(scale).train, **arm.train},
    }
    for section, values in (overrides or {}).items():
        layers.setdefault(section, {}).update(values)
    return resolve({}, layers)


def search_space(study: type[Study], scale: str, arm: Arm) -> dict[str, Mapping[str, object] | None]:
    """The study's search space for ``arm``: what the protocol, the scale or the arm fixes is not
    searched, unless the study's ``space`` searches it explicitly."""
    fixed = {**{f"train.{k}": None for k in {**study.train, **study.scale(scale).train, **arm.train}},
             **{f"model.{k}": None for k in {**study.model, **arm.model}}, **{f"task.{k}": None for k in arm.task}}
    return {**fixed, **study.space}


def plan(study: type[Study], scale: str, data: Mapping[str, Path], folder: Path | None,
         overrides: Mapping[str, Mapping[str, object]] | None = None) -> StudyRun:
    """The sweep studies of ``study`` at ``scale`` (configs resolved now: a bad file is one line here)."""
    plans, skipped = [], []
    for experiment in study.experiments_at(scale):
        path = locate(experiment.data, data, folder) if experiment.data else None
        if experiment.data and path is None:
            where = f" or {folder / experiment.data.path}" if folder else ""
            skipped.append(f"{experiment.name}: no data (give --data {experiment.data.name}=PATH{where}; "
                           f"or --data-dir DIR holding {experiment.data.path})")
            continue
        for arm in study.arms:
            config = arm_config(study, scale, experiment, arm, path, overrides)
            plans.append(plan_study(config, search_space(study, scale, arm), experiment=mlflow_experiment(study),
                                    tags={"study.experiment": experiment.name, "study.arm": arm.label},
                                    name=optuna_study_name(study, scale, experiment, arm)))
    return StudyRun(study, scale, plans, skipped)

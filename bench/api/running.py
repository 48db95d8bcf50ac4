"""Training from Python: one run, a sweep, the logged runs — what ``bench run``, ``bench sweep`` and
``bench runs`` do, as functions that return objects.

The command line parses its flags into a :class:`Settings` and calls :func:`run_settings` and
:func:`sweep_settings`, the functions :func:`run` and :func:`sweep` call with their keywords: one
resolution and one set of checks, so the two cannot drift (a run from either logs the same MLflow
record). Only the standard library is imported here; torch, Lightning and MLflow load when a
function runs, so that importing :mod:`bench.api` (and ``bench --help``) stays instant.
"""
from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bench.core.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

    from bench.core.config import RunConfig

UNPARSED = ("name", "arch", "device")
"""Config fields whose strings are names, never read as YAML scalars (``--device 0`` is not 0)."""


def config_fields() -> list[str]:
    """Every settable field of the run config (``name`` is the task's: ``--task``, ``task=``)."""
    from bench.core.config import SECTIONS, section_fields

    return [name for section in SECTIONS for name in section_fields(section)]


def parse_value(value: object) -> object:
    """A string read as the command line reads ``--lr 1e-3`` or ``--opt length=16``; anything else as it is."""
    from bench.core.options import parse_scalar

    return parse_scalar(value) if isinstance(value, str) else value


@dataclasses.dataclass(frozen=True)
class Settings:
    """What a run's config is resolved from: config fields by name (``None``: not given; strings are
    read as on the command line), plugin options (``--opt``; values already read), a YAML file."""

    fields: Mapping[str, object] = dataclasses.field(default_factory=dict)
    options: Mapping[str, object] = dataclasses.field(default_factory=dict)
    config: str | Path | None = None
    keywords: tuple[str, ...] = ()
    """The options given as keywords of a function (not ``--opt``/``opts``): a misspelt setting looks like one."""

    @classmethod
    def of(cls, task: str | None, arch: str | None, config: str | Path | None, opts: Mapping[str, object] | None,
           keywords: Mapping[str, object]) -> Settings:
        """The API's keywords: a config field's name sets that field, any other is a plugin option."""
        known = set(config_fields()) - {"name"}
        fields = {"name": task, "arch": arch, **{k: v for k, v in keywords.items() if k in known}}
        options = {k: parse_value(v) for k, v in keywords.items() if k not in known}
        guessed = tuple(options)
        options.update({k: parse_value(v) for k, v in (opts or {}).items()})
        return cls(fields, options, config, guessed)

    def given(self) -> dict[str, object]:
        return {k: v for k, v in self.fields.items() if v is not None}

    def resolve(self, arch: str | None = None) -> RunConfig:
        """The RunConfig asked for (``arch`` replaces the field: a sweep resolves one per architecture)."""
        from bench.core.config import load_yaml, section_fields
        from bench.core.resolve import resolve

        yaml_values = load_yaml(self.config) if self.config else {}
        given = {**self.given(), **({"arch": arch} if arch else {})}
        overrides: dict[str, dict[str, object]] = {"task": {}, "model": {}, "train": {}}
        for section in overrides:
            for name in section_fields(section):
                if (value := given.get(name)) is not None:
                    overrides[section][name] = value if name in UNPARSED else parse_value(value)
        try:
            return resolve(yaml_values, overrides, self.options)
        except UsageError as exc:
            if (hint := _misspelt_setting(str(exc), self.keywords)) is None:
                raise
            raise UsageError(f"{exc}; {hint}") from None


def _misspelt_setting(message: str, keywords: Sequence[str]) -> str | None:
    """A keyword taken for an unknown plugin option that reads as a config field misspelt (``max_step=50``
    given to :func:`run`) gets this hint; the command line cannot make that mistake (``--max-step`` is no flag)."""
    for key in keywords:
        close = difflib.get_close_matches(key, config_fields(), n=1, cutoff=0.8)
        if close and message.startswith(f"--opt {key}:"):
            return f"or did you mean the setting {close[0]!r}?"
    return None


@dataclasses.dataclass(frozen=True)
class Run:
    """A finished, logged run: what ``bench run`` prints, as values."""

    run_id: str
    metrics: dict[str, float]
    """The final metrics, ``split/metric`` (``test/acc``, ``test/len16/acc``): exactly what ``bench run`` prints."""
    num_parameters: int
    config: RunConfig
    stop_reason: str
    seconds: float
    """The training loop's seconds (as ``bench run`` prints and logs as ``train_seconds``)."""
    steps: int
    device: str
    steps_to_target: int | None
    experiment: str
    tracking_uri: str

    def table(self) -> pd.DataFrame:
        """The metrics as ``bench run`` prints them: one row per evaluation set, one column per metric."""
        from bench.tracking.runs import metrics_frame

        return metrics_frame(self.metrics)


def run_config(settings: Settings, resume: str | None = None, tracking_uri: str | None = None) -> RunConfig:
    """The config a run of ``settings`` trains (``bench run --dry-run`` prints it); a resumed run's is
    its logged one, and other settings would make it another run (a UsageError)."""
    if not resume:
        return settings.resolve()
    from bench.core.config import section_fields
    from bench.tracking.logged import logged_config, open_logged_run

    given = [name for section in ("task", "model", "train") for name in section_fields(section)
             if settings.fields.get(name) is not None and name not in ("name", "arch")]
    if given or settings.config or settings.options:
        flags = ", ".join(f"--{n.replace('_', '-')}" for n in given) or "--config/--opt"
        raise UsageError(f"--resume continues the run's logged config; drop {flags}")
    tracker, _ = open_logged_run(resume, tracking_uri)
    config = logged_config(tracker.client, resume)
    for flag, asked, logged in (("--task", settings.fields.get("name"), config.task.name),
                                ("--arch", settings.fields.get("arch"), config.model.arch)):
        if asked is not None and asked != logged:
            raise UsageError(f"run {resume} is {flag} {logged}, not {asked}")
    return config


def run_resolved(config: RunConfig, tracking_uri: str | None = None, experiment: str | None = None,
                 run_name: str | None = None, progress: bool = False, resume: str | None = None) -> Run:
    """Train and log a resolved ``config``: ``bench run``'s run, after its config."""
    from bench.tracking.store import Tracker, default_tracking_uri

    tracker = Tracker(tracking_uri)  # a bad store is one line now, before the training stack loads
    from bench.train.run import run as train_run

    result = train_run(config, tracker, experiment=experiment, run_name=run_name, progress=progress, resume=resume)
    return Run(run_id=result.run_id, metrics=dict(result.metrics), num_parameters=result.num_parameters, config=config,
               stop_reason=result.stop_reason, seconds=result.seconds, steps=result.steps, device=result.device,
               steps_to_target=result.steps_to_target, experiment=experiment or config.task.name,
               tracking_uri=tracking_uri or default_tracking_uri())


def run(task: str | None = None, arch: str | None = None, *, config: str | Path | None = None, resume: str | None = None,
        opts: Mapping[str, object] | None = None, tracking_uri: str | None = None, experiment: str | None = None,
        run_name: str | None = None, progress: bool = False, **settings: object) -> Run:
    """``bench run`` from Python: train ``task`` with ``arch``, evaluate, log to MLflow, return the :class:`Run`.

    ``settings`` are the config fields ``bench run`` has flags for (``seed=3``, ``max_steps=200``,
    ``lr=1e-3``, ``params=20_000``); any other keyword is a plugin option (``--opt``), as are the keys
    of ``opts`` (``{"task.length": 16}`` where both plugins have the key). Precedence and checks are the
    command line's; a mistake raises :class:`~bench.core.errors.UsageError` before any run exists.
    """
    resolved = run_config(Settings.of(task, arch, config, opts, settings), resume, tracking_uri)
    return run_resolved(resolved, tracking_uri, experiment, run_name, progress, resume)


def config(task: str | None = None, arch: str | None = None, *, config: str | Path | None = None,
           opts: Mapping[str, object] | None = None, **settings: object) -> RunConfig:
    """The RunConfig :func:`run` would train with these arguments, without training (``bench run --dry-run``)."""
    return Settings.of(task, arch, config, opts, settings).resolve()


def runs(task: str, experiment: str | None = None, tracking_uri: str | None = None, all_columns: bool = False) -> pd.DataFrame:
    """``bench runs``: the logged runs of ``task``, newest first (``all_columns``: every param, metric and tag)."""
    from bench.tracking.runs import runs_table

    return runs_table(task, tracking_uri=tracking_uri, experiment=experiment, all_columns=all_columns)


def check_workers(workers: int | None) -> None:
    """``workers`` given is at least 1: left out, it means one per device, else 1, and an explicit 0
    read as that would hide a typo or a script's empty variable."""
    if workers is not None and workers < 1:
        raise UsageError(f"--workers {workers}: give at least 1 (leave it out for one per --devices entry, else 1)")


def names(given: str | Sequence[str] | None) -> list[str]:
    """``"gru, lstm"`` or ``["gru", "lstm"]`` as a list of names, in order, each once."""
    parts = given.split(",") if isinstance(given, str) else list(given or ())
    return list(dict.fromkeys(n.strip() for n in parts if n.strip()))


def devices_text(devices: str | Sequence[int | str] | None) -> str | None:
    return devices if isinstance(devices, str) or devices is None else ",".join(str(d) for d in devices)


@dataclasses.dataclass(frozen=True)
class SweepRequest:
    """``bench sweep``'s own options (the fixed config is a :class:`Settings`)."""

    trials: int = 20
    seeds: int = 0
    workers: int | None = None
    devices: str | None = None
    workers_per_device: int = 0
    storage: str | None = None
    sampler: str = "tpe"
    pruner: str = "median"
    space: str | Path | Mapping[str, Mapping[str, object] | None] | None = None
    study_suffix: str = ""
    heartbeat: int = 10
    max_failures: int = 0
    tracking_uri: str | None = None
    progress: bool = False


def sweep_settings(settings: Settings, request: SweepRequest) -> pd.DataFrame:
    """Run the sweep of every architecture in ``settings``' ``arch`` field; its summary table."""
    from bench.sweep import orchestrator as sweeps

    for flag in ("trials", "workers_per_device", "heartbeat", "max_failures", "seeds"):
        low = 1 if flag in ("trials", "heartbeat") else 0
        if getattr(request, flag) < low:
            raise UsageError(f"--{flag.replace('_', '-')} must be at least {low}")
    for flag, value, allowed in (("sampler", request.sampler, ("tpe", "random")),
                                 ("pruner", request.pruner, ("median", "hyperband", "none"))):
        if value not in allowed:  # the command line's choices= says this before anything runs
            raise UsageError(f"--{flag} {value!r}: choose from {', '.join(allowed)}")
    check_workers(request.workers)
    devices = sweeps.parse_devices(request.devices)
    workers = sweeps.worker_count(request.workers or 0, request.workers_per_device, devices)
    given = settings.fields.get("arch")
    archs = names(given if isinstance(given, str) else None)
    if not archs:
        raise UsageError("bench sweep needs --arch NAME[,NAME...] (see `bench list`)")
    space = request.space
    if isinstance(space, (str, Path)):
        from bench.sweep.search_space import load_space_file

        space = load_space_file(space)
    plans = [sweeps.plan_study(settings.resolve(arch=arch), space, request.study_suffix) for arch in archs]
    options = sweeps.SweepOptions(
        trials=request.trials, seeds=request.seeds, workers=workers, devices=devices, storage=request.storage,
        tracking_uri=request.tracking_uri, sampler=request.sampler, pruner=request.pruner, heartbeat=request.heartbeat,
        max_failures=request.max_failures, progress=request.progress)
    return sweeps.run_sweep(plans, options)


def sweep(task: str | None = None, arch: str | Sequence[str] | None = None, *, trials: int = 20, seeds: int = 0,
          workers: int | None = None, devices: str | Sequence[int | str] | None = None, workers_per_device: int = 0,
          storage: str | None = None, sampler: str = "tpe", pruner: str = "median",
          space: str | Path | Mapping[str, Mapping[str, object] | None] | None = None, study_suffix: str = "",
          heartbeat: int = 10, max_failures: int = 0, tracking_uri: str | None = None, progress: bool = False,
          config: str | Path | None = None, opts: Mapping[str, object] | None = None, **settings: object) -> pd.DataFrame:
    """``bench sweep`` from Python: an Optuna study per architecture (then ``seeds`` reruns of each
    best); the summary table it prints. ``space``: a YAML file as ``--space`` takes, or its mapping
    (``{"train.lr": {"type": "float", "low": 1e-3, "high": 3e-2, "log": True}, "model.hidden_size": None}``).
    ``settings`` and ``opts`` fix the rest of every trial, as for :func:`run`."""
    arch_text = ",".join(names(arch))
    request = SweepRequest(trials, seeds, workers, devices_text(devices), workers_per_device, storage, sampler, pruner,
                           space, study_suffix, heartbeat, max_failures, tracking_uri, progress)
    return sweep_settings(Settings.of(task, arch_text or None, config, opts, settings), request)


def sweep_status(task: str, storage: str | None = None) -> pd.DataFrame:
    """``bench sweep status``: trials done, running, failed and pruned per study of ``task``, best so far."""
    from bench.tracking.optuna_store import open_storage, status_table

    if not task:
        raise UsageError("bench sweep status needs --task NAME")
    return status_table(open_storage(storage), task)

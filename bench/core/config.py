"""The run config: typed dataclasses (filled in by :func:`bench.core.resolve.resolve` from defaults ←
recommendations ← YAML ← command line) and the YAML file format they are saved in.

The resolved config is complete (every task and architecture option filled in), is what a run logs
to MLflow as params and as ``config.yaml``, and ``bench run --config config.yaml`` reruns it exactly.

YAML layout — plugin options sit inline beside the section's own fields::

    task:  {name: parity, length: 8, score: all}
    model: {arch: lstm, hidden_size: 64, forget_bias: 1.0}
    train: {lr: 0.003, max_steps: 1000, seed: 0}
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import yaml

from bench.core.errors import UsageError
from bench.core.options import as_dict, fields_of, load_yaml_text, option
from bench.core.registry import DEFAULT_ARCH, DEFAULT_TASK

Values = dict[str, object]
"""Settings by name as YAML, the command line or a logged config give them: plain values that a
dataclass (a section's, a plugin's ``Options``) checks and coerces with :func:`bench.core.options.build`."""
Sections = dict[str, Values]
"""``{section: {key: value}}`` for the sections ``task``, ``model``, ``train`` (plugin options inline)."""


@dataclasses.dataclass
class TaskConfig:
    name: str = option(DEFAULT_TASK, "task to run (see `bench list`)")
    options: object = None
    """The task's ``Options`` instance, built and checked once by :func:`bench.core.resolve.resolve`
    and handed to the task as it is (None: the task's defaults)."""


@dataclasses.dataclass
class ModelConfig:
    arch: str = option(DEFAULT_ARCH, "architecture to run (see `bench list`)")
    hidden_size: int = option(64, "recurrent units per layer (and direction)", min=1)
    params: int = option(0, "parameter budget: choose the hidden size whose network has this many "
                            "trainable parameters (0: use --hidden-size)", min=0)
    num_layers: int = option(1, "stacked recurrent layers", min=1)
    dropout: float = option(0.0, "dropout between layers and before the output head", min=0.0, below=1.0)
    bidirectional: bool = option(False, "run a second layer backwards in time (only for non-causal tasks)")
    embed_dim: int = option(0, "embedding size for token inputs; 0 feeds them one-hot", min=0)
    compile: Literal["on", "off"] = option(
        "off", "torch.compile the step of custom (stepped) cells: costs about a minute, pays only in long runs "
               "(results/BENCHMARKS.md, target 3)")
    options: object = None
    """The architecture's ``Options`` instance, as for :attr:`TaskConfig.options`."""


@dataclasses.dataclass
class TrainConfig:
    optimizer: Literal["adam", "rmsprop", "sgd"] = option("adam", "optimizer")
    lr: float = option(3e-3, "learning rate", above=0.0)
    momentum: float = option(0.0, "momentum for sgd and rmsprop", min=0.0, below=1.0)
    weight_decay: float = option(0.0, "L2 weight decay", min=0.0)
    batch_size: int = option(64, "sequences per batch", min=1)
    max_steps: int = option(2000, "stop after this many updates", min=1)
    max_epochs: int = option(0, "stop after this many passes over a dataset (0: no limit; datasets only)", min=0)
    clip_grad_norm: float = option(1.0, "clip the gradient's global norm to this (0: no clipping)", min=0.0)
    eval_every: int = option(100, "validate every this many updates", min=1)
    # Fewer examples and a validation can meet a 100% target by chance: at chance on a two-way
    # task all 16 come out right with probability 2^-16, small beside the validations a run makes.
    eval_size: int = option(1000, "examples in each generated evaluation set (at least 16)", min=16)
    early_stop: bool = option(True, "stop as soon as validation reaches the task's target (e.g. 100% accuracy)")
    patience: int = option(0, "stop after this many validations without a better target metric, then "
                                "evaluate the best-validation weights (0: never; train to the last step)", min=0)
    lr_decay: float = option(1.0, "multiply the learning rate by this when more than lr_patience validations in a "
                                  "row bring no better target metric (1: keep it constant)", above=0.0, max=1.0)
    lr_patience: int = option(2, "validations in a row without a better target metric that lr_decay waits out",
                              min=0)
    seed: int = option(0, "seed for weights, data and dropout: same seed, same run", min=0, max=2**31 - 1)
    device: str = option("auto", "auto (CUDA if present, else CPU), cpu, cuda, cuda:N or mps")
    threads: int = option(0, "CPU threads for torch (0: 1 for small models, else one per core up to 4)", min=0)
    log_every: int = option(50, "log training loss every this many updates", min=1)
    checkpoint_every: int = option(500, "save a resumable checkpoint to the run's artifacts at the first "
                                        "validation this many updates after the last one (0: only at the end)", min=0)
    deterministic: bool = option(False, "deterministic algorithms only (GPU: bitwise repeatable, slower; "
                                        "CPU runs are repeatable without it)")


RETIRED_VALUES: dict[tuple[str, str], dict[object, object]] = {("model", "compile"): {"auto": "off"}}
"""Values that configs written by earlier versions hold (a run's config.yaml, a sweep study's fixed
config) and what they read as now: ``--compile auto`` never compiled a default run, so it is off."""


def current_values(layers: Mapping[str, Mapping[str, object]]) -> dict[str, dict[str, object]]:
    """A copy of ``{section: {key: value}}`` with every retired value read as its successor."""
    copied = {section: dict(values) for section, values in layers.items()}
    for (section, key), successors in RETIRED_VALUES.items():
        value = copied.get(section, {}).get(key)
        if isinstance(value, str) and value in successors:
            copied[section][key] = successors[value]
    return copied


@dataclasses.dataclass
class RunConfig:
    task: TaskConfig = dataclasses.field(default_factory=TaskConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)

    def to_dict(self) -> Sections:
        """Nested plain dict with plugin options inline: the YAML layout of the module docstring."""
        out: Sections = {}
        for section in SECTIONS:
            values = as_dict(getattr(self, section))
            options = values.pop("options", None)
            out[section] = {**values, **(as_dict(options) if options is not None else {})}
        return out

    def plugin_options(self, section: Literal["task", "model"]) -> Values:
        """The task's or the architecture's options as plain values (the defaults' where none were built)."""
        options = getattr(self, section).options
        return as_dict(options) if options is not None else {}

    def to_yaml(self) -> str:
        text: str = yaml.safe_dump(self.to_dict(), sort_keys=False)
        return text

    def flat(self) -> Values:
        """``section.key → value``: MLflow params."""
        return {f"{s}.{k}": v for s, values in self.to_dict().items() for k, v in values.items()}


SECTIONS = ("task", "model", "train")
SECTION_CLASSES: dict[str, type] = {"task": TaskConfig, "model": ModelConfig, "train": TrainConfig}


def section_fields(section: str) -> list[str]:
    return [f.name for f, _ in fields_of(SECTION_CLASSES[section]) if f.name != "options"]


def load_yaml(path: str | Path) -> Sections:
    """Read a config file; malformed or misshapen files are UsageErrors."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise UsageError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        data = load_yaml_text(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise UsageError(f"config file {path} is not valid YAML{where}; fix it or drop --config") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"config file {path} must be a mapping with sections {', '.join(SECTIONS)}")
    for key, value in data.items():
        if key not in SECTIONS:
            raise UsageError(f"config file {path}: unknown section {key!r} (sections: {', '.join(SECTIONS)})")
        if value is not None and not isinstance(value, dict):
            raise UsageError(f"config file {path}: section {key!r} must be a mapping of option: value")
    return {k: dict(v or {}) for k, v in data.items()}

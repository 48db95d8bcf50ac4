"""Search spaces for sweeps: which config keys a study samples, and from what distribution.

A space maps a config key (``section.key``, as in ``bench run --dry-run`` output; plugin options
such as ``model.forget_bias`` included) to a spec::

    train.lr:           {type: float, low: 1.0e-4, high: 3.0e-2, log: true}
    model.hidden_size:  {type: int, low: 16, high: 256, log: true}
    train.optimizer:    {type: categorical, choices: [adam, rmsprop]}

The default space is :data:`DEFAULT_SPACE`, refined by the architecture's and then the task's
``search_space`` class attribute (declared next to them), then by a YAML file (``--space``), where
a key set to ``null`` is dropped. With a parameter budget (``--params``) the hidden size follows from
the budget, so it is not searched. Specs are plain data so that a study can store its space and
refuse to resume with a different one.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.core.errors import UsageError

if TYPE_CHECKING:
    import optuna

    from bench.core.config import Sections
from bench.core.options import load_yaml_text

Spec = dict[str, Any]
Space = dict[str, Spec]

DEFAULT_SPACE: Space = {
    # Greff et al. 2017 found the learning rate the most important hyperparameter by far.
    "train.lr": {"type": "float", "low": 1e-4, "high": 3e-2, "log": True},
    "model.hidden_size": {"type": "int", "low": 16, "high": 256, "log": True},
    "train.clip_grad_norm": {"type": "categorical", "choices": [0.5, 1.0, 5.0]},
    "train.optimizer": {"type": "categorical", "choices": ["adam", "rmsprop"]},
}


def check_spec(key: str, given: object) -> Spec:
    """A validated copy of one spec; a UsageError saying what is wrong otherwise."""
    where = f"search space key {key!r}"
    if "." not in key or key.split(".", 1)[0] not in ("task", "model", "train"):
        raise UsageError(f"{where}: write section.key with section task, model or train (e.g. train.lr)")
    if not isinstance(given, Mapping) or given.get("type") not in ("float", "int", "categorical"):
        raise UsageError(f"{where}: needs type float, int or categorical, e.g. {{type: float, low: 1e-4, high: 1e-2}}")
    spec: Spec = dict(given)
    if spec["type"] == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise UsageError(f"{where}: a categorical needs a non-empty list of choices")
        unknown = set(spec) - {"type", "choices"}
    else:
        low, high = spec.get("low"), spec.get("high")
        number = (int,) if spec["type"] == "int" else (int, float)
        if not isinstance(low, number) or not isinstance(high, number) or isinstance(low, bool) or low > high:
            raise UsageError(f"{where}: needs numbers low <= high")
        if spec.get("log") and low <= 0:
            raise UsageError(f"{where}: a log scale needs low > 0")
        if not all(map(math.isfinite, (low, high))):
            raise UsageError(f"{where}: low and high must be finite")
        unknown = set(spec) - {"type", "low", "high", "log", "step"}
    if unknown:
        raise UsageError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    return spec


def load_space_file(path: str | Path) -> dict[str, Spec | None]:
    """A YAML file of ``key: spec`` (or ``key: null`` to drop a key from the default space)."""

    try:
        data = load_yaml_text(Path(path).read_text())
    except OSError as exc:
        raise UsageError(f"cannot read search space file {path}: {exc.strerror or exc}") from None
    except Exception:
        raise UsageError(f"search space file {path} is not valid YAML; fix it or drop --space") from None
    if not isinstance(data, dict):
        raise UsageError(f"search space file {path} must map config keys to specs, e.g. 'train.lr: {{type: float, ...}}'")
    return data


def build_space(task_cls: type, arch_cls: type, params_budget: int,
                overrides: Mapping[str, Mapping[str, object] | None] | None = None) -> Space:
    """The space a study of this task and architecture samples (see the module docstring)."""
    space: dict[str, Mapping[str, object] | None] = dict(DEFAULT_SPACE)
    for layer in (getattr(arch_cls, "search_space", {}), getattr(task_cls, "search_space", {}), overrides or {}):
        space.update(layer)
    if params_budget:
        space.pop("model.hidden_size", None)
    return {key: check_spec(key, spec) for key, spec in sorted(space.items()) if spec is not None}


def suggest(trial: optuna.Trial, space: Space) -> dict[str, object]:
    """Draw one value per key from an Optuna trial (a retried trial gets its earlier values back)."""
    values: dict[str, object] = {}
    for key, spec in space.items():
        if spec["type"] == "categorical":
            values[key] = trial.suggest_categorical(key, spec["choices"])
        elif spec["type"] == "int":
            values[key] = trial.suggest_int(key, spec["low"], spec["high"], log=bool(spec.get("log")),
                                            step=spec.get("step", 1))
        else:
            values[key] = trial.suggest_float(key, spec["low"], spec["high"], log=bool(spec.get("log")),
                                              step=spec.get("step"))
    return values


def as_overrides(values: Mapping[str, object]) -> Sections:
    """``{"train.lr": 0.01}`` → ``{"train": {"lr": 0.01}}``: the shape :func:`bench.core.resolve.resolve` takes."""
    sections: Sections = {}
    for key, value in values.items():
        section, name = key.split(".", 1)
        sections.setdefault(section, {})[name] = value
    return sections

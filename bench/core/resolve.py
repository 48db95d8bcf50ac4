"""Resolve a complete, validated :class:`~bench.core.config.RunConfig` from its layers.

Precedence, lowest first: the dataclass defaults, the architecture's then the task's
``recommended`` settings, the YAML file, the command line. Resolving is a pipeline of named steps;
two of them reach beyond parsing, on purpose, so that every mistake is a one-line error before any
MLflow run exists: checking the plugin options (a data task reads its files there) and matching a
parameter budget (which builds the network on the meta device).
"""
from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from bench.core.budget import match_budget
from bench.core.config import ModelConfig, RunConfig, Sections, TaskConfig, TrainConfig, current_values, section_fields
from bench.core.errors import UsageError
from bench.core.network import build_task
from bench.core.options import build, fields_of
from bench.core.registry import ARCHITECTURES, TASKS

if TYPE_CHECKING:
    from bench.core.architecture import Architecture
    from bench.core.task import Task

Layers = Sections
"""One layer of settings (YAML file, command line, recommendations), ``{section: {key: value}}``."""


def resolve(
    yaml_values: Mapping[str, Mapping[str, object]] | None = None,
    overrides: Mapping[str, Mapping[str, object]] | None = None,
    plugin_options: Mapping[str, object] | None = None,
) -> RunConfig:
    """The complete run config of ``yaml_values`` and ``overrides`` (the command line).

    Both are ``{section: {key: value}}``; a key that is not a field of its section is a plugin
    option of that section's task/architecture. ``plugin_options`` are command-line
    ``--opt key=value`` pairs, routed to whichever plugin declares ``key``.
    """
    given = _layered(yaml_values, overrides)
    task_cls, arch_cls = _plugins(given)
    merged = _recommended(task_cls, arch_cls)
    _merge(merged, given)
    _merge(merged, _route_plugin_options(plugin_options or {}, task_cls, arch_cls))
    config = _build_sections(merged, task_cls, arch_cls)
    _fit_layers_to_architecture(config, given, arch_cls)
    _check_combinations(config, task_cls, arch_cls)
    _check_plugin_options(config, task_cls, arch_cls)
    if config.model.params:
        config.model, _ = match_budget(build_task(config), config.model, config.model.params)
    return config


def _merge(base: Layers, update: Mapping[str, Mapping[str, object]]) -> None:
    for section, values in update.items():
        base.setdefault(section, {}).update(values)


def _layered(yaml_values: Mapping[str, Mapping[str, object]] | None,
             overrides: Mapping[str, Mapping[str, object]] | None) -> Layers:
    """What the user gave: the YAML file, then the command line over it (values an earlier version
    wrote read as they do now)."""
    layers: Layers = {}
    _merge(layers, current_values(yaml_values or {}))
    _merge(layers, current_values(overrides or {}))
    return layers


def _plugins(given: Layers) -> tuple[type[Task], type[Architecture]]:
    """The task and architecture classes named (or the defaults); unknown names are UsageErrors."""
    task_name = given.get("task", {}).get("name", TaskConfig.name)
    arch_name = given.get("model", {}).get("arch", ModelConfig.arch)
    if not isinstance(task_name, str) or not isinstance(arch_name, str):
        raise UsageError("task name and model arch must be strings (see `bench list`)")
    return TASKS.get(task_name), ARCHITECTURES.get(arch_name)


def _recommended(task_cls: type[Task], arch_cls: type[Architecture]) -> Layers:
    """The plugins' ``recommended`` settings (``section.key``), the task's over the architecture's."""
    layers: Layers = {}
    for dotted, value in {**arch_cls.recommended, **task_cls.recommended}.items():
        section, key = dotted.split(".", 1)
        layers.setdefault(section, {})[key] = value
    return layers


def _route_plugin_options(
    plugin_options: Mapping[str, object], task_cls: type[Task], arch_cls: type[Architecture]
) -> Layers:
    """Send each ``key=value`` to the task or the architecture, whichever declares ``key``.

    ``task.key`` / ``model.key`` say it explicitly when both declare the same name.
    """
    declared = {
        "task": {f.name for f, _ in fields_of(task_cls.Options)},
        "model": {f.name for f, _ in fields_of(arch_cls.Options)},
    }
    routed: Layers = {"task": {}, "model": {}}
    for key, value in plugin_options.items():
        section, _, name = key.rpartition(".")
        if section:
            if section not in routed:
                raise UsageError(f"--opt {key}: prefix must be 'task.' or 'model.'")
            routed[section][name] = value
            continue
        owners = [s for s in ("task", "model") if key in declared[s]]
        if len(owners) == 2:
            raise UsageError(f"--opt {key}: both the task and the architecture have it; write task.{key} or model.{key}")
        if not owners:
            valid = sorted(declared["task"] | declared["model"])
            close = difflib.get_close_matches(key, valid, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"valid here: {', '.join(valid) or 'none'}"
            raise UsageError(
                f"--opt {key}: neither task {task_cls.name!r} nor architecture {arch_cls.name!r} has this option ({hint})"
            )
        routed[owners[0]][key] = value
    return routed


def _build_sections(merged: Layers, task_cls: type[Task], arch_cls: type[Architecture]) -> RunConfig:
    """Each section's dataclass from its merged values: names, types and bounds checked. The keys a
    section does not have are its plugin's options, built into the plugin's ``Options`` instance."""

    def split(section: str) -> tuple[dict[str, object], dict[str, object]]:
        values = dict(merged.get(section, {}))
        return {k: values.pop(k) for k in list(values) if k in section_fields(section)}, values

    own, rest = split("task")
    options: object = build(task_cls.Options, rest, "task option")
    task = dataclasses.replace(build(TaskConfig, own, "task option"), options=options)
    own, rest = split("model")
    options = build(arch_cls.Options, rest, "model option")
    model = dataclasses.replace(build(ModelConfig, own, "model option"), options=options)
    own, rest = split("train")
    if rest:
        build(TrainConfig, rest, "train option")  # raises: unknown key, with a suggestion
    return RunConfig(task, model, build(TrainConfig, own, "train option"))


def _fit_layers_to_architecture(config: RunConfig, given: Layers, arch_cls: type[Architecture]) -> None:
    """A task's recommended depth is cut to what the architecture supports; a user's is not."""
    limit = arch_cls.max_layers
    if limit is not None and config.model.num_layers > limit and "num_layers" not in given.get("model", {}):
        config.model = dataclasses.replace(config.model, num_layers=limit)


def _check_combinations(config: RunConfig, task_cls: type[Task], arch_cls: type[Architecture]) -> None:
    """Settings that are valid alone but not together."""
    if arch_cls.max_layers is not None and config.model.num_layers > arch_cls.max_layers:
        raise UsageError(f"architecture {arch_cls.name!r} supports --num-layers up to {arch_cls.max_layers}")
    if config.model.bidirectional and (task_cls.causal or not arch_cls.supports_bidirectional):
        who = (f"task {task_cls.name!r} is causal" if task_cls.causal
               else f"architecture {arch_cls.name!r} has no backward pass in time")
        raise UsageError(f"--bidirectional is not allowed here: {who}; drop --bidirectional")


def _check_plugin_options(config: RunConfig, task_cls: type[Task], arch_cls: type[Architecture]) -> None:
    """Each plugin's ``Options.check()``, if it has one: combinations of its options and, for a data
    task, its files (read and cached here, so that a bad file fails before any run is created)."""
    for options in (config.task.options, config.model.options):
        check = getattr(options, "check", None)
        if callable(check):
            check()

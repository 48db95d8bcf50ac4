"""``bench study list`` and ``bench study show``: what the studies are, in words, without running anything."""
from __future__ import annotations

from collections.abc import Mapping

from bench.core.registry import STUDIES
from bench.core.study import Study


def listing() -> str:
    """One line per study: name, what it compares, its experiments, arms and number of claims."""
    lines = []
    for name in STUDIES.names():
        study = STUDIES.get(name)
        lines.append(f"{name:<15} {study.summary()}")
        lines.append(f"{'':<15} experiments: {', '.join(e.name for e in study.experiments)}; "
                     f"arms: {', '.join(a.label for a in study.arms)}; {len(study.claims)} claim(s)")
    return "\n".join(lines)


def _settings(values: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items()) or "defaults"


def describe(study: type[Study]) -> str:
    """``bench study show``: the protocol, the claims, the published numbers and the cost per scale."""
    lines = [f"{study.name}: {study.summary()}", f"paper: {study.paper}", "", "experiments:"]
    for e in study.experiments:
        data = f"; data {e.data.name} (--data {e.data.name}=PATH, or {e.data.path} under --data-dir)" if e.data else ""
        budget = f"; budget {e.params:,} parameters per arm" if e.params else ""
        lines.append(f"  {e.name:<14} task {e.task} ({_settings(e.options)}){budget}{data}")
    lines += ["", "arms:"]
    for a in study.arms:
        fixed = ", ".join(f"{k}={v}" for k, v in {**a.model, **a.task, **a.train}.items())
        lines.append(f"  {a.label:<14} {a.arch}{f' ({fixed})' if fixed else ''}")
    budget = (f"{study.params:,} parameters per arm" if study.params else
              "per experiment (above)" if any(e.params for e in study.experiments) else "none (hidden size as set)")
    lines += ["", f"protocol: parameter budget {budget}; training {_settings(study.train)}; "
                  f"{study.sampler} search" + (f" over overrides {_settings(study.space)}" if study.space else ""),
              "", "scales:"]
    for name, s in study.scales.items():
        only = f"; experiments {', '.join(s.experiments)}" if s.experiments else ""
        seeds = (f"{s.seeds} seed(s), then 3 more at a time where a claim is undecided, up to {s.cap}" if s.cap > s.seeds
                 else f"{s.seeds} seed(s)")
        lines.append(f"  {name:<7} {s.trials} trial(s) + {seeds} per arm and experiment; "
                     f"training {_settings(s.train)}{only}".replace("3 more", f"{s.seed_step} more"))
        if s.options:
            lines.append("          task options: " + "; ".join(f"{k}: {_settings(v)}" for k, v in s.options.items()))
        if s.cost:
            lines.append(f"          cost: {s.cost}")
        if s.differs:
            lines.append(f"          differs from the paper: {s.differs}")
    lines += ["", "claims:"]
    for c in study.claims:
        lines.append(f"  - {c.statement()}" + (f" ({c.source})" if c.source else ""))
        if (margin := c.margin) is not None:
            per = "".join(f"; {k} ±{v:g}" for k, v in margin.by_experiment.items())
            unit = " in success rate (seeds meeting the task's target)" if getattr(c, "test", "") == "success" else ""
            lines.append(f"      margin ±{margin.value:g}{unit}{per}: {margin.why}")
    if study.published:
        lines += ["", "published numbers:"]
        lines += [f"  {p.experiment}/{p.arm}: {p.value} {p.metric or '(target metric, test)'} — {p.source} ({p.certainty})"
                  for p in study.published]
    return "\n".join(lines)

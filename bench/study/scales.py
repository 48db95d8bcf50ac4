"""A user's own budget: a study's scale bent on the command line (``--trials``, ``--max-steps``,
``--seeds``, ``--max-seeds``, ``--sampler``, ``--tuning-seed``, ``--experiments``) without writing a
study. ``--sampler random`` makes the expected-best-vs-trials estimate (Dodge et al. 2019) exact;
``--tuning-seed N`` repeats the whole tuning with other draws (Bouthillier et al. 2021).

What changes the runs or the design they are judged by (tuning trials, updates per run, the first
look's seeds, the cap) makes a scale of its own, labelled ``laptop~trials=3,max_seeds=20``: its sweep
studies are named with that label, so its runs never mix with the declared scale's, its planned looks
are fixed before its first seed (a cap raised after the data are in would re-spend the alpha of
looks already made), and every report made from it says so and goes elsewhere than the committed
report. ``--experiments`` only chooses which experiments run: the same runs, and the same label.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from bench.core.errors import UsageError
from bench.core.study import Scale, Study

SEPARATOR = "~"
LABELLED = ("trials", "max_steps", "seeds", "max_seeds", "sampler", "tuning_seed")
SAMPLERS = ("tpe", "random")
"""The bendings that make a scale of its own, in the order a label lists them."""


@dataclasses.dataclass(frozen=True)
class Bend:
    """What the command line changes of a scale (None: as declared)."""

    trials: int | None = None
    max_steps: int | None = None
    seeds: int | None = None
    max_seeds: int | None = None
    experiments: tuple[str, ...] = ()
    sampler: str | None = None
    tuning_seed: int | None = None

    def check(self) -> None:
        if self.sampler is not None and self.sampler not in SAMPLERS:
            raise UsageError(f"--sampler {self.sampler}: give one of {', '.join(SAMPLERS)}")
        if self.tuning_seed is not None and self.tuning_seed < 1:
            raise UsageError(f"--tuning-seed {self.tuning_seed}: give 1 or more (leave it out for the declared tuning)")
        for name in ("trials", "max_steps", "seeds", "max_seeds"):
            value = getattr(self, name)
            if value is not None and value < (2 if name == "seeds" else 1):
                least = 2 if name == "seeds" else 1
                raise UsageError(f"--{name.replace('_', '-')} {value}: give at least {least}"
                                 + (" (an interval needs 2 seeds per arm)" if name == "seeds" else ""))

    def label(self, scale: str) -> str:
        parts = [f"{name}={getattr(self, name)}" for name in LABELLED if getattr(self, name) is not None]
        return f"{scale}{SEPARATOR}{','.join(parts)}" if parts else scale

    def said(self) -> str:
        """The bending in words, for a report (empty when nothing is bent)."""
        parts = [f"--{name.replace('_', '-')} {getattr(self, name)}" for name in LABELLED
                 if getattr(self, name) is not None]
        if self.experiments:
            parts.append(f"--experiments {','.join(self.experiments)}")
        return " ".join(parts)


def bent(study: type[Study], scale: str, bend: Bend) -> tuple[type[Study], str]:
    """``study`` with one more scale, ``scale`` as bent, under its label; and the label."""
    bend.check()
    declared = study.scale(scale)
    known = {e.name for e in study.experiments_at(scale)}
    unknown = [name for name in bend.experiments if name not in known]
    if unknown:
        raise UsageError(f"--experiments {','.join(unknown)}: scale {scale} of {study.name} runs "
                         f"{', '.join(sorted(known))}")
    seeds = bend.seeds if bend.seeds is not None else declared.seeds
    cap = bend.max_seeds if bend.max_seeds is not None else max(declared.cap, seeds)
    if cap < seeds:
        raise UsageError(f"--max-seeds {cap} is below the first look's {seeds} seeds")
    train = dict(declared.train)
    if bend.max_steps is not None:
        train["max_steps"] = bend.max_steps
    changed = dataclasses.replace(
        declared, trials=bend.trials if bend.trials is not None else declared.trials, seeds=seeds, max_seeds=cap,
        train=train, experiments=bend.experiments or declared.experiments,
        tuning_seed=bend.tuning_seed if bend.tuning_seed is not None else declared.tuning_seed,
        differs=(declared.differs + (f" Bent here: {bend.said()}." if bend.said() else "")).strip())
    label = bend.label(scale)
    return with_scale(study, label, changed, bend.sampler), label


def with_scale(study: type[Study], label: str, scale: Scale, sampler: str | None = None) -> type[Study]:
    """A subclass of ``study`` that also has ``scale`` under ``label`` (and searches with ``sampler``
    if given); the registry is untouched."""
    extra = {"sampler": sampler} if sampler else {}
    return type(study.__name__, (study,), {"scales": {**study.scales, label: scale}, "__doc__": study.__doc__, **extra})


def from_label(study: type[Study], label: str) -> tuple[type[Study], str]:
    """The study with the scale a label names (as :func:`bent` made it), for a report of its runs."""
    if label in study.scales:
        return study, label
    base, _, rest = label.partition(SEPARATOR)
    values: dict[str, int] = {}
    sampler = None
    for part in rest.split(",") if rest else []:
        key, _, value = part.partition("=")
        if key == "sampler" and value in SAMPLERS:
            sampler = value
            continue
        if key not in LABELLED or not value.isdigit():
            raise UsageError(f"scale {label!r} of {study.name}: not a scale or a bent one (e.g. laptop~trials=3)")
        values[key] = int(value)
    return bent(study, base, Bend(values.get("trials"), values.get("max_steps"), values.get("seeds"),
                                  values.get("max_seeds"), sampler=sampler, tuning_seed=values.get("tuning_seed")))


def labels_in(study: type[Study], names: Sequence[str]) -> list[str]:
    """The scales (declared or bent) that sweep studies named ``.../STUDY/LABEL/EXPERIMENT/ARM`` use,
    declared ones in declaration order, then bent ones."""
    found = []
    for name in names:
        parts = name.split("/")
        for i, part in enumerate(parts[:-3]):
            if part == study.name and parts[i + 1] not in found:
                found.append(parts[i + 1])
    declared = [s for s in study.scales if s in found]
    return declared + sorted(s for s in found if s not in study.scales and s.split(SEPARATOR)[0] in study.scales)

"""The study contract: a published comparison written down as data, the way its paper's
experimental section reads.

A study file (``studies/<name>.py``) declares one :class:`Study` subclass and registers it::

    @register_study("chung2014")
    class Chung2014(Study):
        \"\"\"Chung et al. 2014: tanh vs GRU vs LSTM at ~20k parameters on music and speech.\"\"\"
        paper = "Chung, Gulcehre, Cho & Bengio 2014, Empirical Evaluation of Gated RNNs ..."
        experiments = (Experiment("jsb", "music", data=Data("jsb", "music/JSB_Chorales.mat")), ...)
        arms = (Arm("tanh", "vanilla"), Arm("gru", "gru"), Arm("lstm", "lstm"))
        params = 20_000
        train = {"optimizer": "rmsprop"}
        scales = {"smoke": Scale(trials=1, seeds=2, ...), "laptop": Scale(6, seeds=3, max_seeds=12, ...), "paper": ...}
        published = (Published("jsb", "gru", 8.54, "Chung et al. 2014, Table 2", "secondary"), ...)
        claims = (Beats("gru", "tanh", ("jsb",), Margin(0.1, "why that much, decided before running")), ...)

Nothing here runs anything: ``bench study run`` turns a study into ``bench sweep`` studies (one per
experiment × arm), ``bench study report`` reads them back and hands each claim to its kind's judge
(:mod:`bench.study.judging`, on the decision rules of :mod:`bench.report.verdicts`), which alone
decides reproduced / contradicted / no practical difference / undecided, adding seeds in rounds where a
claim is undecided (:mod:`bench.study.rounds`). This module imports neither torch nor MLflow, so
``bench study list`` answers at once.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import ClassVar, Literal

from bench.core.errors import UsageError
from bench.core.registry import Described

Certainty = Literal["verified", "secondary"]
"""As ``../shared/REFERENCES.md`` grades a number: read in the paper, or quoted by someone else."""

Value = str | int | float | bool | list[int]
Settings = Mapping[str, Value]


@dataclasses.dataclass(frozen=True)
class Data:
    """A data file or folder an experiment needs and cannot generate: found as ``--data NAME=PATH``,
    else as ``path`` under the data folder (``--data-dir``, ``$RNNBENCH_DATA``); an experiment whose
    data is found nowhere is skipped, and the run says so."""

    name: str
    path: str
    option: str = "data"
    """The task option that receives the path."""


@dataclasses.dataclass(frozen=True)
class Experiment:
    """One task setting of the paper (a data set, a sequence length): every arm runs on it."""

    name: str
    task: str
    options: Settings = dataclasses.field(default_factory=dict)
    data: Data | None = None
    params: int = 0
    """This experiment's parameter budget per arm, where the paper's differs by task (0: the study's)."""


@dataclasses.dataclass(frozen=True)
class Arm:
    """One contender: an architecture with its fixed settings (``model``: fields or architecture
    options, e.g. ``forget_bias``; ``task``: task options, e.g. a curriculum; ``train``: training
    settings, e.g. gradient clipping, over the protocol's and the scale's). A fixed key is never
    searched."""

    label: str
    arch: str
    model: Settings = dataclasses.field(default_factory=dict)
    task: Settings = dataclasses.field(default_factory=dict)
    train: Settings = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Scale:
    """How much of the protocol to run: tuning trials and seed reruns per arm and experiment, the
    training settings and task options that differ from the protocol at this scale, and which
    experiments it includes (empty: all)."""

    trials: int
    seeds: int
    """Seeds per arm at the first look."""
    max_seeds: int = 0
    """The cap: seeds are added in rounds of ``seed_step`` to the arms of undecided claims until
    every claim is decided or this many ran (0: ``seeds``, one look)."""
    seed_step: int = 3
    tuning_seed: int = 0
    """Offsets the tuning sampler's seed: another value repeats the whole tuning with other draws, so
    the variance of tuning itself can be measured (Bouthillier et al. 2021)."""
    train: Settings = dataclasses.field(default_factory=dict)
    options: Mapping[str, Settings] = dataclasses.field(default_factory=dict)
    """Per experiment name: task options replacing the experiment's at this scale."""
    experiments: tuple[str, ...] = ()
    params: Mapping[str, int] = dataclasses.field(default_factory=dict)
    """Per experiment name: the parameter budget per arm at this scale, where it differs from the
    experiment's (a smoke run checking the machinery need not build a million-parameter model)."""
    cost: str = ""
    """What it takes, in words (e.g. "about 2 h on a 2-core CPU"): measured, for ``bench study show``."""
    differs: str = ""
    """How this scale departs from the paper's protocol, said in every report made at it."""

    @property
    def cap(self) -> int:
        return max(self.seeds, self.max_seeds)


@dataclasses.dataclass(frozen=True)
class Published:
    """A number the paper reports for an arm on an experiment."""

    experiment: str
    arm: str
    value: float
    source: str
    certainty: Certainty
    metric: str = ""
    """The MLflow metric it compares with (``test/nll_per_frame``); empty: the task's target on test."""


Test = Literal["welch", "success"]
"""How a comparison is tested, chosen with the claim: ``welch`` for a metric that varies smoothly over
seeds; ``success`` for one that is bimodal (a seed solves the task or does not): each seed counts as
a success when its value meets the task's target, and the arms' success rates are compared."""


@dataclasses.dataclass(frozen=True)
class Margin:
    """The smallest difference that matters, in the metric's unit (in success rate for ``success``
    claims), and why that much: declared before any run, never tuned to a result."""

    value: float
    why: str
    by_experiment: Mapping[str, float] = dataclasses.field(default_factory=dict)
    """Where a claim spans experiments whose metrics differ in unit (music NLL and speech NLL): the
    margin per experiment name, ``value`` for the others."""

    def of(self, experiment: str) -> float:
        return self.by_experiment.get(experiment, self.value)


@dataclasses.dataclass(frozen=True)
class Beats:
    """"``better`` beats ``worse``" on each of ``experiments`` (on ``metric``; empty: the target on test),
    by more than ``margin`` mattering: a difference shown to lie inside ±margin is "no practical difference"."""

    better: str
    worse: str
    experiments: tuple[str, ...]
    margin: Margin | None = None
    metric: str = ""
    source: str = ""
    test: Test = "welch"
    success_at: float | None = None
    """``success`` claims: the value of ``metric`` a seed must reach to count as a success (in its
    better direction); None: the task's target, on the task's target metric."""

    over_seeds: ClassVar[bool] = True
    """Judged over seed reruns, with a margin (else over tuning trials)."""

    @property
    def labels(self) -> tuple[str, ...]:
        """The arms the claim names."""
        return self.better, self.worse

    @property
    def pair(self) -> tuple[str, str] | None:
        """The two arms compared, the one the claim favours (if any) first; None for no comparison."""
        return self.better, self.worse

    def statement(self) -> str:
        on = f" ({self.metric})" if self.metric else ""
        return f"{self.better} beats {self.worse} on {', '.join(self.experiments)}{on}"


@dataclasses.dataclass(frozen=True)
class NoConsistentWinner:
    """"Neither ``a`` nor ``b`` wins everywhere" (Chung et al.'s "GRU vs LSTM: undecided"): shown when
    each is significantly better on some experiment, refuted when one is better on all of them."""

    a: str
    b: str
    experiments: tuple[str, ...]
    margin: Margin | None = None
    metric: str = ""
    source: str = ""
    test: Test = "welch"
    success_at: float | None = None
    """``success`` claims: the value of ``metric`` a seed must reach to count as a success (in its
    better direction); None: the task's target, on the task's target metric."""

    def statement(self) -> str:
        on = f" ({self.metric})" if self.metric else ""
        return f"no consistent winner between {self.a} and {self.b} over {', '.join(self.experiments)}{on}"

    over_seeds: ClassVar[bool] = True

    @property
    def labels(self) -> tuple[str, ...]:
        return self.a, self.b

    @property
    def pair(self) -> tuple[str, str] | None:
        return self.a, self.b


@dataclasses.dataclass(frozen=True)
class Equivalent:
    """"``a`` is as good as ``b``" on each of ``experiments``, within ``margin`` (in the metric's unit;
    a paper's "comparable"): shown by two one-sided tests (TOST), refuted when the difference is
    beyond the margin. No significant difference is not evidence of equivalence; this claim is."""

    a: str
    b: str
    experiments: tuple[str, ...]
    margin: Margin | None = None
    metric: str = ""
    source: str = ""
    test: Test = "welch"
    success_at: float | None = None
    """``success`` claims: the value of ``metric`` a seed must reach to count as a success (in its
    better direction); None: the task's target, on the task's target metric."""

    def statement(self) -> str:
        on = f" ({self.metric})" if self.metric else ""
        margin = f" within ±{self.margin.value:g}" if self.margin else ""
        return f"{self.a} is as good as {self.b}{margin} on {', '.join(self.experiments)}{on}"

    over_seeds: ClassVar[bool] = True

    @property
    def labels(self) -> tuple[str, ...]:
        return self.a, self.b

    @property
    def pair(self) -> tuple[str, str] | None:
        return self.a, self.b


@dataclasses.dataclass(frozen=True)
class ClosesGap:
    """"``arm`` closes at least ``fraction`` of the gap from ``baseline`` to ``target``" on each of
    ``experiments``: (baseline − arm) / (baseline − target) ≥ fraction, in the better direction."""

    arm: str
    baseline: str
    target: str
    experiments: tuple[str, ...]
    fraction: float = 0.5
    margin: Margin | None = None
    """The smallest gap from ``baseline`` to ``target`` that matters: inside it there is nothing to close."""
    metric: str = ""
    source: str = ""

    def statement(self) -> str:
        return (f"{self.arm} closes at least {self.fraction:.0%} of the gap from {self.baseline} to {self.target} "
                f"on {', '.join(self.experiments)}")

    over_seeds: ClassVar[bool] = True

    @property
    def labels(self) -> tuple[str, ...]:
        return self.arm, self.baseline, self.target

    @property
    def pair(self) -> tuple[str, str] | None:
        """The gap's two ends: whether tuning or a reporting rule would reverse them."""
        return self.target, self.baseline


@dataclasses.dataclass(frozen=True)
class MostImportant:
    """"``parameter`` is the most important hyperparameter" by fANOVA over each arm's tuning trials."""

    parameter: str
    arms: tuple[str, ...]
    experiments: tuple[str, ...]
    source: str = ""

    def statement(self) -> str:
        return (f"{self.parameter} is the most important hyperparameter (fANOVA) for {', '.join(self.arms)} "
                f"on {', '.join(self.experiments)}")

    over_seeds: ClassVar[bool] = False
    margin: ClassVar[None] = None
    """Judged over the tuning trials: no seeds, no margin, the trials' own objective."""
    metric: ClassVar[str] = ""

    @property
    def labels(self) -> tuple[str, ...]:
        return self.arms

    @property
    def pair(self) -> tuple[str, str] | None:
        return None


Claim = Beats | NoConsistentWinner | Equivalent | ClosesGap | MostImportant
Comparison = Beats | NoConsistentWinner | Equivalent | ClosesGap
"""The claims judged over seeds, each with its margin."""


class Study(Described):
    """A published comparison (see the module docstring); subclasses set the class attributes."""

    name: ClassVar[str]
    paper: ClassVar[str] = ""
    experiments: ClassVar[tuple[Experiment, ...]] = ()
    arms: ClassVar[tuple[Arm, ...]] = ()
    params: ClassVar[int] = 0
    """Parameter budget per arm (``--params``): every arm gets the hidden size that matches it."""
    model: ClassVar[Settings] = {}
    """The protocol's model settings every arm shares (dropout, layers, ...)."""
    train: ClassVar[Settings] = {}
    """The protocol's training settings (optimizer, learning rate, batch size, ...)."""
    space: ClassVar[Mapping[str, Mapping[str, object] | None]] = {}
    """Search-space overrides, as ``bench sweep --space`` takes them (``None`` drops a key)."""
    sampler: ClassVar[Literal["tpe", "random"]] = "tpe"
    scales: ClassVar[Mapping[str, Scale]] = {}
    published: ClassVar[tuple[Published, ...]] = ()
    claims: ClassVar[tuple[Claim, ...]] = ()

    @classmethod
    def scale(cls, name: str) -> Scale:
        if name not in cls.scales:
            raise UsageError(f"study {cls.name} has no scale {name!r}; its scales: {', '.join(cls.scales)}")
        return cls.scales[name]

    @classmethod
    def experiments_at(cls, scale: str) -> list[Experiment]:
        """The experiments a scale runs, with that scale's task options and budgets applied."""
        chosen = cls.scale(scale)
        names = chosen.experiments or tuple(e.name for e in cls.experiments)
        return [dataclasses.replace(e, options={**e.options, **chosen.options.get(e.name, {})},
                                    params=chosen.params.get(e.name, e.params))
                for e in cls.experiments if e.name in names]

    @classmethod
    def problems(cls) -> list[str]:
        """What is inconsistent in the declaration (names a claim uses that nothing declares, ...);
        the tests ask every registered study for an empty list."""
        experiments, arms = {e.name for e in cls.experiments}, {a.label for a in cls.arms}
        found = []
        if len(experiments) != len(cls.experiments) or len(arms) != len(cls.arms):
            found.append("experiment names and arm labels must be unique")
        if not {"smoke", "laptop", "paper"} <= set(cls.scales):
            found.append("scales smoke, laptop and paper are required")
        for scale_name, scale in cls.scales.items():
            for name in (*scale.experiments, *scale.options):
                if name not in experiments:
                    found.append(f"scale {scale_name}: unknown experiment {name!r}")
        smoke = cls.scales.get("smoke")
        if smoke is not None:
            ran = set(smoke.experiments or experiments)
            for claim in cls.claims:  # the suite runs every study at smoke: every claim must be exercised
                if not ran & set(claim.experiments):
                    found.append(f"claim {claim.statement()!r}: none of its experiments runs at the smoke scale")
        comparative = any(c.over_seeds for c in cls.claims)
        for scale_name, scale in cls.scales.items():
            if comparative and scale.seeds < 2:
                found.append(f"scale {scale_name}: a comparison needs at least 2 seeds per arm for an interval")
            if scale.max_seeds and scale.max_seeds < scale.seeds or scale.seed_step < 1:
                found.append(f"scale {scale_name}: max_seeds must be at least seeds, seed_step at least 1")
        for claim in cls.claims:
            if claim.over_seeds and (claim.margin is None or claim.margin.value <= 0 or not claim.margin.why.strip()):
                found.append(f"claim {claim.statement()!r}: declare its margin (> 0) and why that much")
        for item in cls.published:
            if item.experiment not in experiments or item.arm not in arms:
                found.append(f"published number for unknown {item.experiment}/{item.arm}")
        for claim in cls.claims:
            for label in sorted(set(claim.labels) - arms):
                found.append(f"claim {claim.statement()!r}: unknown arm {label!r}")
            for name in set(claim.experiments) - experiments:
                found.append(f"claim {claim.statement()!r}: unknown experiment {name!r}")
        return found

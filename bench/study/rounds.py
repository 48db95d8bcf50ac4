"""``bench study run``'s rounds: tune, run the first seeds, judge, then add seeds only where a claim
is still undecided — until every claim is decided or the scale's cap is reached.

Round 0 is ``bench sweep`` over every arm and experiment (the tuning trials, then the first look's
seeds). After each round every claim is judged by the same code as the report
(:func:`bench.study.report.judge_scale`); the arms of undecided claims get their seeds study grown
to the next planned look's size, all in one sweep. Stopping a claim at the look that decided it is
what keeps the error rate of the design (:mod:`bench.report.sequential`): its verdict never looks
at seeds added later for another claim's sake. The rounds depend only on the runs, so the same
command resumes an interrupted study at the round it had reached.
"""
from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from bench.core.errors import UsageError
from bench.report.verdicts import ClaimVerdict
from bench.study.judging import Tally, wanted_seeds
from bench.study.plan import StudyRun, optuna_study_name
from bench.study.report import judge_scale
from bench.sweep.orchestrator import SweepOptions, run_sweep

if TYPE_CHECKING:
    import pandas as pd


def run_rounds(planned: StudyRun, options: SweepOptions, say: Callable[[str], None] | None = None) -> tuple[pd.DataFrame, list[ClaimVerdict]]:
    """Run the study's rounds (see the module docstring); the last sweep's summary and the verdicts."""
    say = say or (lambda line: print(f"bench: {line}", file=sys.stderr))
    if not planned.plans:
        raise UsageError(f"study {planned.study.name}: nothing to run at scale {planned.scale}: "
                         + "; ".join(planned.skipped))
    study, scale = planned.study, planned.study.scale(planned.scale)
    options = dataclasses.replace(options, trials=scale.trials, seeds=scale.seeds, sampler=study.sampler,
                                  tuning_seed=scale.tuning_seed)
    table = run_sweep(planned.plans, options)
    by_name = {(e.name, a.label): optuna_study_name(study, planned.scale, e, a)
               for e in study.experiments_at(planned.scale) for a in study.arms}
    plans = {p.name: p for p in planned.plans}
    round_, asked = 0, dict[tuple[str, str], int]()
    while True:
        verdicts = judge_scale(study, planned.scale, options.tracking_uri, options.storage).verdicts
        wants = {key: n for key, n in wanted_seeds(verdicts).items() if by_name.get(key) in plans}
        say(f"after round {round_}: {Tally.of(verdicts).text()}")
        if not wants:
            return table, verdicts
        if wants == asked:  # the last round ran these seeds and the looks still lack them: seeds failed
            say("the looks of " + ", ".join(f"{e}/{a} at {n} seeds" for (e, a), n in sorted(wants.items()))
                + " lack seeds that failed (see `bench sweep status` and the failed runs); their claims stay undecided")
            return table, verdicts
        asked = wants
        round_ += 1
        for size in sorted(set(wants.values())):
            arms = sorted(key for key, n in wants.items() if n == size)
            say(f"round {round_}: {size} seeds per arm for " + ", ".join(f"{e}/{a}" for e, a in arms)
                + f" (undecided: {'; '.join(v.statement for v in verdicts if v.wants)})")
            table = run_sweep([plans[by_name[key]] for key in arms], dataclasses.replace(options, seeds=size))

"""How much the tuning budget decides: the expected best validation score after n of N trials.

Dodge et al. 2019 ("Show Your Work"): a comparison after N tuning trials says nothing about whether N
was enough, because "A beats B" can flip with the budget. From the empirical distribution of an arm's
N trial scores, the expected best of n trials drawn from it (with replacement) is

    E[max of n] = Σ_i v_(i) · ((i / N)^n − ((i − 1) / N)^n),   v_(1) ≤ … ≤ v_(N),

(the minimum, mirrored, for a loss). The formula assumes independent trials — random search. TPE's
trials depend on the earlier ones, so for a TPE study the curve reads the trials as if they had been
drawn independently; the report says so. Where two arms' curves cross within the budget, the winner
of a claim depends on how long both were tuned, and the report flags it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from bench.report import figures


def expected_best(values: Sequence[float], mode: Literal["min", "max"], budget: int | None = None) -> list[float]:
    """E[best of n] for n = 1..``budget`` (default: the number of values), from ``values``' empirical
    distribution; empty without values."""
    finite = np.sort(np.asarray([v for v in values if np.isfinite(v)], dtype=float))
    if mode == "min":
        finite = -finite[::-1]
    count = len(finite)
    if count == 0:
        return []
    ranks = np.arange(1, count + 1) / count
    curve = []
    for n in range(1, (budget or count) + 1):
        weights = ranks ** n - (ranks - 1 / count).clip(min=0) ** n
        curve.append(float(np.dot(weights, finite)))
    return [-v for v in curve] if mode == "min" else curve


def crossings(first: Sequence[float], second: Sequence[float], mode: Literal["min", "max"]) -> list[int]:
    """The budgets n (1-based) at which the better of two expected-best curves changes: where "which
    arm wins" depends on how long both were tuned."""
    sign = 1.0 if mode == "max" else -1.0
    leads = [np.sign(sign * (a - b)) for a, b in zip(first, second)]
    return [n + 1 for n in range(1, len(leads)) if leads[n] != 0 and leads[n - 1] != 0 and leads[n] != leads[n - 1]]


def draw(curves: Mapping[str, Sequence[float]], metric: str, title: str, folder: Path, name: str) -> str | None:
    """One line per arm: expected best validation ``metric`` against the number of trials."""
    drawn = {arm: curve for arm, curve in curves.items() if curve}
    if not drawn:
        return None
    plt = figures._pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for arm, curve in drawn.items():
        ax.plot(range(1, len(curve) + 1), curve, marker="o", ms=3, label=arm)
    ax.set_xlabel("tuning trials n")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_ylabel(f"expected best val {metric}")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return figures.save(fig, folder, name)

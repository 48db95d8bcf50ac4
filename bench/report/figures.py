"""The report's figures, drawn with matplotlib (Agg: no display needed) and saved as PNG and SVG.

Each function takes the DataFrames of :mod:`bench.report.collect` (or :mod:`bench.report.inspection`), draws one
figure, writes ``NAME.png`` and ``NAME.svg`` into a folder and returns the PNG's file name, or None
when there is nothing to draw. Colours are fixed per architecture so that every figure of a report
reads the same way.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bench.core.registry import ARCHITECTURES

if TYPE_CHECKING:
    from types import ModuleType

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from bench.core.architecture import WeightMaps


def _pyplot() -> ModuleType:
    matplotlib.use("Agg")

    return plt


def colour(arch: str) -> str:
    """The architecture's own colour (:attr:`~bench.core.architecture.Architecture.colour`); grey for a
    name that is no architecture (a study's arm label)."""
    return ARCHITECTURES.get(arch).colour if arch in ARCHITECTURES.names() else "tab:gray"


def save(fig: Figure, folder: Path, name: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(folder / f"{name}.png", dpi=120)
    fig.savefig(folder / f"{name}.svg")
    _pyplot().close(fig)
    return f"{name}.png"


def step_bands(curves: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd over a task × arch's runs at every validation step. A run that stopped early
    (it reached the target) keeps its last value, so the mean is over all seeds at every step."""
    rows = []
    for arch, group in curves.groupby("arch", sort=False):
        table = group.pivot_table(index="step", columns="run_id", values="value", aggfunc="last").sort_index().ffill()
        rows.append(pd.DataFrame({"arch": arch, "x": table.index, "mean": table.mean(axis=1),
                                  "sd": table.std(axis=1, ddof=1).fillna(0.0), "n": table.notna().sum(axis=1)}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["arch", "x", "mean", "sd", "n"])


def time_bands(curves: pd.DataFrame, points: int = 200) -> pd.DataFrame:
    """Mean and sd over runs of the last validation value reached by each wall-clock second (a
    step function per run, held after the run ended), on a common grid of seconds."""
    rows = []
    for arch, group in curves.groupby("arch", sort=False):
        grid = np.linspace(0.0, float(group["seconds"].max()), points)
        held = []
        for _, run in group.sort_values("seconds").groupby("run_id"):
            index = np.searchsorted(run["seconds"].to_numpy(), grid, side="right") - 1
            values = run["value"].to_numpy()[np.clip(index, 0, None)]
            held.append(np.where(index >= 0, values, np.nan))
        stack = np.vstack(held)
        count = np.sum(~np.isnan(stack), axis=0)
        with warnings.catch_warnings():  # columns with fewer than two runs: sd 0 below
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(np.where(count > 0, stack, 0.0), axis=0)
            sd = np.nan_to_num(np.nanstd(stack, axis=0, ddof=1))
        sd[count < 2] = 0.0
        keep = count > 0
        rows.append(pd.DataFrame({"arch": arch, "x": grid[keep], "mean": mean[keep], "sd": sd[keep], "n": count[keep]}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["arch", "x", "mean", "sd", "n"])


def _band(ax: Axes, bands: pd.DataFrame) -> None:
    for arch, band in bands.groupby("arch", sort=False):
        ax.plot(band["x"], band["mean"], color=colour(arch), label=f"{arch} (n={int(band['n'].max())})")
        ax.fill_between(band["x"], band["mean"] - band["sd"], band["mean"] + band["sd"], color=colour(arch), alpha=0.2)


def learning_curves(curves: pd.DataFrame, metric: str, folder: Path, name: str) -> str | None:
    """Validation metric vs update step and vs seconds: mean over seeds, band ± 1 sd (Chung et al. 2014 Figs. 2–3)."""
    if curves.empty:
        return None
    plt = _pyplot()
    fig, (by_step, by_time) = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    _band(by_step, step_bands(curves))
    _band(by_time, time_bands(curves))
    by_step.set_xlabel("update step")
    by_time.set_xlabel("seconds since the run started")
    by_step.set_ylabel(f"validation {metric}")
    by_step.legend()
    for ax in (by_step, by_time):
        ax.grid(alpha=0.3)
    return save(fig, folder, name)


def length_generalisation(lengths: pd.DataFrame, metric: str, folder: Path, name: str) -> str | None:
    """Test metric against evaluation length: mean over seeds with ± 1 sd bars, the training length marked."""
    if lengths.empty:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for arch, group in lengths.groupby("arch", sort=False):
        summary = group.groupby("length")["value"].agg(["mean", "std"]).fillna(0.0)
        ax.errorbar(summary.index, summary["mean"], yerr=summary["std"], marker="o", capsize=3,
                    color=colour(arch), label=arch)
    for length in sorted(lengths["trained_length"].unique()):
        ax.axvline(length, color="gray", linestyle=":", linewidth=1)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("evaluation length (dotted: training length)")
    ax.set_ylabel(f"test {metric}")
    ax.grid(alpha=0.3)
    ax.legend()
    return save(fig, folder, name)


def importance(importances: pd.DataFrame, folder: Path, name: str) -> str | None:
    """fANOVA importance of each searched parameter, one group of bars per architecture."""
    if importances.empty:
        return None
    plt = _pyplot()
    table = importances.pivot_table(index="param", columns="arch", values="importance", aggfunc="first").fillna(0.0)
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * len(table) * max(1, len(table.columns)) ** 0.5))
    height = 0.8 / len(table.columns)
    for i, arch in enumerate(table.columns):
        ax.barh(np.arange(len(table)) + i * height, table[arch], height=height, color=colour(arch), label=arch)
    ax.set_yticks(np.arange(len(table)) + 0.4 - height / 2, [p.split(".", 1)[-1] for p in table.index])
    ax.set_xlabel("fANOVA importance (share of the objective's variance)")
    ax.set_xlim(0, 1)
    ax.legend()
    return save(fig, folder, name)


def lr_slice(trials: pd.DataFrame, objective: str, folder: Path, name: str) -> str | None:
    """Objective of every complete trial against its learning rate, one colour per architecture
    (pruned and failed trials have no final objective and are left out)."""
    lr = trials[(trials["param"] == "train.lr") & (trials["state"] == "COMPLETE")]
    if lr.empty:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for arch, group in lr.groupby("arch", sort=False):
        ax.scatter(group["param_value"], group["value"], color=colour(arch), label=f"{arch} ({len(group)} trials)", alpha=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel(f"objective (validation {objective})")
    ax.grid(alpha=0.3)
    ax.legend()
    return save(fig, folder, name)


def gradient_norms(gradients: pd.DataFrame, folder: Path, name: str) -> str | None:
    """‖∂loss/∂state_t‖ against the distance from the scored step, log scale: dashed at initialisation,
    solid after training."""
    if gradients.empty:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for (arch, weights), group in gradients.groupby(["arch", "weights"], sort=False):
        mean = group.groupby("distance")["grad_norm"].mean()
        mean = mean[mean > 0]
        ax.plot(mean.index, mean.to_numpy(), color=colour(arch), linestyle="--" if weights == "initialisation" else "-",
                label=f"{arch}, {weights}")
    ax.set_yscale("log")
    ax.set_xlabel("distance from the scored step (steps back)")
    ax.set_ylabel("‖∂loss / ∂state‖ (RMS over sequences)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return save(fig, folder, name)


def weight_maps(maps: WeightMaps, title: str, folder: Path, name: str) -> str | None:
    """Heatmaps of what a core looked at (attention weights: step × earlier step; NTM head weightings:
    step × memory location), one panel per map, as Bahdanau et al. 2015 Fig. 3 and Graves et al. 2014 Fig. 6."""
    if not maps.panels:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(maps.panels), figsize=(4.2 * len(maps.panels), 3.8), squeeze=False)
    for ax, (label, values) in zip(axes[0], maps.panels.items()):
        array = np.asarray(values)
        if maps.visited_only:
            used = np.nonzero(array.max(0) > 0.01)[0]
            array = array[:, : (used.max() + 2 if len(used) else array.shape[1])]
        image = ax.imshow(array, aspect="auto", cmap="gray_r", vmin=0, vmax=max(1e-9, float(array.max())),
                          interpolation="nearest")
        ax.set_title(label)
        ax.set_ylabel("step t")
        ax.set_xlabel(maps.axis)
        fig.colorbar(image, ax=ax, fraction=0.046)
    fig.suptitle(title, fontsize=10)
    return save(fig, folder, name)

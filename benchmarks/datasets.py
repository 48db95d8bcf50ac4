"""Benchmark: a dataset task's training update in `bench run` vs a plain bucketed PyTorch loop, and padding waste.

1. Speed, side by side in one process: `bench run`'s training loop (``bench.train.run.run``: Lightning,
   the MLflow logger, the task's bucketed stream in ``bptt`` windows) with a plain loop interleaved
   step by step (benchmarks/suite_overhead.py's ``interleaved``). The plain loop is what a user writes
   by hand: its own length-bucketed batches (sort by a jittered length, cut, shuffle), padded with
   ``pad_sequence``, cut into ``bptt`` windows, the LSTM/GRU state carried and detached, masked
   Bernoulli NLL, clipping, Adam — the same sizes, batch and ``bptt``. The data is a generated
   long-piece set in the standard ``.mat`` format (64 training pieces of 500–4,000 frames; the
   repository holds no MuseData or Piano-midi.de). Target: harness ≤ 1.1x the plain loop; an LSTM at
   hidden 200, batch 16, ``bptt=100`` on one thread makes ≥ 15 updates a second.
2. Padding waste (steps computed ÷ real steps) of Nottingham's training batches at batch 16: random
   batches (what `music` did before) against the bucketed epochs, over 5 epochs. Target ≤ 1.2.

    python benchmarks/datasets.py            # both; writes results/datasets.md
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
NOTTINGHAM = ROOT.parent / "shared" / "data" / "music" / "Nottingham.mat"
HARNESS_SIDE = ("(no separate command: the `bench run` side is bench.train.run.run in this process, "
                "config task=music bptt=100, hidden 200, batch 16, threads 1)")


class PlainBucketedLoop:
    """The hand-written side, one :meth:`step` (one window) at a time."""

    def __init__(self, rolls: list[np.ndarray], arch: str, hidden: int, batch_size: int, bptt: int, seed: int) -> None:
        torch.manual_seed(seed)
        self.pieces = [torch.from_numpy(r).float() for r in rolls]
        self.rng = np.random.default_rng(seed)
        self.rnn = (nn.LSTM if arch == "lstm" else nn.GRU)(88, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 88)
        self.params = [*self.rnn.parameters(), *self.head.parameters()]
        self.optimizer = torch.optim.Adam(self.params, lr=2e-3)
        self.batch_size, self.bptt = batch_size, bptt
        self.windows = self._windows()
        self.state: Any = None

    def _windows(self) -> Any:
        while True:  # epochs
            lengths = np.array([len(p) for p in self.pieces])
            order = np.argsort(lengths * self.rng.uniform(0.9, 1.1, len(lengths)))
            batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
            for b in self.rng.permutation(len(batches)):
                chosen = [self.pieces[i] for i in batches[b]]
                rolls = nn.utils.rnn.pad_sequence(chosen, batch_first=True)
                mask = nn.utils.rnn.pad_sequence([torch.ones(len(p) - 1, dtype=torch.bool) for p in chosen],
                                                 batch_first=True)
                inputs, targets = rolls[:, :-1], rolls[:, 1:]
                for t in range(0, inputs.shape[1], self.bptt):
                    yield t > 0, inputs[:, t:t + self.bptt], targets[:, t:t + self.bptt], mask[:, t:t + self.bptt]

    def step(self) -> None:
        continues, inputs, targets, mask = next(self.windows)
        out, state = self.rnn(inputs, self.state if continues else None)
        self.state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        losses = F.binary_cross_entropy_with_logits(self.head(out), targets, reduction="none").sum(-1)
        weights = mask.float()
        loss = (losses * weights).sum() / weights.sum().clamp_min(1.0)
        self.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.params, 1.0)
        self.optimizer.step()


def long_piece_file(folder: str) -> Path:
    from tasks._piano_rolls import random_rolls, write_mat

    return write_mat(Path(folder) / "long_pieces.mat", {"train": random_rolls(64, 500, 4000, 0),
                                                        "val": random_rolls(4, 500, 4000, 1),
                                                        "test": random_rolls(4, 500, 4000, 2)})


def harness_vs_plain(arch: str, data: Path, bptt: int, skip: int, steps: int) -> dict[str, float]:
    """Seconds per update of `bench run` and of the plain loop, interleaved over steps skip..skip+steps."""
    from suite_overhead import interleaved

    from bench.core.resolve import resolve
    from bench.tracking.store import Tracker
    from bench.train.run import Hooks, run
    from tasks.music import load_rolls

    total = skip + steps + 1
    config = resolve(overrides={
        "task": {"name": "music", "data": str(data), "bptt": bptt},
        "model": {"arch": arch, "hidden_size": 200, "dropout": 0.0},
        "train": {"threads": 1, "batch_size": 16, "max_steps": total, "eval_every": total, "patience": 0,
                  "lr": 2e-3, "clip_grad_norm": 1.0, "seed": 0, "device": "cpu"}})
    torch.set_num_threads(1)
    plain = PlainBucketedLoop(load_rolls(str(data))["train"], arch, 200, 16, bptt, seed=1)
    window = interleaved(plain, skip, steps)
    with tempfile.TemporaryDirectory() as home:
        os.environ["RNNBENCH_HOME"] = home
        run(config, Tracker(f"sqlite:///{home}/mlflow.db"), Hooks(callbacks=[window]), progress=False)
    return {"harness_ms": window.lightning[0] / steps * 1000, "plain_ms": window.raw[0] / steps * 1000}


def speed_rows(repeats: int, skip: int, steps: int) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        data = long_piece_file(folder)
        for arch in ("lstm", "gru"):
            runs = [harness_vs_plain(arch, data, 100, skip, steps) for _ in range(repeats)]
            ratios = [r["harness_ms"] / r["plain_ms"] for r in runs]
            harness = statistics.median(r["harness_ms"] for r in runs)
            plain = statistics.median(r["plain_ms"] for r in runs)
            rows.append({"arch": arch, "harness_ms": harness, "plain_ms": plain, "ratio": statistics.median(ratios),
                         "ratios": [round(r, 3) for r in ratios], "updates_per_s": 1000 / harness})
            print(rows[-1], flush=True)
    return rows


def waste_rows(epochs: int = 5, batch_size: int = 16) -> dict[str, float]:
    from bench.core.dataset import bucketed_batches, padding_waste
    from tasks.music import load_rolls

    lengths = [len(r) - 1 for r in load_rolls(str(NOTTINGHAM))["train"]]
    generator = torch.Generator().manual_seed(0)
    random_batches, bucketed = [], []
    for _ in range(epochs):
        order = torch.randperm(len(lengths), generator=generator).tolist()
        random_batches.append(padding_waste(lengths, [order[i:i + batch_size] for i in range(0, len(order), batch_size)]))
        bucketed.append(padding_waste(lengths, bucketed_batches(lengths, batch_size, generator)))
    return {"random": statistics.mean(random_batches), "bucketed": statistics.mean(bucketed),
            "bucketed_max": max(bucketed), "pieces": len(lengths), "mean": statistics.mean(lengths),
            "longest": max(lengths)}


def write(rows: list[dict[str, Any]], waste: dict[str, float], args: argparse.Namespace) -> str:
    from logged_run import provenance

    speed = "\n".join(
        f"| {r['arch']} | {r['harness_ms']:.1f} | {r['plain_ms']:.1f} | **{r['ratio']:.3f}** "
        f"{'✓' if r['ratio'] <= 1.1 else '✗'} | {r['ratios']} | {r['updates_per_s']:.1f}"
        f"{(' ✓' if r['updates_per_s'] >= 15 else ' ✗') if r['arch'] == 'lstm' else ''} |" for r in rows)
    text = f"""# Datasets at the speed of a plain loop

## A training update: `bench run` vs a plain bucketed PyTorch loop (target ≤ 1.1x)

Music task on a generated long-piece set in the standard `.mat` format (64 training pieces of
500–4,000 frames, `tasks.music.random_rolls`), hidden 200, batch 16, `bptt=100`, no dropout, Adam,
clipping at 1, one CPU thread. Both sides run in one process, interleaved step by step, timed over
steps {args.skip}–{args.skip + args.steps}; median of {args.repeats} repeats. The plain loop buckets, pads
and windows the pieces itself (`benchmarks/datasets.py`, `PlainBucketedLoop`). Target for the LSTM:
≥ 15 updates a second.

| arch | `bench run` ms/update | plain loop ms/update | ratio | ratios (repeats) | `bench run` updates/s |
|---|---|---|---|---|---|
{speed}

## Padding waste on Nottingham's training batches (target ≤ 1.2)

Steps computed (each batch padded to its longest piece) ÷ real steps, batch 16, mean of 5 epochs;
{waste['pieces']} training pieces of {waste['mean']:.0f} frames on average, the longest {waste['longest']}.

| batches | padding waste |
|---|---|
| random (as `music` batched before) | {waste['random']:.2f} |
| length-bucketed (`SequenceDataset`) | **{waste['bucketed']:.3f}** (worst epoch {waste['bucketed_max']:.3f}) {'✓' if waste['bucketed_max'] <= 1.2 else '✗'} |

""" + provenance("python benchmarks/datasets.py", [HARNESS_SIDE])
    Path(args.out).write_text(text)
    return text


def main() -> None:
    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip", type=int, default=20)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--out", default=str(ROOT / "results" / "datasets.md"))
    args = parser.parse_args()
    waste = waste_rows()
    print(waste, flush=True)
    rows = speed_rows(args.repeats, args.skip, args.steps)
    print(write(rows, waste, args))


if __name__ == "__main__":
    main()

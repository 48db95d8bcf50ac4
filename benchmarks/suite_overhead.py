"""Target 1 (and the charlm gap): a `bench run` training step vs a raw PyTorch loop.

Both sides train the same network (the raw loop copies the harness network's initial weights into
plain ``nn.LSTM`` + ``nn.Linear``) on the same batches (the task's own seeded stream) with the same
optimizer, clipping and loss. The harness side is :func:`bench.train.run.run` itself — Lightning,
:class:`bench.train.model.SequenceModel`, the MLflow metrics logger and checkpoint callback, in a
throw-away MLflow store. The raw loop runs inside that run, interleaved step by step
(:func:`interleaved`), and both are timed over steps ``skip`` to ``skip + steps``. Validation is set
to happen only after the window (it is not a training step). The median of the repeats' ratios is
kept (:func:`compare`).
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

DEVICE = torch.device("cpu")
"""Where both sides train; benchmarks/gpu_check.py sets it to CUDA (the clocks then synchronise)."""


@dataclass
class Size:
    name: str
    task: str
    options: dict[str, Any]
    hidden: int
    layers: int
    skip: int
    steps: int
    limit: float
    train: dict[str, Any]


STANDARD = Size("standard (B=64, T=100, H=128)", "parity", {"length": 100, "score": "all"}, 128, 1,
                skip=20, steps=60, limit=1.05, train={})
TINY = Size("tiny (B=64, T=20, H=32)", "parity", {"length": 20, "score": "all"}, 32, 1,
            skip=50, steps=600, limit=1.25, train={})
CHARLM = Size("charlm (2x256 LSTM, its recommended batch 16, BPTT 100)", "charlm",
              {"data": "../shared/data/text/tinyshakespeare.txt"}, 256, 2, skip=10, steps=40, limit=1.05, train={})


def config_for(size: Size, threads: int) -> Any:
    from bench.core.resolve import resolve

    steps = size.skip + size.steps + 1
    train = {"max_steps": steps, "eval_every": steps, "eval_size": 64, "threads": threads, "seed": 0,
             "early_stop": False, "device": str(DEVICE), **size.train}  # the raw loop's device
    if size.task == "charlm":  # the task's recommended run, only shorter; keep its evaluation off the window
        train.pop("eval_size")
    return resolve(overrides={"task": {"name": size.task}, "model": {"arch": "lstm", "hidden_size": size.hidden,
                                                                     "num_layers": size.layers},
                              "train": train}, plugin_options=dict(size.options))


def clocks() -> tuple[float, float]:
    """(wall, CPU time of this process): CPU time is what other processes on a busy machine disturb least.
    On CUDA, after the queued work has run (each side is timed to the end of its own kernels)."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)
    return time.perf_counter(), time.process_time()


class RawLoop:
    """The hand-written side: plain ``nn.LSTM`` + ``nn.Linear`` with the harness network's initial
    weights, the same batches (the task's own seeded stream), loss, clipping and Adam — one
    :meth:`step` at a time, so that it can run interleaved with a Lightning run."""

    def __init__(self, config: Any) -> None:
        import lightning.pytorch as pl

        from bench.core.network import SequenceNetwork, build_task
        from bench.core.task import Draw

        torch.set_num_threads(config.train.threads)
        pl.seed_everything(config.train.seed, verbose=False)
        task = build_task(config)
        initial = SequenceNetwork(task, config.model)  # only for its initial weights
        m, t = config.model, config.train
        self.lstm = nn.LSTM(task.input_size, m.hidden_size, m.num_layers, batch_first=True)
        self.lstm.load_state_dict(initial.core.rnn.state_dict())
        self.head = nn.Linear(m.hidden_size, task.output_size)
        self.head.load_state_dict(initial.head.state_dict())
        self.lstm.to(DEVICE)
        self.head.to(DEVICE)
        self.params = [*self.lstm.parameters(), *self.head.parameters()]
        self.optimizer = torch.optim.Adam(self.params, lr=t.lr)
        self.clip, self.vocabulary = t.clip_grad_norm, task.input_size
        self.batches = iter(task.train_batches(Draw(t.batch_size, seed=t.seed, device=DEVICE, batches=t.max_steps)))
        self.state: Any = None

    def step(self) -> None:
        batch = next(self.batches)
        out, state = self.lstm(F.one_hot(batch.inputs, self.vocabulary).float(), self.state if batch.continues else None)
        self.state = tuple(s.detach() for s in state)
        losses = F.cross_entropy(self.head(out).transpose(1, 2), batch.targets, reduction="none")
        weights = batch.mask.float()
        loss = (losses * weights).sum() / weights.sum().clamp_min(1.0)
        self.optimizer.zero_grad()
        loss.backward()
        if self.clip:
            nn.utils.clip_grad_norm_(self.params, self.clip)
        self.optimizer.step()

    def weights(self) -> dict[str, torch.Tensor]:
        """Named as in :class:`bench.core.network.SequenceNetwork`, to compare with the harness's."""
        weights = {"core.rnn." + k: v for k, v in self.lstm.state_dict().items()}
        weights.update({"head." + k: v for k, v in self.head.state_dict().items()})
        return weights


def interleaved(raw: RawLoop, skip: int, steps: int) -> Any:
    """A Lightning callback that runs the raw loop in lock-step with the Lightning run it is in: at
    the start of every Lightning step, one raw step. It times both over steps ``skip`` to
    ``skip + steps``: a Lightning step from the end of the raw step before it to the start of the
    next one; a raw step on its own. Each side's sum is (wall, CPU) seconds in ``.lightning`` and
    ``.raw``. Steps of the two sides alternate millisecond by millisecond, so a shared machine
    whose speed drifts slows both alike (separate runs of each side a few seconds apart differed by
    up to ±15%, results/BENCHMARKS.md)."""
    from lightning.pytorch.callbacks import Callback

    class _Interleaved(Callback):
        def __init__(self) -> None:
            self.lightning, self.raw = [0.0, 0.0], [0.0, 0.0]
            self._mark = (0.0, 0.0)
            self.model: Any = None

        def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
            self.model = pl_module  # the run's model, whose trained weights are compared with the raw loop's

        @staticmethod
        def _add(total: list[float], started: tuple[float, float], ended: tuple[float, float]) -> None:
            total[0] += ended[0] - started[0]
            total[1] += ended[1] - started[1]

        def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
            step = trainer.global_step
            now = clocks()
            if skip < step <= skip + steps:
                self._add(self.lightning, self._mark, now)
            raw.step()
            self._mark = clocks()
            if skip <= step < skip + steps:
                self._add(self.raw, now, self._mark)

    return _Interleaved()


def harness_step(config: Any, skip: int, steps: int) -> dict[str, Any]:
    """``bench run``'s training loop (bench.train.run.run, MLflow logger included) with the raw loop
    interleaved: per-step seconds of both, and whether both trained to the same weights."""
    from bench.tracking.store import Tracker
    from bench.train.run import Hooks, run

    raw = RawLoop(config)
    window = interleaved(raw, skip, steps)
    with tempfile.TemporaryDirectory() as home:
        old = os.environ.get("RNNBENCH_HOME")
        os.environ["RNNBENCH_HOME"] = home
        try:
            run(config, Tracker(f"sqlite:///{home}/mlflow.db"), Hooks(callbacks=[window]), progress=False)
        finally:
            if old is None:
                os.environ.pop("RNNBENCH_HOME", None)
            else:
                os.environ["RNNBENCH_HOME"] = old
    trained = window.model.net.state_dict()
    same = all(torch.allclose(trained[k].to(v.device), v, rtol=1e-4, atol=1e-6) for k, v in raw.weights().items())
    return {"lightning": [x / steps for x in window.lightning], "raw": [x / steps for x in window.raw], "same": same}


def compare(size: Size, threads: int, repeats: int, floor: bool = False) -> dict[str, Any]:
    r"""Per-step seconds of ``bench run`` and of the raw loop run interleaved with it (and, with
    ``floor``, of a bare Lightning loop as it is and tuned, each interleaved with a raw loop: the
    :func:`floor_step`\ s): the median over
    ``repeats`` runs of each ratio, and whether the harness and the raw loop trained to the same
    weights."""
    config = config_for(size, threads)
    runs: list[dict[str, float]] = []
    same = True
    for _ in range(repeats):
        h = harness_step(config, size.skip, size.steps)
        same = same and h["same"]
        row = {"harness_ms": h["lightning"][0] * 1000, "raw_ms": h["raw"][0] * 1000,
               "ratio": h["lightning"][0] / h["raw"][0], "cpu_ratio": h["lightning"][1] / h["raw"][1]}
        if floor:
            order = (("floor", False), ("tuned_floor", True))
            for name, tuned in order if len(runs) % 2 == 0 else order[::-1]:  # alternate which goes first
                f = floor_step(config, size, tuned)
                row.update({f"{name}_ms": f["lightning"][0] * 1000, f"{name}_raw_ms": f["raw"][0] * 1000,
                            f"{name}_ratio": f["lightning"][0] / f["raw"][0]})
        runs.append(row)
    result: dict[str, Any] = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    result["ratios"] = [round(r["ratio"], 3) for r in runs]
    result["same_weights"] = same
    return result


def floor_step(config: Any, size: Size, tuned: bool = False) -> dict[str, Any]:
    """Seconds per step of Lightning's automatic loop alone (and of the raw loop interleaved with
    it): the same step (one-hot, LSTM, head, masked loss, clipping, Adam) as a bare LightningModule,
    no logger, no callback but the timer — Lightning's defaults, the least a harness built on a
    default ``Trainer`` costs; ``tuned``: with the two changes to Lightning's per-step bookkeeping
    that ``bench run`` makes (:class:`bench.train.speedups.LightningShortcuts`, :func:`bench.train.speedups.unprofiled`)."""
    import lightning.pytorch as pl

    from bench.core.network import build_task
    from bench.core.task import Draw
    from bench.train.model import SequenceModel
    from bench.train.run import quiet_lightning
    from bench.train.speedups import unprofiled

    quiet_lightning()
    t = config.train
    torch.set_num_threads(t.threads)

    class Bare(pl.LightningModule):
        def __init__(self, inputs: int, hidden: int, outputs: int) -> None:
            super().__init__()
            self.inputs = inputs
            self.lstm = nn.LSTM(inputs, hidden, batch_first=True)
            self.head = nn.Linear(hidden, outputs)

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            out, _ = self.lstm(F.one_hot(batch.inputs, self.inputs).float())
            losses = F.cross_entropy(self.head(out).transpose(1, 2), batch.targets, reduction="none")
            weights = batch.mask.float()
            return (losses * weights).sum() / weights.sum().clamp_min(1.0)

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.Adam(self.parameters(), lr=t.lr)

        def transfer_batch_to_device(self, batch: Any, device: Any, dataloader_idx: int) -> Any:
            return batch

        if tuned:
            __setattr__ = SequenceModel.__setattr__

    raw = RawLoop(config)
    task = build_task(config)
    window = interleaved(raw, size.skip, size.steps)
    trainer = pl.Trainer(accelerator="gpu" if DEVICE.type == "cuda" else "cpu", devices=1, max_steps=t.max_steps, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                         gradient_clip_val=t.clip_grad_norm or None, callbacks=[window],
                         **({"profiler": unprofiled()} if tuned else {}))
    pl.seed_everything(t.seed, verbose=False)
    trainer.fit(Bare(task.input_size, size.hidden, task.output_size),
                train_dataloaders=task.train_batches(Draw(t.batch_size, seed=t.seed, device=DEVICE, batches=t.max_steps)))
    return {"lightning": [x / size.steps for x in window.lightning], "raw": [x / size.steps for x in window.raw]}


if __name__ == "__main__":
    import sys

    chosen = {"standard": STANDARD, "tiny": TINY, "charlm": CHARLM}[sys.argv[1] if len(sys.argv) > 1 else "tiny"]
    print(compare(chosen, 1, int(sys.argv[2]) if len(sys.argv) > 2 else 2, floor=chosen is TINY))

"""Target 1 (and the charlm gap): a `bench run` training step vs a raw PyTorch loop.

Both sides train the same network (the raw loop copies the harness network's initial weights into
plain ``nn.LSTM`` + ``nn.Linear``) on the same batches (the task's own seeded stream) with the same
optimizer, clipping and loss. The harness side is :func:`bench.train.run` itself — Lightning,
:class:`bench.model.SequenceModel`, the MLflow metrics logger and checkpoint callback, in a
throw-away MLflow store — timed by a callback between the start of step ``skip`` and the start of
step ``skip + steps``; the raw loop is timed over the same window. Validation is set to happen only
after the window (it is not a training step). The runs alternate, and each side's best (least
disturbed) repeat is kept.
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


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
    from bench.config import resolve

    steps = size.skip + size.steps + 1
    train = {"max_steps": steps, "eval_every": steps, "eval_size": 64, "threads": threads, "seed": 0,
             "early_stop": False, **size.train}
    if size.task == "charlm":  # the task's recommended run, only shorter; keep its evaluation off the window
        train.pop("eval_size")
    return resolve(overrides={"task": {"name": size.task}, "model": {"arch": "lstm", "hidden_size": size.hidden,
                                                                     "num_layers": size.layers},
                              "train": train}, plugin_options=dict(size.options))


def clocks() -> tuple[float, float]:
    """(wall, CPU time of this process): CPU time is what other processes on a busy machine disturb least."""
    return time.perf_counter(), time.process_time()


def since(started: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = clocks()
    return wall - started[0], cpu - started[1]


class StepWindow:
    """A Lightning callback: seconds from the start of step ``skip`` to the start of step ``skip + steps``."""

    def __new__(cls, skip: int, steps: int) -> Any:
        from lightning.pytorch.callbacks import Callback

        class _Window(Callback):
            def __init__(self) -> None:
                self.skip, self.steps = skip, steps
                self.started, self.seconds = (0.0, 0.0), (float("nan"), float("nan"))

            def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
                if trainer.global_step == self.skip:
                    self.started = clocks()
                elif trainer.global_step == self.skip + self.steps:
                    self.seconds = since(self.started)

        return _Window()


def harness_step(config: Any, skip: int, steps: int) -> tuple[tuple[float, float], Any]:
    """Seconds per step of ``bench run``'s training loop (bench.train.run, MLflow logger included)."""
    from bench.train import run

    window = StepWindow(skip, steps)
    with tempfile.TemporaryDirectory() as home:
        old = os.environ.get("RNNBENCH_HOME")
        os.environ["RNNBENCH_HOME"] = home
        try:
            result = run(config, tracking_uri=f"sqlite:///{home}/mlflow.db", progress=False, callbacks=[window])
        finally:
            if old is None:
                os.environ.pop("RNNBENCH_HOME", None)
            else:
                os.environ["RNNBENCH_HOME"] = old
    return tuple(x / steps for x in window.seconds), result.model


def raw_step(config: Any, skip: int, steps: int) -> tuple[tuple[float, float], dict[str, torch.Tensor]]:
    """Seconds per step of a hand-written loop: the same weights, batches, loss, clipping and Adam."""
    import lightning.pytorch as pl

    from bench.network import SequenceNetwork, build_task

    torch.set_num_threads(config.train.threads)
    pl.seed_everything(config.train.seed, verbose=False)
    task = build_task(config)
    initial = SequenceNetwork(task, config.model)  # only for its initial weights
    m = config.model
    lstm = nn.LSTM(task.input_size, m.hidden_size, m.num_layers, batch_first=True)
    lstm.load_state_dict(initial.core.rnn.state_dict())
    head = nn.Linear(m.hidden_size, task.output_size)
    head.load_state_dict(initial.head.state_dict())
    params = [*lstm.parameters(), *head.parameters()]
    t = config.train
    optimizer = torch.optim.Adam(params, lr=t.lr)
    vocabulary = task.input_size
    state = None
    started, seconds = (0.0, 0.0), (0.0, 0.0)
    for i, batch in enumerate(task.train_batches(t.batch_size, t.max_steps, t.seed, torch.device("cpu"))):
        if i == skip:
            started = clocks()
        if i == skip + steps:
            seconds = since(started)
        if i == t.max_steps:
            break
        out, state = lstm(F.one_hot(batch.inputs, vocabulary).float(), state if task.carries_state else None)
        state = tuple(s.detach() for s in state)
        losses = F.cross_entropy(head(out).transpose(1, 2), batch.targets, reduction="none")
        weights = batch.mask.float()
        loss = (losses * weights).sum() / weights.sum().clamp_min(1.0)
        optimizer.zero_grad()
        loss.backward()
        if t.clip_grad_norm:
            nn.utils.clip_grad_norm_(params, t.clip_grad_norm)
        optimizer.step()
    weights = {"core.rnn." + k: v for k, v in lstm.state_dict().items()}
    weights.update({"head." + k: v for k, v in head.state_dict().items()})
    return tuple(x / steps for x in seconds), weights


def compare(size: Size, threads: int, repeats: int) -> dict[str, Any]:
    """Best-of-``repeats`` seconds/step of both sides (wall and CPU), alternating, and whether both
    computed the same weights."""
    config = config_for(size, threads)
    harness, raw, same = [], [], True
    for _ in range(repeats):
        seconds, weights = raw_step(config, size.skip, size.steps)
        raw.append(seconds)
        seconds, model = harness_step(config, size.skip, size.steps)
        harness.append(seconds)
        trained = model.net.state_dict()
        same = same and all(torch.allclose(trained[k], v, rtol=1e-4, atol=1e-6) for k, v in weights.items())
    best_h, best_r = (min(x[0] for x in harness), min(x[1] for x in harness)), (min(x[0] for x in raw), min(x[1] for x in raw))
    return {"harness_ms": best_h[0] * 1000, "raw_ms": best_r[0] * 1000, "ratio": best_h[0] / best_r[0],
            "cpu_ratio": best_h[1] / best_r[1], "harness_cpu_ms": best_h[1] * 1000, "raw_cpu_ms": best_r[1] * 1000,
            "same_weights": same}


def lightning_floor(size: Size, threads: int, repeats: int) -> dict[str, Any]:
    """What Lightning's automatic loop alone costs over the raw loop: the same step (one-hot, LSTM,
    head, masked loss, clipping, Adam) as a bare LightningModule, no logger, no callback but the
    timer — the least any Lightning-based harness can cost."""
    import lightning.pytorch as pl

    from bench.network import build_task
    from bench.train import _quiet_lightning

    _quiet_lightning()
    config = config_for(size, threads)
    t = config.train
    torch.set_num_threads(threads)

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

    floor, raw = [], []
    for _ in range(repeats):
        raw.append(raw_step(config, size.skip, size.steps)[0][0])
        task = build_task(config)
        window = StepWindow(size.skip, size.steps)
        trainer = pl.Trainer(accelerator="cpu", devices=1, max_steps=t.max_steps, logger=False, enable_checkpointing=False,
                             enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                             gradient_clip_val=t.clip_grad_norm or None, callbacks=[window])
        pl.seed_everything(t.seed, verbose=False)
        trainer.fit(Bare(task.input_size, size.hidden, task.output_size),
                    train_dataloaders=task.train_batches(t.batch_size, t.max_steps, t.seed, torch.device("cpu")))
        floor.append(window.seconds[0] / size.steps)
    return {"floor_ms": min(floor) * 1000, "raw_ms": min(raw) * 1000, "ratio": min(floor) / min(raw)}


if __name__ == "__main__":
    import sys

    chosen = {"standard": STANDARD, "tiny": TINY, "charlm": CHARLM}[sys.argv[1] if len(sys.argv) > 1 else "tiny"]
    print(compare(chosen, 1, int(sys.argv[2]) if len(sys.argv) > 2 else 2))

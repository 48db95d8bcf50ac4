"""Targets 2 and 3: the architectures' cores against PyTorch's layers called directly.

Every row is one training step — forward, backward, Adam — of a core with a linear head at the
standard size (B=64, T=100, H=128, 128 input features), timed side by side with its reference in
the same process, alternating, best of the repeats.

* Target 2: ``vanilla``/``lstm``/``gru``/``irnn`` (our wrappers) vs ``nn.RNN``/``nn.LSTM``/``nn.GRU``
  built directly, with the same weights.
* Target 3: a hand-written LSTM cell as a :class:`bench.core.architecture.SteppedRecurrent` (the way the
  custom cells are written), eager and with its compiled step, vs ``nn.LSTM``; ``residual`` for
  information; ``attention`` and ``ntm`` on their fast path (and their step-by-step reference, eager
  and compiled) against issue 16's 2×, beside the attention scores' own cost; and what ``--compile on``
  (:mod:`bench.train.compiled`) would cost and gain in each custom cell's default run and a 20x longer
  one. Compile times are cold (a fresh inductor cache).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from bench.core.architecture import SteppedRecurrent
from bench.core.registry import ARCHITECTURES

B, T, H = 64, 100, 128
DEVICE = torch.device("cpu")
"""Where the timed steps run; benchmarks/gpu_check.py sets it to CUDA (timings then synchronise)."""


def synchronize() -> None:
    """Wait for the device's queued work: a CUDA step is only timed once it has run (no-op on the CPU)."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


class HandLSTM(SteppedRecurrent):
    """An LSTM cell written out by hand, one time step per call: the calibration point for custom cells.

    Written the way a custom cell should be: the input half of the gates' product for all steps at
    once (:meth:`SteppedRecurrent.project`), the recurrent half and the gates in ``step``.
    """

    name = "hand-written lstm"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.input_gates = nn.Linear(self.input_size, 4 * self.hidden_size)
        self.recurrent_gates = nn.Linear(self.hidden_size, 4 * self.hidden_size, bias=False)

    def initial_state(self, x: Tensor) -> tuple[Tensor, ...]:
        zeros = x.new_zeros(x.shape[0], self.hidden_size)
        return zeros, zeros

    def project(self, x: Tensor) -> Tensor:
        return self.input_gates(x)

    def step(self, x_t: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        h, c = state
        i, f, g, o = (x_t + self.recurrent_gates(h)).chunk(4, -1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)


def trainer(core: nn.Module, x: Tensor) -> Callable[[], None]:
    """One training step of ``core`` + a linear head on ``x``, as a closure."""
    head = nn.Linear(getattr(core, "output_size", H), 2).to(x.device)
    core.to(x.device)
    optimiser = torch.optim.Adam([*core.parameters(), *head.parameters()])

    def step() -> None:
        out, _ = core(x)
        loss = head(out).square().mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    return step


def time_steps(step: Callable[[], None], steps: int, warmup: int = 1) -> tuple[float, float]:
    """(seconds of the warm-up steps, seconds per step after them)."""
    synchronize()
    started = time.perf_counter()
    for _ in range(warmup):
        step()
    synchronize()
    warm = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize()
    return warm, (time.perf_counter() - started) / steps


def side_by_side(steps_by_name: dict[str, Callable[[], None]], steps: int, repeats: int) -> dict[str, float]:
    """Best-of-``repeats`` seconds per step of each closure, the closures taking turns."""
    best = {name: float("inf") for name in steps_by_name}
    for step in steps_by_name.values():
        step()  # warm-up: allocations, lazy initialisation, compilation
    for _ in range(repeats):
        for name, step in steps_by_name.items():
            best[name] = min(best[name], time_steps(step, steps, warmup=0)[1])
    return best


def direct_layer(name: str, core: nn.Module) -> nn.Module:
    """The PyTorch layer a standard architecture wraps, built directly, with the wrapper's weights."""
    layer = {"vanilla": lambda: nn.RNN(H, H, batch_first=True), "irnn": lambda: nn.RNN(H, H, nonlinearity="relu", batch_first=True),
             "lstm": lambda: nn.LSTM(H, H, batch_first=True), "gru": lambda: nn.GRU(H, H, batch_first=True)}[name]()
    layer.load_state_dict(core.rnn.state_dict())
    return layer


def standard_cells(steps: int, repeats: int) -> list[dict[str, Any]]:
    """Target 2: each standard architecture vs its layer called directly."""
    rows = []
    x = torch.randn(B, T, H, device=DEVICE)
    for name in ("vanilla", "lstm", "gru", "irnn"):
        torch.manual_seed(0)
        core = ARCHITECTURES.get(name)(H, H)
        direct = direct_layer(name, core)
        best = side_by_side({"wrapper": trainer(core, x), "direct": trainer(direct, x)}, steps, repeats)
        rows.append({"arch": name, "wrapper_ms": best["wrapper"] * 1000, "direct_ms": best["direct"] * 1000,
                     "ratio": best["wrapper"] / best["direct"]})
    return rows


def custom_cells(steps: int, repeats: int) -> list[dict[str, Any]]:
    """Target 3: ms/step of the hand-written LSTM and the custom cells, eager and compiled, against
    nn.LSTM (``residual``: against an nn.LSTM of as many layers as it has blocks)."""
    x = torch.randn(B, T, H, device=DEVICE)
    cores: dict[str, nn.Module] = {}
    torch.manual_seed(0)
    cores["hand-written lstm"] = HandLSTM(H, H)
    for name in ("residual", "attention", "ntm"):
        cls = ARCHITECTURES.get(name)
        torch.manual_seed(0)
        cores[name] = cls(H, H, num_layers=cls.recommended.get("model.num_layers", 1), options=cls.Options())
    rows = []
    for name, core in cores.items():
        layers = core.num_layers if name == "residual" else 1
        torch.manual_seed(0)
        reference = trainer(nn.LSTM(H, H, num_layers=layers, batch_first=True), x)
        n = steps if name in ("hand-written lstm", "residual") else max(1, steps // 3)  # slow cells: fewer steps
        best = side_by_side({"nn.LSTM": reference, "eager": trainer(core, x)}, n, repeats)
        row = {"arch": name, "reference": f"nn.LSTM, {layers} layer{'s' if layers > 1 else ''}",
               "lstm_ms": best["nn.LSTM"] * 1000, "eager_ms": best["eager"] * 1000}
        if isinstance(core, SteppedRecurrent):
            core.compiled = True  # compiles on the first call (warm: the inductor cache of this machine)
            best = side_by_side({"nn.LSTM": reference, "compiled": trainer(core, x)}, n, repeats)
            row["compiled_ms"] = best["compiled"] * 1000
            row["lstm_ms"] = min(row["lstm_ms"], best["nn.LSTM"] * 1000)
        if getattr(core, "has_fast_path", False):  # eager above is the fast path; the readable step too
            core.compiled, core.use_fast_path = False, False
            best = side_by_side({"nn.LSTM": reference, "step": trainer(core, x)}, n, repeats)
            row["step_ms"] = best["step"] * 1000
            row["lstm_ms"] = min(row["lstm_ms"], best["nn.LSTM"] * 1000)
        row["fast_ms"] = min(row["eager_ms"], row.get("compiled_ms", float("inf")))
        row["ratio"] = row["fast_ms"] / row["lstm_ms"]
        rows.append(row)
    rows.append(attention_scores_alone(max(1, steps // 3), repeats))
    return rows


def attention_scores_alone(steps: int, repeats: int) -> dict[str, Any]:
    """What the additive scores alone cost, at their fastest here (:class:`bench.AppendOnlyMemory`):
    T writes and T reads over the growing memory, forward and backward, with no cell and no matrix
    product — a floor under the attention cell's time beside nn.LSTM's whole training step."""
    from bench.core.kernels import AppendOnlyMemory

    torch.manual_seed(0)
    states, keys, queries = (torch.randn(B, T, H, device=DEVICE, requires_grad=True) for _ in range(3))
    score = torch.randn(H, device=DEVICE, requires_grad=True)
    nothing = torch.zeros(B, 0, H, device=DEVICE)

    def scores_only() -> None:
        store = AppendOnlyMemory(B, T, H, H, states)
        token, contexts = store.load(nothing, nothing), []
        # unbind, not [:, t]: the backward of T slices would write T zero-filled (B, T, H) gradients
        for state, key, query in zip(states.unbind(1), keys.unbind(1), queries.unbind(1), strict=True):
            token = store.write(token, state, key)
            contexts.append(store.attend(token, query, score))
        torch.stack(contexts, 1).square().mean().backward()

    best = side_by_side({"nn.LSTM": trainer(nn.LSTM(H, H, batch_first=True), torch.randn(B, T, H, device=DEVICE)),
                         "scores": scores_only}, steps, repeats)
    return {"arch": "attention's scores alone (no cell, no products)", "reference": "nn.LSTM, 1 layer",
            "lstm_ms": best["nn.LSTM"] * 1000, "eager_ms": best["scores"] * 1000, "fast_ms": best["scores"] * 1000,
            "ratio": best["scores"] / best["nn.LSTM"]}


# -- what --compile on costs and gains --------------------------------------------------------

def default_steps(arch: str) -> int:
    """The update count of ``bench run --arch ARCH`` (its default task and settings)."""
    from bench.core.resolve import resolve

    return resolve(overrides={"model": {"arch": arch}}).train.max_steps


def _cold_compile_seconds(config: dict[str, Any], threads: int) -> dict[str, float]:
    """Eager ms/step and cold compile seconds of a config's training step (forward + backward)."""
    import lightning.pytorch as pl

    from bench.core.config import RunConfig
    from bench.core.network import SequenceNetwork, build_task
    from bench.core.resolve import resolve
    from bench.core.task import Draw

    config_obj: RunConfig = resolve(config)
    torch.set_num_threads(threads)
    pl.seed_everything(0, verbose=False)
    task = build_task(config_obj)
    net = SequenceNetwork(task, config_obj.model)
    net.to(DEVICE)
    batch = next(iter(task.train_batches(Draw(config_obj.train.batch_size, device=DEVICE, batches=1))))
    optimiser = torch.optim.Adam(net.parameters())

    def step() -> None:
        from bench.core.metrics import masked_mean_loss

        loss = masked_mean_loss(task.output_kind, net(batch.inputs)[0], batch.targets, batch.mask)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    _, eager = time_steps(step, 5, warmup=2)
    net.core.compiled = True
    synchronize()
    started = time.perf_counter()
    step()
    synchronize()
    first = time.perf_counter() - started
    _, compiled = time_steps(step, 5, warmup=1)
    return {"eager_s": eager, "compiled_s": compiled, "compile_s": first - compiled}


def compile_costs(threads: int) -> list[dict[str, Any]]:
    """For each custom cell, its default run and a 20x longer one: what ``--compile on`` would cost
    (the cold compile, measured in a fresh process with an empty inductor cache) and gain (the
    compiled step against the eager one), and whether the compiled run would be the shorter."""
    from bench.core.resolve import resolve

    rows = []
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for arch in ("attention", "ntm"):
        with tempfile.TemporaryDirectory() as cache:
            config = resolve(overrides={"model": {"arch": arch}, "train": {"threads": threads}}).to_dict()
            code = ("import json, sys; sys.path.insert(0, 'benchmarks'); import suite_cells as s; "
                    f"print(json.dumps(s._cold_compile_seconds(json.loads(sys.argv[1]), {threads})))")
            out = subprocess.run([sys.executable, "-c", code, json.dumps(config)], cwd=root,
                                 env={**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache},
                                 capture_output=True, text=True, check=True)
            measured = json.loads(out.stdout.strip().splitlines()[-1])
        for steps in (default_steps(arch), 20 * default_steps(arch)):
            compiled_run = measured["compile_s"] + measured["compiled_s"] * steps
            eager_run = measured["eager_s"] * steps
            rows.append({"arch": arch, "max_steps": steps, **measured, "compiled_run_s": compiled_run,
                         "eager_run_s": eager_run, "compile_share": measured["compile_s"] / compiled_run,
                         "pays": compiled_run < eager_run})
    return rows

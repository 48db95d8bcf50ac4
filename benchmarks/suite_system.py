"""Targets 4-6: synthetic data generation, CLI latency, memory.

* 4: the time to draw one training batch of every synthetic task at the standard size (B=64, about
  T=100), against the training step (LSTM H=128, forward + backward + Adam) on that batch.
* 5: ``bench --help``, ``bench list`` and ``bench run --help`` as whole processes (median of 5).
* 6: the peak RSS of a default ``bench run`` (a child process); and a 5,000-step default run (no
  early stop) in a child process that samples its own RSS every 250 steps: flat after warm-up.

    python benchmarks/suite_system.py rss-run STEPS     # the child of target 6 (prints JSON)
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Each synthetic task at about T=100 (length means different things per task: see `bench list TASK`).
SYNTHETIC = [
    ("parity", {"length": 100}),
    ("copy", {"variant": "memory", "length": 80}),  # T = delay + 2 * recall = 100
    ("copy", {"variant": "ntm", "length": 50}),  # T = 2 * 50 + 1
    ("addition", {"variant": "binary", "length": 99}),  # T = bits + 1
    ("addition", {"variant": "adding", "length": 100}),
    ("program", {"length": 4, "nesting": 3}),  # generated in Python; T varies with the programs drawn
]


def data_generation(threads: int, batches: int = 20, steps: int = 3) -> list[dict[str, Any]]:
    """Target 4: ms to generate a training batch vs ms of a training step on it, per synthetic task."""
    import lightning.pytorch as pl

    from bench.core.metrics import masked_mean_loss
    from bench.core.network import SequenceNetwork, build_task
    from bench.core.resolve import resolve
    from bench.core.task import Draw

    torch.set_num_threads(threads)
    rows = []
    for name, options in SYNTHETIC:
        config = resolve(overrides={"task": {"name": name}, "model": {"arch": "lstm", "hidden_size": 128}},
                         plugin_options=options)
        pl.seed_everything(0, verbose=False)
        task = build_task(config)
        stream = iter(task.train_batches(Draw(64, batches=batches + 1)))
        kept = [next(stream)]  # the first draw sets up the stream
        started = time.perf_counter()
        for _ in range(batches):
            kept.append(next(stream))
        generate = (time.perf_counter() - started) / batches
        net = SequenceNetwork(task, config.model)
        optimiser = torch.optim.Adam(net.parameters())

        def step(batch: Any) -> None:
            loss = masked_mean_loss(task.output_kind, net(batch.inputs)[0], batch.targets, batch.mask)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()

        step(kept[0])
        started = time.perf_counter()
        for batch in kept[1:steps + 1]:
            step(batch)
        train = (time.perf_counter() - started) / steps
        label = name + "".join(f" {k}={v}" for k, v in options.items() if k != "length")
        rows.append({"task": label, "T": int(kept[-1].inputs.shape[1]), "generate_ms": generate * 1000,
                     "step_ms": train * 1000, "ratio": generate / train})
    return rows


def bench_command() -> list[str]:
    """The ``bench`` console script if installed, else the module."""
    script = shutil.which("bench")
    return [script] if script else [sys.executable, "-m", "bench.cli"]


def cli_latency(repeats: int = 5) -> list[dict[str, Any]]:
    """Target 5: seconds per whole ``bench`` process, median of ``repeats`` (after one untimed run)."""
    rows = []
    for args in (["--help"], ["list"], ["run", "--help"]):
        command = [*bench_command(), *args]
        subprocess.run(command, capture_output=True, check=True, cwd=ROOT)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True, cwd=ROOT)
            times.append(time.perf_counter() - started)
        rows.append({"command": "bench " + " ".join(args), "median_s": statistics.median(times), "best_s": min(times)})
    return rows


def rss_mb() -> float:
    """This process's resident set size now, in MB (Linux /proc; elsewhere the peak so far)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (2**20 if sys.platform == "darwin" else 2**10)


def _child_peak_rss_mb(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of one ``bench ARGS`` process, as the process itself reports it:
    Linux's ``VmHWM``, the high-water mark of the process's own address space. Not ``ru_maxrss``
    (wait4's or the child's own): Linux carries it across exec, so a child forked from this big
    process reports this process's size (2.7 GB in a suite run on 2026-11-22, for a ~0.6 GB run)."""
    code = ("import resource, sys; from bench.cli import main; code = main(sys.argv[1:]); "
            "status = dict(l.split(':', 1) for l in open('/proc/self/status')) if sys.platform == 'linux' else {}; "
            "kb = int(status['VmHWM'].split()[0]) if 'VmHWM' in status else "
            "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // (1024 if sys.platform == 'darwin' else 1); "
            "print('PEAK_RSS_KB', kb, flush=True); sys.exit(code)")
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"bench {' '.join(args)} failed: {out.stderr[-2000:]}")
    peak_kb = int(next(line for line in out.stdout.splitlines() if line.startswith("PEAK_RSS_KB")).split()[1])
    return peak_kb / 2**10, time.perf_counter() - started


def memory(threads: int, steps: int = 5000) -> dict[str, Any]:
    """Target 6: peak RSS of a default run; RSS over a long run, flat after warm-up."""
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "RNNBENCH_HOME": home}
        env.pop("MLFLOW_TRACKING_URI", None)
        peak, seconds = _child_peak_rss_mb(["run", "--threads", str(threads), "--no-progress"], env)
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "rss-run", str(steps), str(threads)],
                             cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    samples = json.loads(out.stdout.strip().splitlines()[-1])
    after = [(step, mb) for step, mb in samples if step >= steps // 5]  # warm-up: the first fifth
    n = len(after)
    mean_s, mean_m = sum(s for s, _ in after) / n, sum(m for _, m in after) / n
    slope = sum((s - mean_s) * (m - mean_m) for s, m in after) / sum((s - mean_s) ** 2 for s, _ in after)
    growth = after[-1][1] - after[0][1]
    return {"default_peak_mb": peak, "default_seconds": seconds, "samples": samples, "growth_mb": growth,
            "slope_mb_per_1000": slope * 1000, "start_mb": after[0][1],
            "flat": growth < max(2.0, 0.01 * after[0][1])}  # allocator noise: under 1% (or 2 MB)


def _rss_run(steps: int, threads: int) -> None:
    """A default `bench run` of ``steps`` updates without early stopping, sampling its RSS."""
    from lightning.pytorch.callbacks import Callback

    from bench.core.resolve import resolve
    from bench.train.run import Hooks, run

    samples: list[tuple[int, float]] = []

    class Sampler(Callback):
        def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
            if trainer.global_step % 250 == 0:
                samples.append((trainer.global_step, rss_mb()))

    config = resolve(overrides={"train": {"max_steps": steps, "early_stop": False, "threads": threads}})
    run(config, hooks=Hooks(callbacks=[Sampler()]), progress=False)
    print(json.dumps(samples))


if __name__ == "__main__":
    if sys.argv[1:2] == ["rss-run"]:
        _rss_run(int(sys.argv[2]), int(sys.argv[3]))
    else:
        print(json.dumps({"data": data_generation(1), "cli": cli_latency(), "memory": memory(1)}, indent=1))

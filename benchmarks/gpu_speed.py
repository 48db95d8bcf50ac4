"""Items 3-5 of benchmarks/gpu_check.py: step times (cells, harness vs raw loop), sweep workers per GPU,
and the compile decision on the device."""
from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent  # (also gpu_common.ROOT; set here before the imports)
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch  # noqa: E402
from gpu_common import (  # noqa: E402
    BENCH_CLI,
    CUSTOM,
    B,
    bench_env,
    collect,
    failure_lines,
    log,
    log_block,
    md_table,
    run_logged,
    sync,
    tail,
)


def item3(device: torch.device, budget: float) -> list[str]:
    import suite_cells
    import suite_overhead

    suite_cells.DEVICE = device
    suite_overhead.DEVICE = device
    deadline = time.monotonic() + budget
    cuda = device.type == "cuda"
    if not cuda:  # CPU smoke: the same code at a size this CPU does in seconds
        suite_cells.B, suite_cells.T, suite_cells.H = 16, 10, 32
    b, t, h = suite_cells.B, suite_cells.T, suite_cells.H
    lines: list[str] = []

    def per_s(ms: float) -> str:
        return f"{b / ms * 1000:.0f}"

    # harness vs raw loop
    lines += ["", "`bench run`'s training step (Lightning, MLflow logger, checkpoint callback) vs a raw PyTorch loop "
              "interleaved step by step in the same run (benchmarks/suite_overhead.py; each side timed to the end of "
              "its own kernels).", ""]
    rows = []
    for size in (suite_overhead.STANDARD, suite_overhead.TINY):
        if time.monotonic() > deadline:
            rows.append([size.name, "not run (item budget spent)", "", "", ""])
            continue
        try:
            if not cuda:  # CPU smoke: fewer steps
                size = suite_overhead.Size(size.name, size.task, size.options, size.hidden, size.layers, skip=5,
                                           steps=10, limit=size.limit, train=size.train)
            r = suite_overhead.compare(size, 1, 2 if cuda else 1)
            rows.append([size.name, r["harness_ms"], r["raw_ms"], r["ratio"], r["same_weights"]])
        except Exception as exc:
            log_block(f"item 3 overhead {size.name}", traceback.format_exc())
            rows.append([size.name, f"**FAIL** {type(exc).__name__}: {str(exc)[:160]}", "", "", ""])
        log(f"  item 3: overhead {size.name}: {rows[-1][1:4]}")
    lines += md_table(["size", "bench run ms/step", "raw loop ms/step", "ratio", "same weights (allclose)"], rows)
    lines += [""]
    # standard cells: cuDNN layers directly vs the wrappers
    lines += [f"Cells alone: B={b}, T={t}, H={h}, {h} input features, a linear head, forward + backward + Adam, float32, "
              f"on `{device}`; best of the repeats, the compared closures taking turns (benchmarks/suite_cells.py, "
              "timings synchronised).", ""]
    rows = []
    try:
        for r in suite_cells.standard_cells(10 if cuda else 2, 3 if cuda else 1):
            rows.append([r["arch"], r["direct_ms"], per_s(r["direct_ms"]), r["wrapper_ms"], per_s(r["wrapper_ms"]), r["ratio"]])
        lines += md_table(["arch", "direct nn.* ms/step", "seq/s", "bench wrapper ms/step", "seq/s", "wrapper / direct"], rows)
    except Exception:
        lines += failure_lines("standard cells")
    log("  item 3: standard cells done")
    # custom cells: eager, compiled, CUDA graphs
    lines += [""]
    rows = []
    modes = [("eager", None), ("compiled", "default"), ("CUDA graphs", "reduce-overhead")]
    for arch in CUSTOM:
        cls = B.ARCHITECTURES.get(arch)
        for mode_name, mode in modes:
            if mode == "reduce-overhead" and not cuda:
                rows.append([arch, mode_name, "skipped (no CUDA)", "", ""])
                continue
            if time.monotonic() > deadline - (20 if mode else 5):
                rows.append([arch, mode_name, "not run (item budget spent)", "", ""])
                continue
            try:
                torch.manual_seed(0)
                core = cls(h, h, num_layers=1, options=cls.Options())
                x = torch.randn(b, t, h, device=device)
                step = suite_cells.trainer(core, x)
                started = time.perf_counter()
                if mode:
                    core.compiled = True
                    core._compiled_step = torch.compile(core.step, dynamic=False, mode=mode)
                    step()
                    step()
                    sync(device)
                warm = time.perf_counter() - started
                n = (10 if cuda else 1)
                _, seconds = suite_cells.time_steps(step, n, warmup=1)
                best = seconds
                if cuda:
                    best = min(best, suite_cells.time_steps(step, n, warmup=0)[1])
                rows.append([arch, mode_name, best * 1000, per_s(best * 1000), f"{warm:.1f}" if mode else ""])
            except Exception as exc:
                log_block(f"item 3 {arch} {mode_name}", traceback.format_exc())
                rows.append([arch, mode_name, f"**FAIL** {type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}", "", ""])
            log(f"  item 3: {arch} {mode_name}: {rows[-1][2]}")
    torch.compiler.reset()
    lines += md_table(["cell", "step", "ms/step", "seq/s", "compile (s, first two steps)"], rows)
    return lines


# -- 4: sweep workers per GPU -------------------------------------------------------------------

SPACE = ("train.lr: {type: float, low: 0.001, high: 0.03, log: true}\n"
         "model.hidden_size: null\ntrain.optimizer: null\ntrain.clip_grad_norm: null\n")


class GpuMemory:
    """Polls nvidia-smi: the largest memory seen per process, and of the whole GPU."""

    def __init__(self) -> None:
        self.per_pid: dict[str, int] = {}
        self.total_peak, self.stopped = 0, threading.Event()
        self.baseline = self._total()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    @staticmethod
    def _total() -> int:
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=10).stdout
            return int(out.split()[0])
        except Exception:
            return 0

    def _poll(self) -> None:
        while not self.stopped.wait(0.5):
            self.total_peak = max(self.total_peak, self._total())
            try:
                out = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                                     capture_output=True, text=True, timeout=10).stdout
                for line in out.strip().splitlines():
                    pid, mib = [p.strip() for p in line.split(",")[:2]]
                    if mib.isdigit():
                        self.per_pid[pid] = max(self.per_pid.get(pid, 0), int(mib))
            except Exception:
                pass

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=15)


def item4(device: torch.device, budget: float) -> list[str]:
    cuda = device.type == "cuda"
    ks = (1, 2, 4) if cuda else (1, 2)
    steps = 300 if cuda else 60
    deadline = time.monotonic() + budget
    rows = []
    for k in ks:
        trials = 4 * k if cuda else 2 * k
        remaining = deadline - time.monotonic()
        if remaining < 20:
            rows.append([k, trials, "not run (item budget spent)", "", "", "", ""])
            continue
        with tempfile.TemporaryDirectory() as home:
            space = Path(home) / "space.yaml"
            space.write_text(SPACE)
            placement = ["--devices", "0", "--workers-per-device", str(k)] if cuda else ["--workers", str(k), "--device", "cpu"]
            command = [*BENCH_CLI, "sweep", "--task", "parity", "--opt", "length=6", "--arch", "gru", "--hidden-size", "32",
                       "--max-steps", str(steps), "--eval-every", str(steps), "--eval-size", "256", "--no-early-stop",
                       "--pruner", "none", "--space", str(space), "--trials", str(trials), *placement, "--no-progress"]
            memory = GpuMemory() if cuda else None
            started = time.perf_counter()
            out = run_logged(f"item 4 sweep K={k}", command, remaining, bench_env(home), cwd=Path(home))
            wall = time.perf_counter() - started
            if memory is not None:
                memory.stop()
            logs = Path(home) / "sweep-logs"
            if logs.exists():
                for f in sorted(logs.glob("*.log")):
                    log_block(f"item 4 K={k} {f.name}", f.read_text(errors="replace"))
        if out.returncode != 0:
            rows.append([k, trials, f"**FAIL** exit {out.returncode}: {tail(out.stderr, 1)[:200]}", f"{wall:.1f}", "", "", ""])
        else:
            per_worker = (f"{max(memory.per_pid.values())} (max of {len(memory.per_pid)} processes)"
                          if memory and memory.per_pid else "n/a (nvidia-smi lists no processes)" if memory else "skipped (no CUDA)")
            total = f"{memory.total_peak - memory.baseline}" if memory else "skipped (no CUDA)"
            rows.append([k, trials, "ok", f"{wall:.1f}", f"{trials / wall * 3600:.0f}", per_worker, total])
        log(f"  item 4: K={k}: {rows[-1][2:5]}")
    how = "`--devices 0 --workers-per-device K`" if cuda else "`--workers K --device cpu` (CPU smoke; `--devices 0` needs CUDA: skipped)"
    lines = [f"`bench sweep` on parity (6 bits), GRU 32 units, {steps} updates a trial, no early stop, no pruning, "
             f"learning rate searched (TPE), {how}, a fresh SQLite store each; wall time from the command's start to "
             "its end, worker start-up (imports, CUDA context) included.", ""]
    lines += md_table(["K", "trials", "result", "wall (s)", "trials/hour", "peak GPU MiB per worker process",
                       "peak GPU MiB in use, all (over idle)"], rows)
    return lines


# -- 5: what --compile on costs and gains for each custom cell ---------------------------------

def start_cold_compiles(device: torch.device, home: str) -> dict[str, Any]:
    """Started at the beginning (they take the longest and run on the CPU's cores): for each custom
    cell's default run, eager and compiled ms/step and the cold compile time, each in a fresh process
    with an empty inductor cache (benchmarks/suite_cells.py's _cold_compile_seconds)."""
    procs = {}
    for arch in CUSTOM:
        cache = tempfile.mkdtemp(prefix=f"inductor-{arch}-")
        code = ("import json, sys, torch; sys.path.insert(0, 'benchmarks'); import suite_cells as s; "
                f"s.DEVICE = torch.device({str(device)!r}); "
                "from bench.core.resolve import resolve; "
                f"config = resolve(overrides={{'model': {{'arch': {arch!r}}}, 'train': {{'device': {str(device)!r}}}}}).to_dict(); "
                "print('RESULT ' + json.dumps(s._cold_compile_seconds(config, 1)))")
        procs[arch] = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT,
                                       env={**bench_env(home), "TORCHINDUCTOR_CACHE_DIR": cache},
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return procs


def item5(device: torch.device, budget: float, procs: dict[str, Any]) -> list[str]:
    import suite_cells

    from_compile = {}
    deadline = time.monotonic() + budget
    for arch, proc in procs.items():
        from_compile[arch] = collect(proc, deadline, f"item 5 cold compile {arch}")
    rows = []
    for arch in CUSTOM:
        steps = suite_cells.default_steps(arch)
        m = from_compile.get(arch)
        if m is None or "error" in m:
            said = (m or {}).get("error") or "no result"
            rows.append([arch, steps, f"**cold compile FAIL**: {said.splitlines()[-1][:160] if said else ''}", "", "", "", ""])
        else:
            compiled_run = m["compile_s"] + m["compiled_s"] * steps
            eager_run = m["eager_s"] * steps
            rows.append([arch, steps, m["eager_s"] * 1000, m["compiled_s"] * 1000, m["compile_s"],
                         f"{m['compile_s'] / compiled_run:.1%}", f"{eager_run:.0f} vs {compiled_run:.0f}"])
        log(f"  item 5: {arch}: {rows[-1][2:]}")
    return [f"The default `bench run --arch ARCH --device {device}` (default task: 10-bit parity, H=64, B=64): what "
            "`--compile on` would cost and gain — the eager and compiled training step and the cold compile time, each "
            "measured in a fresh process with an empty inductor cache. Reported: `--compile` is off unless asked for.", "",
            *md_table(["arch", "max steps", "eager ms/step", "compiled ms/step", "cold compile (s)",
                       "compile share of compiled run", "eager vs compiled run (s)"], rows)]


# -- the driver ---------------------------------------------------------------------------------

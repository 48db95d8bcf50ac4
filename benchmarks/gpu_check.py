"""Issue 18 in one go: the harness on a CUDA GPU — every task × architecture, determinism, speed,
sweep workers per GPU and the compile decision — written as the GPU section of results/BENCHMARKS.md.

    python benchmarks/gpu_check.py --out results/gpu_section.md --log-dir /tmp/gpu-logs   # on the GPU machine
    python benchmarks/gpu_check.py --device cpu                                            # CPU smoke of the same logic

Items (issue 18): 1 every task × architecture a few steps (errors, data device, host syncs per step),
2 ``--deterministic`` same seed twice, 3 speed at B=64, T=100, H=128 (cuDNN layers vs the wrappers,
attention/ntm eager / compiled / CUDA graphs, harness vs raw loop), 4 ``bench sweep --devices 0
--workers-per-device K``, 5 ``--compile auto`` for each custom cell. On a machine without CUDA the
CUDA-only parts say so in one line and the rest runs on the CPU at smaller sizes. Each item has a
time budget (the whole script: about 7 minutes on an H200 with ``--budget 400``) and its own try/except: a failure is
reported with its traceback's tail and the other items still run. One log: ``--log-dir``/gpu_check.log.

On a GPU machine without network (the device machines this project is lent): MLflow, Optuna and
optuna-integration travel as wheels for its Python, installed to a folder on PYTHONPATH::

    pip download --no-deps --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 \
        -d .whl mlflow-skinny mlflow-tracing optuna optuna-integration sqlalchemy alembic ...   # here
    pip install --no-index --no-deps --target /tmp/site .whl/*.whl                              # there
    PYTHONPATH=/tmp/site:$PWD python3 benchmarks/gpu_check.py --budget 400 --out gpu_section.md --log-dir logs

(the session note of issue 18 lists the exact set of wheels that worked).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch  # noqa: E402

# == every bench.* import is here ==================================================================
# The rest of this script reaches bench only through `B` (filled by load_bench), the CLI
# (`python -m bench.cli`, see BENCH_CLI) and benchmarks/suite_cells.py / suite_overhead.py.
BENCH_CLI = [sys.executable, "-m", "bench.cli"]


class B:
    resolve: Any = None  # bench.core.resolve.resolve(yaml_values, overrides, plugin_options) -> RunConfig
    fit: Any = None  # bench.train.run.fit(config, progress=..., callbacks=...) -> RunResult
    build_task: Any = None  # bench.core.network.build_task(config) -> Task
    ARCHITECTURES: Any = None  # bench.core.registry.ARCHITECTURES (.names())
    TASKS: Any = None  # bench.core.registry.TASKS (.names())
    SteppedRecurrent: Any = None  # bench.core.architecture.SteppedRecurrent


def load_bench() -> None:
    from bench.core.architecture import SteppedRecurrent
    from bench.core.network import build_task
    from bench.core.registry import ARCHITECTURES, TASKS
    from bench.core.resolve import resolve
    from bench.train.run import fit

    B.resolve, B.fit, B.build_task = resolve, fit, build_task
    B.ARCHITECTURES, B.TASKS, B.SteppedRecurrent = ARCHITECTURES, TASKS, SteppedRecurrent
# == end of the bench.* imports ====================================================================

CUSTOM = ("attention", "ntm")
SMALL_MODEL = {"ntm": {"memory_slots": 16}}  # as tests/train/test_train.py: a small memory keeps NTM quick
EXTRA_VARIANTS = [("copy", {"variant": "memory", "length": 3}), ("copy", {"variant": "ntm", "length": 4}),
                  ("addition", {"variant": "binary", "length": 4}), ("addition", {"variant": "adding", "length": 6}),
                  ("program", {"length": 1, "nesting": 1}), ("program", {"variant": "memorize", "length": 3})]


def variants() -> list[tuple[str, dict[str, Any]]]:
    """Every registered task at its defaults, and the variants above (as tests/train/test_train.py)."""
    return [(task, {}) for task in B.TASKS.names()] + EXTRA_VARIANTS
STARTED = time.monotonic()
LOG: Any = None


def log(message: str) -> None:
    line = f"[{time.strftime('%H:%M:%S')} +{time.monotonic() - STARTED:5.0f}s] {message}"
    print(line, flush=True)
    if LOG is not None:
        LOG.write(line + "\n")
        LOG.flush()


def log_block(title: str, text: str) -> None:
    """A subprocess's output or a traceback: in full to the log, not to the terminal."""
    if LOG is not None:
        LOG.write(f"----- {title} -----\n{text.rstrip()}\n----- end {title} -----\n")
        LOG.flush()


def tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def small_data(task: str, folder: Path) -> dict[str, Any]:
    """Tiny data files of a real-data task's format: the task's own ``example_options``."""
    return dict(B.TASKS.get(task).example_options(folder))


def md_table(header: list[str], rows: list[list[Any]]) -> list[str]:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
        return str(v).replace("|", "\\|").replace("\n", " ")
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(cell(v) for v in row) + " |" for row in rows)]


def bench_env(home: str) -> dict[str, str]:
    env = {**os.environ, "RNNBENCH_HOME": home, "PYTHONUNBUFFERED": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]])
    return env


def run_logged(title: str, command: list[str], timeout: float, env: dict[str, str] | None = None,
               cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """A subprocess with a timeout, its whole output in the log; rc 124 on timeout."""
    started = time.perf_counter()
    try:
        out = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=max(1.0, timeout))
    except subprocess.TimeoutExpired as exc:
        text = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        text += (exc.stderr or b"").decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        log_block(f"{title} (timed out after {timeout:.0f} s)", text)
        return subprocess.CompletedProcess(command, 124, text, f"timed out after {timeout:.0f} s\n" + tail(text))
    log_block(f"{title} (rc {out.returncode}, {time.perf_counter() - started:.1f} s): {' '.join(command)}",
              out.stdout + "\n" + out.stderr)
    return out


# -- 0: the machine -----------------------------------------------------------------------------

def machine(device: torch.device) -> list[str]:
    lines = [f"- Python {platform.python_version()}, torch {torch.__version__}, CUDA (torch) {torch.version.cuda}, "
             f"cuDNN {torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else 'n/a'}; "
             f"{os.cpu_count()} CPU cores"]
    try:
        import lightning

        lines[0] += f"; lightning {lightning.__version__}"
    except Exception:
        pass
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        lines.append(f"- GPU: {props.name}, {props.total_memory / 2**30:.0f} GiB, {props.multi_processor_count} SMs, "
                     f"compute capability {props.major}.{props.minor}")
        try:
            smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=20).stdout.strip()
            lines.append(f"- nvidia-smi: {smi}")
        except Exception as exc:
            lines.append(f"- nvidia-smi: unavailable ({exc})")
    else:
        lines.append("- GPU: none (CUDA not available): CPU smoke run; the CUDA-only parts are marked skipped")
    return lines


# -- 1: every task × architecture ---------------------------------------------------------------

class SyncCounter:
    """Counts synchronising CUDA calls (torch.cuda.set_sync_debug_mode("warn")) in a window of training
    steps: from the start of step ``first`` to the start of step ``last`` (the next batches' generation
    included), and where in Python they came from."""

    def __init__(self, device: torch.device, first: int = 2, last: int = 7) -> None:
        from lightning.pytorch.callbacks import Callback

        self.device, self.first, self.last = device, first, last
        self.count, self.steps, self.sources = 0, 0, {}
        self.recording = False
        self.data_device = "?"
        counter = self

        class _Window(Callback):
            def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
                step = trainer.global_step
                if step == 0:
                    counter.data_device = str(batch.inputs.device)
                if step == counter.first:
                    counter.start()
                elif step == counter.last:
                    counter.stop(step - counter.first)

            def on_validation_start(self, trainer: Any, pl_module: Any) -> None:
                if counter.recording:
                    counter.stop(trainer.global_step - counter.first)

        self.callback = _Window()

    def start(self) -> None:
        self.recording = True
        if self.device.type == "cuda":
            torch.cuda.set_sync_debug_mode("warn")

    def stop(self, steps: int) -> None:
        if self.device.type == "cuda":
            torch.cuda.set_sync_debug_mode(0)
        if self.recording:
            self.recording, self.steps = False, steps

    def showwarning(self, message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        if self.recording and "synchroniz" in str(message):
            self.count += 1
            frames = [f for f in traceback.extract_stack()[:-1]
                      if "/torch/" not in f.filename and "warnings" not in f.filename and "gpu_check" not in f.filename]
            where = f"{Path(frames[-1].filename).parent.name}/{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames \
                else f"{Path(filename).name}:{lineno}"
            self.sources[where] = self.sources.get(where, 0) + 1


def item1(device: torch.device, budget: float, work: Path) -> list[str]:
    archs = list(B.ARCHITECTURES.names())
    deadline = time.monotonic() + budget
    rows, failures, sources = [], [], {}
    ok = 0
    for task, options in variants():
        label = f"{task}" + (f"/{options['variant']}" if "variant" in options else "")
        opts = {**options, **small_data(task, work)}
        try:
            data_device = _data_device(task, opts, device)
        except Exception as exc:
            data_device = f"error: {type(exc).__name__}: {exc}"
        for arch in archs:
            if time.monotonic() > deadline:
                rows.append([label, arch, "not run (item budget spent)", "", "", ""])
                continue
            counter = SyncCounter(device)
            started = time.perf_counter()
            try:
                config = B.resolve({"task": {"name": task}, "model": {"arch": arch, **SMALL_MODEL.get(arch, {})}},
                                   {"train": {"threads": 1, "eval_size": 32, "batch_size": 8, "max_steps": 8,
                                              "eval_every": 8, "early_stop": False, "device": str(device)}}, dict(opts))
                with warnings.catch_warnings():
                    warnings.simplefilter("always")
                    warnings.showwarning = counter.showwarning
                    result = B.fit(config, progress=False, callbacks=[counter.callback])
                counter.stop(counter.steps)
                finite = all(v == v for v in result.metrics.values())
                per_step = counter.count / counter.steps if counter.steps else float("nan")
                top = ", ".join(f"{k} ×{v}" for k, v in sorted(counter.sources.items(), key=lambda kv: -kv[1])[:2])
                for k, v in counter.sources.items():
                    sources[k] = sources.get(k, 0) + v
                rows.append([label, arch, "ok" if finite else "ok (NaN metric)", f"{counter.data_device} (generated: {data_device})",
                             f"{per_step:.2f}" if device.type == "cuda" else "skipped (CPU)", top])
                ok += 1
            except Exception as exc:
                counter.stop(counter.steps)
                log_block(f"item 1 {label} × {arch}", traceback.format_exc())
                failures.append(f"{label} × {arch}: {type(exc).__name__}: {str(exc)[:300]}")
                rows.append([label, arch, f"**FAIL** {type(exc).__name__}", data_device, "", ""])
            log(f"  item 1: {label} × {arch}: {rows[-1][2]} ({time.perf_counter() - started:.1f} s)")
    lines = [f"{ok} of {len(variants()) * len(archs)} task × architecture runs finished on `{device}` (8 updates, "
             "batch 8, evaluation sets of 32; ntm with 16 memory slots). Host syncs: synchronising CUDA calls "
             "counted with `torch.cuda.set_sync_debug_mode(\"warn\")` from the start of update 2 to the start of "
             "update 7 (the next batches' generation included), per update; source = the innermost non-torch "
             "Python line.", ""]
    if device.type != "cuda":
        lines.append("Host-sync counting skipped: no CUDA device (CPU run).")
        lines.append("")
    lines += md_table(["task", "arch", "result", "batch device (task's own generation)", "syncs/update", "sync sources"], rows)
    if sources:
        lines += ["", "All sync sources over the matrix: " + ", ".join(f"`{k}` ×{v}" for k, v in
                                                                          sorted(sources.items(), key=lambda kv: -kv[1])[:8])]
    if failures:
        lines += ["", "Failures:", *(f"- {f}" for f in failures)]
    # The CLI path on the device: MLflow store, logger, checkpoint, summary.
    with tempfile.TemporaryDirectory() as home:
        command = [*BENCH_CLI, "run", "--task", "parity", "--arch", "gru", "--device", str(device), "--max-steps", "60",
                   "--eval-every", "30", "--eval-size", "128", "--no-progress"]
        out = run_logged("item 1 CLI run", command, 120.0, bench_env(home))
        lines += ["", f"`bench run --task parity --arch gru --device {device} --max-steps 60 ...` through the CLI "
                  f"(MLflow store, checkpoints): exit code {out.returncode}" +
                  ("" if out.returncode == 0 else f"; stderr tail: `{tail(out.stderr, 3)}`")]
    return lines


def _data_device(task: str, options: dict[str, Any], device: torch.device) -> str:
    """Where the task's training stream puts a batch it generates for ``device``."""
    config = B.resolve({"task": {"name": task}}, {"train": {"device": str(device)}}, dict(options))
    batch = next(iter(B.build_task(config).train_batches(4, 1, 0, device)))
    return str(batch.inputs.device)


# -- 2: determinism -----------------------------------------------------------------------------

DET_ARCHS = ("gru", "lstm", "attention", "ntm")


def determinism_worker(spec: str) -> None:
    """(subprocess) The same config twice per architecture; prints one JSON line of the metrics."""
    args = json.loads(spec)
    load_bench()
    out = {}
    for arch in DET_ARCHS:
        runs = []
        for _ in range(2):
            config = B.resolve({"task": {"name": "parity", "length": 10}, "model": {"arch": arch, **SMALL_MODEL.get(arch, {})}},
                               {"train": {"threads": 1, "max_steps": args["steps"], "eval_every": args["steps"],
                                          "eval_size": 256, "early_stop": False, "seed": 3, "device": args["device"],
                                          "deterministic": args["deterministic"]}})
            runs.append(B.fit(config, progress=False).metrics)
        out[arch] = runs
    print("RESULT " + json.dumps(out), flush=True)


def det_steps(device: torch.device) -> int:
    return 100 if device.type == "cuda" else 20


def start_determinism(device: torch.device, home: str) -> dict[bool, Any]:
    """Started at the beginning, both modes at once (they are independent; nothing here is timed)."""
    procs = {}
    for det in (True, False):
        spec = json.dumps({"device": str(device), "deterministic": det, "steps": det_steps(device)})
        procs[det] = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--determinism-worker", spec],
                                      cwd=ROOT, env=bench_env(home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True)
    return procs


def collect(proc: subprocess.Popen[str], deadline: float, label: str) -> dict[str, Any]:
    """The ``RESULT {json}`` line of a background process (killed at ``deadline``), its output logged."""
    try:
        text, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        text, _ = proc.communicate()
        text = "timed out\n" + text
    log_block(f"{label} rc={proc.returncode}", text)
    found = [line for line in text.splitlines() if line.startswith("RESULT ")]
    result: dict[str, Any] = json.loads(found[-1][7:]) if found else {"error": tail(text, 8)}
    return result


def item2(device: torch.device, budget: float, procs: dict[bool, Any]) -> list[str]:
    steps = det_steps(device)
    deadline = time.monotonic() + budget
    results = {}
    for det, proc in procs.items():
        results[det] = collect(proc, deadline, f"item 2 determinism worker deterministic={det}")
    rows = []
    for arch in DET_ARCHS:
        row = [arch]
        for det in (True, False):
            r = results.get(det, {"error": "not started"})
            if "error" in r:
                row.append("**FAIL**: " + r["error"].splitlines()[-1][:200] if r["error"] else "**FAIL**")
                continue
            a, b = r[arch]
            diffs = [abs(a[k] - b[k]) for k in a if k in b]
            same = a == b
            row.append("identical" if same else f"differ: {sum(1 for d in diffs if d > 0)} of {len(diffs)} metrics, max |Δ| {max(diffs):.3g}")
        rows.append(row)
    lines = [f"Parity (10 bits), H=64, B=64, {steps} updates, seed 3 (ntm: 16 memory slots), the same config run twice "
             f"in one process per mode (a fresh process each, run while item 1 ran), on `{device}`; every final metric "
             "compared exactly.", ""]
    if device.type != "cuda":
        lines += ["CUDA determinism skipped: no CUDA device (this is the CPU smoke: CPU runs are repeatable either way).", ""]
    lines += md_table(["arch", "--deterministic: run 1 vs run 2", "default (non-deterministic): run 1 vs run 2"], rows)
    for det in (True, False):
        if "error" in results.get(det, {"error": "not started"}):
            lines += ["", f"deterministic={det} worker failed; output tail:", "```",
                      results.get(det, {"error": "not started"})["error"], "```"]
    return lines


# -- 3: speed -----------------------------------------------------------------------------------

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


# -- 5: --compile auto for each custom cell -----------------------------------------------------

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
    for arch in (*CUSTOM, "residual", "irnn"):
        try:
            probe = suite_cells._probe_decision(arch, None, 1, str(device))
        except Exception as exc:
            log_block(f"item 5 probe {arch}", traceback.format_exc())
            rows.append([arch, "", f"**FAIL** {type(exc).__name__}: {str(exc)[:160]}", "", "", "", "", "", ""])
            continue
        m = from_compile.get(arch)
        steps = probe["max_steps"]
        if m is None:
            rows.append([arch, steps, probe["decision"], "(fused kernel: nothing to compile)", "", "", "", "", ""])
        elif "error" in m:
            rows.append([arch, steps, probe["decision"], f"**cold compile FAIL**: {m['error'].splitlines()[-1][:160] if m['error'] else ''}",
                         "", "", "", "", ""])
        else:
            compiled = probe["decision"].startswith("compiled")
            share = m["compile_s"] / (m["compile_s"] + m["compiled_s"] * steps)
            eager_run, compiled_run = m["eager_s"] * steps, m["compile_s"] + m["compiled_s"] * steps
            right = compiled == (share < 0.10)
            rows.append([arch, steps, probe["decision"], m["eager_s"] * 1000, m["compiled_s"] * 1000, m["compile_s"],
                         f"{share:.1%}", f"{eager_run:.0f} vs {compiled_run:.0f}", "yes" if right else "**no**"])
        log(f"  item 5: {arch}: {rows[-1][2]}")
    return [f"The default `bench run --arch ARCH --device {device}` (default task: 10-bit parity, H=64, B=64): the decision "
            "`--compile auto` took after its timed eager steps (the run stopped right after it), against the step times "
            "and the cold compile time measured in a fresh process with an empty inductor cache. Right: the decision the "
            "10%-of-the-run rule calls for with the measured compile time (bench/train/compiled.py assumes "
            "40 s on CUDA and a 3x speed-up).", "",
            *md_table(["arch", "max steps", "decision", "eager ms/step", "compiled ms/step", "cold compile (s)",
                       "compile share of compiled run", "eager vs compiled run (s)", "right?"], rows)]


# -- the driver ---------------------------------------------------------------------------------

def failure_lines(what: str) -> list[str]:
    text = traceback.format_exc()
    log_block(f"{what} failed", text)
    log(f"  {what}: FAILED: {text.strip().splitlines()[-1]}")
    return ["", f"**{what} failed** (traceback tail):", "", "```", tail(text, 10), "```"]


def main() -> int:
    global LOG
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the Markdown section here (default: print it)")
    parser.add_argument("--log-dir", help="write gpu_check.log (everything, subprocess output included) here")
    parser.add_argument("--device", default="auto", help="auto (CUDA if present), cuda, cuda:N or cpu")
    parser.add_argument("--only", default="1,2,3,4,5", help="comma-separated items")
    parser.add_argument("--budget", type=float, default=400.0, help="seconds for the whole script (default 400)")
    parser.add_argument("--determinism-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.determinism_worker:
        determinism_worker(args.determinism_worker)
        return 0
    if args.log_dir:
        Path(args.log_dir).mkdir(parents=True, exist_ok=True)
        LOG = open(Path(args.log_dir) / "gpu_check.log", "w")
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          "cpu" if args.device == "auto" else args.device)
    cuda = device.type == "cuda"
    if not cuda:
        log("no CUDA device: CPU smoke run; CUDA-only parts are reported as skipped")
    only = {int(x) for x in args.only.split(",") if x.strip()}
    # Seconds per item for a 330 s budget (scaled with --budget). 2 and 5 run in background processes
    # started first; their items only collect (5 gets whatever is left, at least 30 s).
    shares = {1: 75, 2: 20, 3: 100, 4: 130, 5: 25}
    home = tempfile.mkdtemp(prefix="gpu-check-home-")
    os.environ["RNNBENCH_HOME"] = home
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    sections: list[str] = []
    log(f"gpu_check on {device}: items {sorted(only)}, budget {args.budget:.0f} s")
    try:
        load_bench()
        sections += ["## GPU (issue 18)", "", f"Generated by `python benchmarks/gpu_check.py` on "
                     f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC.", "", *machine(device)]
        log("machine: " + " / ".join(sections[-2:]))
    except Exception:
        sections += failure_lines("setup")
    compiles = determinism = None
    if 2 in only:
        try:
            determinism = start_determinism(device, home)
            log("item 2: determinism workers started in the background")
        except Exception:
            sections += failure_lines("item 2 (start)")
    if 5 in only:
        try:
            compiles = start_cold_compiles(device, home)
            log("item 5: cold compiles started in the background")
        except Exception:
            sections += failure_lines("item 5 (start)")
    items: list[tuple[int, str, Callable[[float], list[str]]]] = [
        (1, "1. Every task × architecture on the device", lambda b: item1(device, b, Path(tempfile.mkdtemp(prefix="gpu-check-data-")))),
        (2, "2. `--deterministic`: the same seed twice", lambda b: item2(device, b, determinism or {})),
        (3, "3. Speed", lambda b: item3(device, b)),
        (4, "4. `bench sweep --devices 0 --workers-per-device K`", lambda b: item4(device, b)),
        (5, "5. `--compile auto` for each custom cell", lambda b: item5(device, b, compiles or {})),
    ]
    for number, title, run in items:
        if number not in only:
            continue
        budget = shares[number] * args.budget / 330
        if number == 2:  # its workers started first; give them a minute from now at least
            budget = max(budget, 60.0)
        if number == 5:
            budget = max(budget, args.budget - (time.monotonic() - STARTED))
        log(f"item {number}: {title} (budget {budget:.0f} s)")
        started = time.monotonic()
        sections += ["", f"### {title}", ""]
        try:
            sections += run(budget)
        except Exception:
            sections += failure_lines(f"item {number}")
        log(f"item {number} done in {time.monotonic() - started:.0f} s")
        if args.out:  # after each item: a run killed later still leaves what it measured
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text("\n".join(sections) + "\n\n(partial: written after item " + str(number) + ")\n")
    sections += ["", f"Whole check: {time.monotonic() - STARTED:.0f} s."]
    text = "\n".join(sections) + "\n"
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
        log(f"wrote {args.out}")
    print(text, flush=True)
    if LOG is not None:
        LOG.write(text)
        LOG.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

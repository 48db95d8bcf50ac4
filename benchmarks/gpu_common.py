"""The plumbing of benchmarks/gpu_check.py: bench's imports in one place, logging, Markdown tables,
subprocess runs with a log, the machine description and the host-sync counter."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import traceback
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
    fit: Any = None  # bench.train.run.fit(config, progress=..., callbacks=...) -> Trained
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
                      if "/torch/" not in f.filename and "warnings" not in f.filename and "gpu_check" not in f.filename and "gpu_common" not in f.filename]
            where = f"{Path(frames[-1].filename).parent.name}/{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames \
                else f"{Path(filename).name}:{lineno}"
            self.sources[where] = self.sources.get(where, 0) + 1


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


def failure_lines(what: str) -> list[str]:
    text = traceback.format_exc()
    log_block(f"{what} failed", text)
    log(f"  {what}: FAILED: {text.strip().splitlines()[-1]}")
    return ["", f"**{what} failed** (traceback tail):", "", "```", tail(text, 10), "```"]

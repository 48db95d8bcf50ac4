"""ms per training step (forward + backward + Adam) of the linear recurrences beside nn.LSTM / nn.GRU,
at T = 100, 1,000 and 4,000 (B=64, H=128, 128 input features, one block each, a linear head).

Each linear recurrence three ways, the same function: its whole-sequence mode with the recurrence
run by the element-wise loop (``--opt scan=loop``, the CPU default) or by the log-space parallel
scan (``scan=log_space``, the accelerator default), and step by step (``parallel = False``, every
product inside the loop, as a classic cell runs). A cell whose first step takes over ``--budget``
seconds is timed on that step alone; over 10x the budget it is not run at longer T. Each cell runs
in its own process, so one that runs out of memory is reported as such and the rest go on. Writes
results/scan_speed.md.

    python benchmarks/scan_speed.py [--threads N] [--lengths 100,1000,4000] [--budget 20]
"""
from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

from bench.core.architecture import ScannedRecurrent
from bench.core.machine import cpu_name
from bench.core.registry import ARCHITECTURES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suite import write_keeping_notes  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
B, H = 64, 128
MODES = ["loop", "log_space", "step"]


def build(arch: str, mode: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if arch == "lstm":
        return torch.nn.LSTM(H, H, batch_first=True)
    if arch == "gru":
        return torch.nn.GRU(H, H, batch_first=True)
    cls = ARCHITECTURES.get(arch)
    core = cls(H, H, num_layers=1, options=cls.Options(scan="log_space" if mode == "log_space" else "loop"))
    core.parallel = mode != "step"
    return core


def ms_per_step(core: torch.nn.Module, length: int, budget: float) -> float:
    """Mean ms per training step after one warm-up step (the warm-up alone if it took over ``budget`` s)."""
    head = torch.nn.Linear(H, 2)
    optimiser = torch.optim.Adam([*core.parameters(), *head.parameters()])
    x = torch.randn(B, length, H)

    def step() -> float:
        started = time.perf_counter()
        optimiser.zero_grad()
        out, _ = core(x)
        head(out).square().mean().backward()
        optimiser.step()
        return time.perf_counter() - started

    first = step()
    if first > budget:
        return 1000 * first
    repeats = max(1, min(5, int(budget / max(first, 1e-3))))
    return 1000 * sum(step() for _ in range(repeats)) / repeats


def _memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2 ** 20
    except OSError:
        pass
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--lengths", default="100,1000,4000")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per cell before it is timed once")
    parser.add_argument("--out", default=str(ROOT / "results" / "scan_speed.md"))
    parser.add_argument("--cell", nargs=3, metavar=("ARCH", "MODE", "T"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.cell:  # one cell, in the process the table's loop started for it
        arch, mode, length = args.cell
        print(ms_per_step(build(arch, mode), int(length), args.budget))
        return
    lengths = [int(v) for v in args.lengths.split(",")]
    scanned = [n for n in ARCHITECTURES.names() if issubclass(ARCHITECTURES.get(n), ScannedRecurrent)]
    rows = [("lstm", "nn.LSTM"), ("gru", "nn.GRU")] + [(a, m) for a in scanned for m in MODES]
    too_slow: set[tuple[str, str]] = set()
    table = {}
    for arch, mode in rows:
        for length in lengths:
            if (arch, mode) in too_slow:
                table[arch, mode, length] = "not run"
                continue
            cell = subprocess.run([sys.executable, __file__, "--cell", arch, mode, str(length), "--threads",
                                   str(args.threads), "--budget", str(args.budget)], capture_output=True, text=True)
            if cell.returncode != 0:
                killed = cell.returncode in (-9, 137) or "out of memory" in cell.stderr.lower()
                table[arch, mode, length] = "out of memory" if killed else f"failed ({cell.returncode})"
                print(f"{arch:8} {mode:10} T={length:5}: {table[arch, mode, length]} {cell.stderr[-300:]}", flush=True)
                too_slow.add((arch, mode))
                continue
            ms = float(cell.stdout.split()[-1])
            table[arch, mode, length] = f"{ms:,.0f}"
            print(f"{arch:8} {mode:10} T={length:5}: {ms:10.1f} ms", flush=True)
            if ms > 1000 * 10 * args.budget:
                too_slow.add((arch, mode))
    lines = [
        "# Linear recurrences: ms per training step beside nn.LSTM / nn.GRU",
        "",
        f"Machine: {cpu_name()}, {args.threads} thread(s); torch {torch.__version__}; {platform.python_version()}. "
        f"Generated by `python benchmarks/scan_speed.py --threads {args.threads} --lengths {args.lengths} "
        f"--budget {args.budget:g}` on {datetime.now(UTC):%Y-%m-%d}.",
        f"B={B}, H={H}, {H} input features, one block, forward + backward + Adam. `loop`: whole-sequence mode, "
        "the recurrence by the element-wise loop (CPU default); `log_space`: by the log-space parallel scan "
        "(accelerator default); `step`: step by step, every product in the loop. \"not run\": an earlier T "
        f"took over {10 * args.budget:g} s a step, or ran out of memory.",
        "",
        f"Memory: {_memory_gb():.0f} GB.",
        "",
        "| arch | mode | " + " | ".join(f"T={n:,}" for n in lengths) + " |",
        "|---|---|" + "---:|" * len(lengths),
    ]
    lines += [f"| {a} | {m} | " + " | ".join(table[a, m, n] for n in lengths) + " |" for a, m in rows]
    write_keeping_notes(Path(args.out), "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""The performance suite of issue 7: every target as a ratio measured side by side, pass or fail.

    python benchmarks/suite.py                 # everything (~7 min on 2 idle CPU cores), writes results/BENCHMARKS.md
    python benchmarks/suite.py --only 1,5      # some targets; --quick: fewer repeats, warm compile cache
    python benchmarks/suite.py --no-write      # print only

Targets (issue 7; target 1 at the tiny size as issue 16 decided): 1 harness overhead (`bench run`'s
Lightning step vs a raw loop; at the tiny size vs the bare Lightning loop), 2 standard cells vs
PyTorch's layers, 3 custom cells (hand-written LSTM vs nn.LSTM; the compile decision), 4 synthetic
data generation vs step time, 5 CLI latency, 6 memory. The measuring code is in
suite_overhead.py (1 and the charlm step), suite_cells.py (2, 3) and suite_system.py (4-6).
Timings on a shared machine are only as good as its idleness: the load average is printed beside
them. Anything under the ``<!-- notes -->`` line of the results file (hand-written) is kept.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import suite_cells  # noqa: E402
import suite_overhead  # noqa: E402
import suite_system  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTES = "<!-- notes -->"


def write_keeping_notes(out: Path, generated: str) -> None:
    """Write ``generated`` to ``out``, keeping what was written by hand under its ``<!-- notes -->`` line."""
    notes = out.read_text().split(NOTES, 1)[1] if out.exists() and NOTES in out.read_text() else ""
    out.write_text(generated + "\n" + NOTES + notes)


def machine(threads: int) -> list[str]:
    from bench.core.machine import cpu_name, usable_cores

    cpu = cpu_name()
    cores = usable_cores()
    parallel = torch.__config__.parallel_info()
    backend = next((line.split(":", 1)[1].strip() for line in parallel.splitlines() if "parallel backend" in line), "?")
    blas = "MKL" if torch.backends.mkl.is_available() else "no MKL"
    gpu = (torch.cuda.get_device_name(0) if torch.cuda.is_available()
           else "none on this machine: every measurement here is on the CPU (GPU figures, when a session had one, "
                "are in the GPU section under the notes line, from benchmarks/gpu_check.py)")
    return [
        f"- CPU: {cpu}, {cores} cores available; Python {platform.python_version()}, {platform.system()} {platform.release()}",
        f"- torch {torch.__version__} ({blas}, oneDNN {'on' if torch.backends.mkldnn.is_available() else 'off'}, "
        f"{backend} parallel backend), {threads} torch thread(s) for every measurement",
        f"- GPU: {gpu}",
    ]


def load() -> str:
    try:
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "?"


def verdict(ok: bool | None) -> str:
    return "reported" if ok is None else ("pass" if ok else "**FAIL**")


def run_suite(only: set[int], threads: int, quick: bool) -> tuple[list[tuple[str, str, str, str]], list[str]]:
    """(summary rows: target, measured, limit, result; detail lines)."""
    rows: list[tuple[str, str, str, str]] = []
    detail: list[str] = []
    repeats = 2 if quick else 3
    torch.set_num_threads(threads)

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')} load {load()}] {message}", flush=True)

    if 1 in only:
        detail += ["", "## 1. Harness overhead: `bench run`'s training step vs a raw PyTorch loop", "",
                   "The raw loop runs inside the `bench run` it is compared with, one raw step at the start of each "
                   "Lightning step (benchmarks/suite_overhead.py), and both are timed over steps `skip` to "
                   "`skip + steps`: the two sides alternate millisecond by millisecond, so the machine's drifting "
                   "speed slows both alike. Median of the repeats; the two sides trained to the same weights (checked).", "",
                   "| size | skip, steps | repeats | bench run ms/step | raw loop ms/step | ratio (wall) | ratio (CPU time) | each repeat | same weights |",
                   "|---|---:|---:|---:|---:|---:|---:|---|---|"]
        floor: dict[str, Any] = {}
        # Issue 16's decision: at the tiny size Lightning's own loop already costs ~1.29x a raw loop, and the
        # project keeps Lightning, so `bench run` is judged against the bare Lightning loop there (<= 1.03x);
        # its ratio to the raw loop is reported.
        for size, limit in ((suite_overhead.STANDARD, 1.05), (suite_overhead.TINY, None), (suite_overhead.CHARLM, 1.05)):
            log(f"target 1: {size.name}")
            n = 2 if size is suite_overhead.CHARLM else (repeats + 2 if size is suite_overhead.TINY else repeats)
            r = suite_overhead.compare(size, threads, n, floor=size is suite_overhead.TINY)
            floor = r if size is suite_overhead.TINY else floor
            detail.append(f"| {size.name} | {size.skip}, {size.steps} | {n} | {r['harness_ms']:.2f} | {r['raw_ms']:.2f} | "
                          f"{r['ratio']:.3f} | {r['cpu_ratio']:.3f} | {', '.join(f'{x:.3f}' for x in r['ratios'])} | {r['same_weights']} |")
            if limit is None:
                rows.append((f"1. harness overhead, {size.name} (vs the raw loop)", f"{r['ratio']:.3f}×", "—", "reported"))
            else:
                rows.append((f"1. harness overhead, {size.name}", f"{r['ratio']:.3f}×", f"≤ {limit}×", verdict(r["ratio"] <= limit)))
        detail += ["", "The floor under target 1 at the tiny size, measured in the same repeats: the same step written "
                   "as a bare LightningModule (no logger, no callback but the timer, nothing of bench) in Lightning's "
                   f"automatic loop costs **{floor['floor_ratio']:.3f}×** its interleaved raw loop "
                   f"({floor['floor_ms']:.2f} vs {floor['floor_raw_ms']:.2f} ms/step) before anything of this harness runs; "
                   "with the two changes `bench run` makes to Lightning's per-step bookkeeping (a plain attribute for "
                   "the hook name, a profiler that builds no context managers) it costs "
                   f"**{floor['tuned_floor_ratio']:.3f}×** ({floor['tuned_floor_ms']:.2f} vs {floor['tuned_floor_raw_ms']:.2f})."]
        versus_lightning = floor["ratio"] / floor["floor_ratio"]
        rows.append(("1. harness overhead, tiny size, vs the bare Lightning loop", f"{versus_lightning:.3f}×", "≤ 1.03×",
                     verdict(versus_lightning <= 1.03)))
        rows.append(("1. (floor) bare Lightning loop, tiny size", f"{floor['floor_ratio']:.3f}×", "—", "reported"))
        rows.append(("1. (floor) the same with bench's two Lightning changes", f"{floor['tuned_floor_ratio']:.3f}×", "—", "reported"))
    if 2 in only:
        log("target 2: standard cells")
        detail += ["", "## 2. Standard cells: our wrappers vs the PyTorch layers called directly", "",
                   "B=64, T=100, H=128, 128 input features, forward + backward + Adam, same weights.", "",
                   "| arch | wrapper ms/step | direct ms/step | ratio |", "|---|---:|---:|---:|"]
        for r in suite_cells.standard_cells(3 if quick else 5, repeats):
            detail.append(f"| {r['arch']} | {r['wrapper_ms']:.1f} | {r['direct_ms']:.1f} | {r['ratio']:.3f} |")
            rows.append((f"2. {r['arch']} vs nn.{'LSTM' if r['arch'] == 'lstm' else 'GRU' if r['arch'] == 'gru' else 'RNN'}",
                         f"{r['ratio']:.3f}×", "≤ 1.05×", verdict(r["ratio"] <= 1.05)))
    if 3 in only:
        log("target 3: custom cells")
        detail += ["", "## 3. Custom cells on their fast path", "",
                   "Same size as 2. Eager: the cell's `forward` as a run uses it (for attention and ntm their "
                   "fast path, `fast_forward`); step: their readable step-by-step reference, eager; compiled: "
                   "`torch.compile` of that step (warm inductor cache); fast = the faster of eager and compiled. "
                   "The last row is a floor: the additive attention scores alone, over the growing memory, "
                   "forward and backward, with no cell and no matrix product.", "",
                   "| cell | reference | reference ms/step | eager ms/step | step ms/step | compiled ms/step | "
                   "fast / reference |", "|---|---|---:|---:|---:|---:|---:|"]
        for r in suite_cells.custom_cells(3 if quick else 5, repeats):
            compiled = f"{r['compiled_ms']:.0f}" if "compiled_ms" in r else ""
            step = f"{r['step_ms']:.0f}" if "step_ms" in r else ""
            detail.append(f"| {r['arch']} | {r['reference']} | {r['lstm_ms']:.1f} | {r['eager_ms']:.1f} | {step} | "
                          f"{compiled} | {r['ratio']:.2f} |")
            if r["arch"] == "hand-written lstm":
                rows.append(("3. hand-written LSTM cell vs nn.LSTM", f"{r['ratio']:.3f}×", "≤ 1.5×", verdict(r["ratio"] <= 1.5)))
            if r["arch"] in ("attention", "ntm"):  # issue 16's target
                rows.append((f"3. {r['arch']} (fast path) vs nn.LSTM", f"{r['ratio']:.2f}×", "≤ 2.0×",
                             verdict(r["ratio"] <= 2.0)))
            if r["arch"].startswith("attention's scores"):
                rows.append(("3. (floor) attention's scores alone vs nn.LSTM", f"{r['ratio']:.2f}×", "—", "reported"))
        if not quick:
            log("target 3: what --compile on costs and gains (cold compiles in fresh processes)")
            detail += ["", "What would `--compile on` cost and gain? For each custom cell's default run (`bench run "
                       "--arch ARCH`, the default task) and a 20× longer one: the eager and compiled training step, "
                       "the cold compile time measured in a fresh process with an empty inductor cache, and the two "
                       "runs' lengths. Reported, not a target: `--compile` is off unless asked for.", "",
                       "| cell | steps | eager ms/step | compiled ms/step | cold compile (s) | "
                       "compile share of the compiled run | eager vs compiled run (s) | compiling pays |",
                       "|---|---:|---:|---:|---:|---:|---:|---|"]
            for r in suite_cells.compile_costs(threads):
                detail.append(f"| {r['arch']} | {r['max_steps']} | {r['eager_s'] * 1000:.1f} | "
                              f"{r['compiled_s'] * 1000:.1f} | {r['compile_s']:.1f} | {r['compile_share']:.1%} | "
                              f"{r['eager_run_s']:.0f} vs {r['compiled_run_s']:.0f} | {'yes' if r['pays'] else 'no'} |")
                rows.append((f"3. `--compile on`, {r['arch']}, {r['max_steps']} steps",
                             f"compile {r['compile_share']:.1%} of the run; {'pays' if r['pays'] else 'does not pay'}",
                             "—", "reported"))
    if 4 in only:
        log("target 4: data generation")
        detail += ["", "## 4. Synthetic data generation vs the training step", "",
                   "One training batch (B=64) drawn from the task's stream vs one LSTM H=128 step on it.", "",
                   "| task | T | generate ms | step ms | share |", "|---|---:|---:|---:|---:|"]
        for r in suite_system.data_generation(threads):
            detail.append(f"| {r['task']} | {r['T']} | {r['generate_ms']:.2f} | {r['step_ms']:.1f} | {r['ratio']:.1%} |")
            python = r["task"].startswith("program")
            rows.append((f"4. data generation, {r['task']}" + (" (Python, not a SyntheticTask)" if python else ""),
                         f"{r['ratio']:.1%} of step", "< 5%", verdict(None if python else r["ratio"] < 0.05)))
    if 5 in only:
        log("target 5: CLI latency")
        detail += ["", "## 5. CLI latency (whole processes, median of 5)", "", "| command | median s | best s |",
                   "|---|---:|---:|"]
        for r in suite_system.cli_latency():
            detail.append(f"| `{r['command']}` | {r['median_s']:.2f} | {r['best_s']:.2f} |")
            rows.append((f"5. `{r['command']}`", f"{r['median_s']:.2f} s", "< 1 s", verdict(r["median_s"] < 1.0)))
    if 6 in only:
        log("target 6: memory")
        m = suite_system.memory(threads)
        samples = ", ".join(f"{s}: {mb:.0f}" for s, mb in m["samples"][::4])
        detail += ["", "## 6. Memory", "",
                   f"Peak RSS of a default `bench run --threads {threads} --no-progress` (a child process, "
                   f"{m['default_seconds']:.0f} s): **{m['default_peak_mb']:.0f} MB**.", "",
                   "A default run of 5,000 steps without early stopping, sampling its own RSS every 250 steps "
                   f"(MB, every 1,000th step shown): {samples}. After warm-up (step 1,000 on): "
                   f"{m['growth_mb']:+.1f} MB, least-squares slope {m['slope_mb_per_1000']:+.2f} MB per 1,000 steps."]
        rows.append(("6. peak RSS, default `bench run`", f"{m['default_peak_mb']:.0f} MB", "—", "reported"))
        rows.append(("6. RSS over 5,000 steps after warm-up", f"{m['growth_mb']:+.1f} MB "
                     f"({m['slope_mb_per_1000']:+.2f} MB/1k steps)", "< 1% of RSS", verdict(m["flat"])))
    return rows, detail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads for every measurement (default 1)")
    parser.add_argument("--only", default="1,2,3,4,5,6", help="comma-separated target numbers")
    parser.add_argument("--quick", action="store_true", help="fewer repeats; no cold compiles")
    parser.add_argument("--no-write", action="store_true", help="print only; leave results/BENCHMARKS.md alone")
    parser.add_argument("--out", default=str(ROOT / "results" / "BENCHMARKS.md"))
    args = parser.parse_args()
    os.chdir(ROOT)
    only = {int(x) for x in args.only.split(",") if x.strip()}
    before = load()
    started = time.perf_counter()
    rows, detail = run_suite(only, args.threads, args.quick)
    after = load()
    command = "python benchmarks/suite.py" + "".join(
        f" {flag}" for flag, on in ((f"--threads {args.threads}", args.threads != 1),
                                    (f"--only {args.only}", args.only != "1,2,3,4,5,6"), ("--quick", args.quick)) if on)
    lines = [
        "# Performance suite (issue 7)", "",
        f"Generated by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in "
        f"{time.perf_counter() - started:.0f} s. Ratios are measured side by side in that one process run.", "",
        *machine(args.threads),
        f"- load average (1, 5, 15 min) before: {before}; after: {after} (2 cores: near 0 means idle)", "",
        "| target | measured | limit | result |", "|---|---|---|---|",
        *(f"| {' | '.join(row)} |" for row in rows),
        *detail,
    ]
    table = "\n".join(lines) + "\n"
    print(table)
    if not args.no_write:
        out = Path(args.out)
        write_keeping_notes(out, table)
        print(f"wrote {out}")


if __name__ == "__main__":
    main()

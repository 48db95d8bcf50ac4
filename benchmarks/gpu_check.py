"""Issue 18 in one go: the harness on a CUDA GPU — every task × architecture, determinism, speed,
sweep workers per GPU and the compile decision — written as the GPU section of results/BENCHMARKS.md.

    python benchmarks/gpu_check.py --out results/gpu_section.md --log-dir /tmp/gpu-logs   # on the GPU machine
    python benchmarks/gpu_check.py --device cpu                                            # CPU smoke of the same logic

Items (issue 18): 1 every task × architecture a few steps (errors, data device, host syncs per step),
2 ``--deterministic`` same seed twice, 3 speed at B=64, T=100, H=128 (cuDNN layers vs the wrappers,
attention/ntm eager / compiled / CUDA graphs, harness vs raw loop), 4 ``bench sweep --devices 0
--workers-per-device K``, 5 what ``--compile on`` costs and gains for each custom cell. On a machine without CUDA the
CUDA-only parts say so in one line and the rest runs on the CPU at smaller sizes. Each item has a
time budget (the whole script: about 7 minutes on an H200 with ``--budget 400``) and its own try/except: a failure is
reported with its traceback's tail and the other items still run. One log: ``--log-dir``/gpu_check.log.
Items 1-2 and the run are here; items 3-5 in gpu_speed.py; the shared plumbing (bench's imports,
logging, tables, the sync counter) in gpu_common.py.

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
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import gpu_common  # noqa: E402  (benchmarks/ is on sys.path above)
import torch  # noqa: E402
from gpu_common import (  # noqa: E402
    BENCH_CLI,
    ROOT,
    SMALL_MODEL,
    STARTED,
    B,
    SyncCounter,
    bench_env,
    collect,
    failure_lines,
    load_bench,
    log,
    log_block,
    machine,
    md_table,
    run_logged,
    small_data,
    tail,
    variants,
)
from gpu_speed import item3, item4, item5, start_cold_compiles  # noqa: E402


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
    from bench.core.task import Draw

    config = B.resolve({"task": {"name": task}}, {"train": {"device": str(device)}}, dict(options))
    batch = next(iter(B.build_task(config).train_batches(Draw(4, device=device, batches=1))))
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

def main() -> int:
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
        gpu_common.LOG = open(Path(args.log_dir) / "gpu_check.log", "w")
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
    background: dict[int, Any] = {}  # items 2 and 5 run in processes started first
    for number, start, what in ((2, start_determinism, "determinism workers"), (5, start_cold_compiles, "cold compiles")):
        if number in only:
            try:
                background[number] = start(device, home)
                log(f"item {number}: {what} started in the background")
            except Exception:
                sections += failure_lines(f"item {number} (start)")
    items: list[tuple[int, str, Callable[[float], list[str]]]] = [
        (1, "1. Every task × architecture on the device", lambda b: item1(device, b, Path(tempfile.mkdtemp(prefix="gpu-check-data-")))),
        (2, "2. `--deterministic`: the same seed twice", lambda b: item2(device, b, background.get(2, {}))),
        (3, "3. Speed", lambda b: item3(device, b)),
        (4, "4. `bench sweep --devices 0 --workers-per-device K`", lambda b: item4(device, b)),
        (5, "5. `--compile on`: cost and gain for each custom cell", lambda b: item5(device, b, background.get(5, {}))),
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
    if gpu_common.LOG is not None:
        gpu_common.LOG.write(text)
        gpu_common.LOG.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

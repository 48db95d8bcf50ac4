"""Benchmark: the four curricula of Learning to Execute (Zaremba & Sutskever 2014) at a reduced scale.

An LSTM learns to execute programs of target length 2 (digits per number) and nesting 2 with each
curriculum — baseline, naive, mix, combined — at the same step budget, one CPU thread per run, one
run at a time; the table (test whole-target and per-character accuracy, where the curriculum
ended, steps, seconds) goes to results/program_curricula.md with the commands and the machine.

    python benchmarks/program_curricula.py                        # seeds 0 and 1, 3,000 steps each
    python benchmarks/program_curricula.py --seeds 0 --steps 1000 # a quick look
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CURRICULA = ["baseline", "naive", "mix", "combined"]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def command(args: argparse.Namespace, curriculum: str, seed: int) -> list[str]:
    return ["bench", "run", "--task", "program", "--arch", "lstm", "--opt", f"length={args.length}",
            "--opt", f"nesting={args.nesting}", "--opt", f"curriculum={curriculum}", "--hidden-size", "128",
            "--lr", "1e-2", "--max-steps", str(args.steps), "--eval-every", "100", "--eval-size", "1000",
            "--seed", str(seed), "--threads", "1", "--no-progress", "--experiment", "program-curricula"]


def run_one(args: argparse.Namespace, curriculum: str, seed: int) -> dict:
    cmd = command(args, curriculum, seed)
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "bench.cli", *cmd[1:]], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    print(out.stdout[-800:], out.stderr[-1500:] if out.returncode else "", flush=True)
    if out.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {out.returncode}")
    run_id = re.search(r"MLflow run (\w+)", out.stdout).group(1)
    from mlflow.tracking import MlflowClient

    from bench.tracking import Tracker

    client = MlflowClient(Tracker(None).uri)
    metrics = client.get_run(run_id).data.metrics
    level, reached = f"{args.length}, {args.nesting}", "—"
    if curriculum in ("naive", "combined"):
        lengths = client.get_metric_history(run_id, "val/curriculum_length")
        nestings = {m.step: m.value for m in client.get_metric_history(run_id, "val/curriculum_nesting")}
        history = sorted((m.step, int(m.value), int(nestings[m.step])) for m in lengths)
        level = f"{history[-1][1]}, {history[-1][2]}" if history else "1, 1"
        at_target = [step for step, n, d in history if (n, d) == (args.length, args.nesting)]
        reached = str(at_target[0]) if at_target else "never"
    return {"curriculum": curriculum, "seed": seed, "command": " ".join(cmd), "wall": wall,
            "test_seq": metrics["test/seq_acc"], "test_acc": metrics["test/acc"], "val_seq": metrics["val/seq_acc"],
            "train_seq": metrics["train/seq_acc"], "steps": int(metrics["steps"]),
            "seconds": metrics["train_seconds"], "level": level, "reached": reached}


def table(rows: list[dict]) -> str:
    lines = ["| curriculum | seed | test seq_acc | test per-char acc | val seq_acc | train seq_acc | final level "
             "(length, nesting) | target level from step | steps | training s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['curriculum']} | {r['seed']} | **{r['test_seq']:.3f}** | {r['test_acc']:.3f} | "
                     f"{r['val_seq']:.3f} | {r['train_seq']:.3f} | {r['level']} | {r['reached']} | {r['steps']} | "
                     f"{r['seconds']:.0f} |")
    return "\n".join(lines)


def means(rows: list[dict]) -> str:
    lines = ["| curriculum | mean test seq_acc | mean test per-char acc | runs |", "|---|---|---|---|"]
    for curriculum in CURRICULA:
        mine = [r for r in rows if r["curriculum"] == curriculum]
        if mine:
            seq = sum(r["test_seq"] for r in mine) / len(mine)
            acc = sum(r["test_acc"] for r in mine) / len(mine)
            lines.append(f"| {curriculum} | {seq:.3f} | {acc:.3f} | {len(mine)} |")
    return "\n".join(lines)


def write(rows: list[dict], args: argparse.Namespace) -> None:
    import torch

    commands = "\n".join(r["command"] for r in rows)
    text = f"""# Learning to Execute: the four curricula at a reduced scale

Programs of target length {args.length} (digits per number) and nesting {args.nesting} (Zaremba & Sutskever
2014's generator), an LSTM of 128 units (one layer, forget bias 1), Adam 1e-2, gradient-norm clip 1,
batch 64, {args.steps} steps for every curriculum, validation every 100 steps on 1,000 programs.
Validation and test are always at the target difficulty; naive and combined move their level up when
the per-character accuracy on 1,000 validation programs at the current level passes 95% or has not
beaten its value 5 validations earlier. Accuracies are under teacher forcing (as in the paper):
`seq_acc` = the whole printed number and its final `.` right, per-char = each target character.

{table(rows)}

Mean over seeds:

{means(rows)}

Generated by `python benchmarks/program_curricula.py --seeds {' '.join(map(str, args.seeds))} --steps {args.steps}`
on {cpu_name()} ({os.cpu_count()} cores, shared with other jobs, so the seconds are noisy; one thread
per run), Python {platform.python_version()}, torch {torch.__version__}. Commands:

```
{commands}
```
"""
    Path(args.out).write_text(text)


def main() -> None:
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("RNNBENCH_HOME", tempfile.mkdtemp(prefix="program-curricula-"))
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--length", type=int, default=2)
    parser.add_argument("--nesting", type=int, default=2)
    parser.add_argument("--curricula", nargs="+", default=CURRICULA, choices=CURRICULA)
    parser.add_argument("--out", default=str(ROOT / "results" / "program_curricula.md"))
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        for curriculum in args.curricula:
            rows.append(run_one(args, curriculum, seed))
            write(rows, args)  # after every run: a long benchmark leaves a partial table if stopped
    print(table(rows))
    print(means(rows))


if __name__ == "__main__":
    main()

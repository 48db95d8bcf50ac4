"""Benchmark: polyphonic music (JSB Chorales, Nottingham) through `bench run`, one run at a time.

Each run uses the music task's recommended settings (hidden 200, dropout 0.3, Adam 2e-3, clip 1,
batch 16, validation every 30 steps, patience 10 validations, test at the best validation) on one
CPU thread, and the table of test NLL per frame goes to results/music.md with the commands and the
machine. Targets (issue 14): JSB GRU <= 8.50, LSTM <= 8.45, tanh <= 8.91; Nottingham LSTM <= 3.39 within
15 minutes of training.

    python benchmarks/music.py                      # JSB: gru, lstm, vanilla
    python benchmarks/music.py --runs jsb:gru nottingham:lstm jsb:gru:tuned

A run named SET:ARCH:tuned adds that pair's TUNED flags: settings chosen by validation NLL among the
configurations tried for it (issue 14's note lists them), for a target the recommended settings miss.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from logged_run import provenance, run_logged

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "music"
FILES = {"jsb": "JSB_Chorales.mat", "nottingham": "Nottingham.mat"}
TARGETS = {("jsb", "gru"): 8.50, ("jsb", "lstm"): 8.45, ("jsb", "vanilla"): 8.91, ("nottingham", "lstm"): 3.39}
PAPER = {("jsb", "gru"): 8.43, ("jsb", "lstm"): 8.45, ("jsb", "vanilla"): 8.91,
         ("nottingham", "gru"): 3.46, ("nottingham", "lstm"): 3.29, ("nottingham", "vanilla"): 4.05}


TUNED = {("jsb", "gru"): ["--hidden-size", "300", "--dropout", "0.5", "--weight-decay", "1e-4"]}
"""Per-pair settings chosen by the best validation NLL among the configurations tried (issue 14)."""


def run_one(dataset: str, arch: str, data: Path, seed: int, tuned: bool = False) -> dict:
    flags = TUNED[(dataset, arch)] if tuned else []
    command = ["bench", "run", "--task", "music", "--arch", arch, "--opt", f"data={data}", *flags, "--seed", str(seed),
               "--threads", "1", "--no-progress", "--experiment", f"music-{dataset}-benchmark"]
    run, wall = run_logged(command)
    run_id, metrics = run.info.run_id, run.data.metrics
    return {"dataset": dataset, "arch": arch, "settings": " ".join(flags) or "recommended", "command": " ".join(command), "run_id": run_id, "wall": wall,
            "test": metrics["test/nll_per_frame"], "val": metrics["val/nll_per_frame"],
            "train": metrics["train/nll_per_frame"], "steps": int(metrics["steps"]),
            "seconds": metrics["train_seconds"], "params": int(metrics["num_parameters"]),
            "frame_acc": metrics["test/frame_acc"], "waste": metrics["padding_waste"],
            "stop": run.data.tags.get("stop_reason", "")}


def table(rows: list[dict]) -> str:
    lines = ["| set | arch | settings | test NLL/frame | target | paper (Bai et al. 2018) | val | train | test frame acc. | "
             "params | steps | training s | padding waste | stopped |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        key = (r["dataset"], r["arch"])
        target = TARGETS.get(key)
        verdict = "" if target is None else (f"≤ {target} ✓" if r["test"] <= target else f"≤ {target} ✗")
        lines.append(f"| {r['dataset']} | {r['arch']} | {r['settings']} | **{r['test']:.3f}** | {verdict} | {PAPER.get(key, '')} | "
                     f"{r['val']:.3f} | {r['train']:.3f} | {r['frame_acc']:.3f} | {r['params']:,} | {r['steps']} | "
                     f"{r['seconds']:.0f} | {r['waste']:.2f} | {r['stop']} |")
    return "\n".join(lines)


def main() -> None:
    os.chdir(ROOT)  # the runs and this script share the default store, ./.bench
    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=["jsb:gru", "jsb:lstm", "jsb:vanilla"],
                        help="SET:ARCH pairs, SET:ARCH:tuned for the pair's TUNED settings")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "results" / "music.md"))
    args = parser.parse_args()
    rows = []
    for spec in args.runs:
        dataset, arch, *tuned = spec.split(":")
        rows.append(run_one(dataset, arch, DATA / FILES[dataset], args.seed, tuned == ["tuned"]))
        write(rows, args)  # after every run: a long benchmark leaves a partial table if stopped
    print(table(rows))


def write(rows: list[dict], args: argparse.Namespace) -> None:
    text = f"""# Polyphonic music: test NLL per frame (lower is better)

Boulanger-Lewandowski et al. 2012 piano rolls (`../shared/data/music/*.mat`), next-frame prediction,
88 Bernoulli outputs, NLL summed over keys, pooled over every frame of the test split. Each run uses
the `music` task's recommended settings, or those with the flags in its settings column (chosen by the
best validation NLL among the configurations tried for that pair: issue 14's note) (hidden 200, dropout 0.3, Adam 2e-3, gradient norm clip 1,
batch 16 in length-bucketed batches of whole pieces, validate every 30 steps, stop after 10
validations without improvement and test the best-validation weights), seed {args.seed}, one CPU
thread. Frame accuracy: Bay et al. 2009's, as Boulanger-Lewandowski et al. report it. Padding waste:
steps computed ÷ real steps of the first training epoch.

{table(rows)}

""" + provenance('python benchmarks/music.py --runs ' + ' '.join(args.runs), [r["command"] for r in rows])
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()

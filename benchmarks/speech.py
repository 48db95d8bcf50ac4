"""Benchmark: speech waveforms (../shared/data/speech) through `bench run`, GRU and LSTM against fitted baselines.

Each run uses the speech task's recommended settings (frames of 20 samples, utterances in windows
of 100 frames with the state carried, hidden 128, Adam 2e-3, clip 1, batch 32, validate every 100 steps, at most 3,000 steps, patience
10 validations, test at the best validation) on one CPU thread. Beside them, two baselines fitted on
the training split in closed form: the per-frame Gaussian (a mean and σ per position in the frame,
the task's ``baseline`` metric) and linear prediction (the next frame as a least-squares linear
function of the current one, Gaussian residuals with a σ per position). The table goes to
results/speech.md with the commands and the machine.

    python benchmarks/speech.py                   # gru, lstm
    python benchmarks/speech.py --archs gru lstm vanilla
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from logged_run import provenance, run_logged

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "speech"
FRAME = 20


def run_one(arch: str, seed: int) -> dict:
    command = ["bench", "run", "--task", "speech", "--arch", arch, "--opt", f"data={os.path.relpath(DATA, ROOT)}",
               "--seed", str(seed),
               "--threads", "1", "--no-progress", "--experiment", "speech-benchmark"]
    run, wall = run_logged(command)
    run_id = run.info.run_id
    m = run.data.metrics
    return {"model": arch, "command": " ".join(command), "run_id": run_id, "wall": wall,
            "test": m["test/nll_per_frame"], "mse": m["test/mse"], "val": m["val/nll_per_frame"],
            "train": m["train/nll_per_frame"], "baseline": m["test/baseline"], "steps": int(m["steps"]),
            "seconds": m["train_seconds"], "params": int(m["num_parameters"]), "stop": run.data.tags.get("stop_reason", "")}


def nll(targets: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return (0.5 * np.log(2 * np.pi) + np.log(std) + 0.5 * ((targets - mean) / std) ** 2).sum(-1)


def baselines() -> tuple[list[dict], float, dict[str, int]]:
    """The closed-form baselines on the task's own normalised frames and splits."""
    from tasks.speech import frames_of, prepare

    data = prepare(str(DATA), FRAME)
    pairs = {}
    for split in ("train", "val", "test"):
        frames = [frames_of(w, FRAME).astype(np.float64) for w in data.waves[split]]
        pairs[split] = (np.concatenate([f[:-1] for f in frames]), np.concatenate([f[1:] for f in frames]))
    rows = []
    started = time.perf_counter()
    all_train = np.concatenate([frames_of(w, FRAME).astype(np.float64) for w in data.waves["train"]])
    mean, std = all_train.mean(0), all_train.std(0)
    quartile = loud_quartiles(pairs["test"][1])
    split_by = lambda values: [float(values[quartile == q].mean()) for q in range(4)]  # noqa: E731
    rows.append({"model": "per-frame Gaussian (mean, σ per position)", "params": 2 * FRAME,
                 "by_loudness": split_by(nll(pairs["test"][1], mean, std)),
                 "seconds": time.perf_counter() - started,
                 **{s: nll(pairs[s][1], mean, std).mean() for s in ("train", "val", "test")},
                 "mse": ((pairs["test"][1] - mean) ** 2).mean()})
    started = time.perf_counter()
    x, y = pairs["train"]
    design = np.c_[x, np.ones(len(x))]
    weights, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual_std = (y - design @ weights).std(0)
    predict = lambda s: np.c_[pairs[s][0], np.ones(len(pairs[s][0]))] @ weights  # noqa: E731
    rows.append({"model": "linear prediction from the current frame", "params": weights.size + FRAME,
                 "by_loudness": split_by(nll(pairs["test"][1], predict("test"), residual_std)),
                 "seconds": time.perf_counter() - started,
                 **{s: nll(pairs[s][1], predict(s), residual_std).mean() for s in ("train", "val", "test")},
                 "mse": ((pairs["test"][1] - predict("test")) ** 2).mean(),
                 "mse_by_position": ((pairs["test"][1] - predict("test")) ** 2).mean(0)})
    return rows, data.scale, {s: len(data.names[s]) for s in data.names}


def loud_quartiles(targets: np.ndarray) -> np.ndarray:
    """Quartile 0..3 of each test target frame by its RMS (quietest first)."""
    rms = np.sqrt((targets ** 2).mean(-1))
    return np.searchsorted(np.quantile(rms, [0.25, 0.5, 0.75]), rms, side="right")


def by_loudness(run_id: str) -> tuple[list[float], float]:
    """A run's test NLL per frame within each loudness quartile of the target frames, and the
    fraction of test samples whose log σ sits at the clamp's floor (from the saved weights)."""
    import tempfile

    import torch

    from bench.core.config import load_yaml
    from bench.core.metrics import LOG_STD_MIN, gaussian_nll, gaussian_parameters
    from bench.core.network import build_task
    from bench.core.resolve import resolve
    from bench.core.task import Draw
    from bench.tracking.store import Tracker
    from bench.train.model import SequenceModel

    client = Tracker(None).client
    with tempfile.TemporaryDirectory() as folder:
        config = resolve(load_yaml(client.download_artifacts(run_id, "config.yaml", folder)))
        task = build_task(config)
        model = SequenceModel(task, config)
        model.load_state_dict(torch.load(client.download_artifacts(run_id, "model.pt", folder), weights_only=True))
    nll, targets, floor = [], [], []
    state = None
    with torch.no_grad():
        for batch in task.eval_batches("test", Draw(32)):  # windows, the state carried
            outputs, state = model.eval()(batch.inputs, state if batch.continues else None)
            mean, log_std = gaussian_parameters(outputs)
            nll.append(gaussian_nll(mean, log_std, batch.targets)[batch.mask].double().numpy())
            targets.append(batch.targets[batch.mask].double().numpy())
            floor.append((log_std[batch.mask] <= LOG_STD_MIN).double().numpy().ravel())
    nll_all, quartile = np.concatenate(nll), loud_quartiles(np.concatenate(targets))
    return [float(nll_all[quartile == q].mean()) for q in range(4)], float(np.concatenate(floor).mean())


def loudness_table(rows: list[dict]) -> str:
    lines = ["| model | quietest quarter | 2nd | 3rd | loudest quarter | all |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | " + " | ".join(f"{v:.1f}" for v in r["by_loudness"]) + f" | {r['test']:.2f} |")
    return "\n".join(lines)


def table(rows: list[dict]) -> str:
    lines = ["| model | test NLL/frame | test MSE | val NLL | train NLL | params | steps | training s | stopped |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | **{r['test']:.2f}** | {r['mse']:.3f} | {r['val']:.2f} | {r['train']:.2f} | "
                     f"{r['params']:,} | {r.get('steps', '—')} | {r['seconds']:.0f} | {r.get('stop', 'closed form')} |")
    return "\n".join(lines)


def main() -> None:
    os.chdir(ROOT)  # the runs and this script share the default store, ./.bench
    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", nargs="+", default=["gru", "lstm"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "results" / "speech.md"))
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"no speech data at {DATA} (../shared/data/speech)")
    fitted, scale, counts = baselines()
    rows: list[dict] = []
    for arch in args.archs:
        rows.append(run_one(arch, args.seed))
        rows[-1]["by_loudness"], rows[-1]["at_floor"] = by_loudness(rows[-1]["run_id"])
        assert abs(rows[-1]["baseline"] - fitted[0]["test"]) < 1e-3 * abs(fitted[0]["test"]), (rows[-1], fitted[0])
        write(rows, fitted, scale, counts, args)  # after every run: a stopped benchmark leaves a partial table
    print(table(rows + fitted))
    print(loudness_table(rows + fitted))


def write(rows: list[dict], fitted: list[dict], scale: float, counts: dict, args: argparse.Namespace) -> None:
    text = f"""# Speech waveforms: test NLL per frame (lower is better)

The 20 eSpeak NG utterances of `../shared/data/speech` (16 kHz, 16-bit mono; split by file
{counts['train']}/{counts['val']}/{counts['test']}), cut into frames of {FRAME} samples; the model reads frame t and predicts frame
t+1 as a Gaussian per sample. NLL in nats per frame (summed over the {FRAME} samples) of the waveform
divided by the training RMS ({scale:.1f} in 16-bit units; add {FRAME}·ln {scale:.1f} = {FRAME * np.log(scale):.1f} for
the NLL of the raw 16-bit values), pooled over every transition of the test utterances, each
utterance scored whole. MSE: the means' squared error per sample.
Each run: the `speech` task's recommended settings (hidden 128, Adam 2e-3, gradient norm clip 1,
batches of up to 32 utterances in windows of 100 frames with the state carried (truncated BPTT),
validate every 100 steps, at most 3,000 steps, stop after 10
validations without improvement and test the best-validation weights), seed {args.seed}, one CPU thread.

{table(rows + fitted)}

Where the NLL is gained — test NLL per frame within each quarter of the test frames, by the RMS of
the frame predicted (same models):

{loudness_table(rows + fitted)}

The baselines have one σ per position for every frame; the recurrent models predict theirs, small
in quiet stretches (pauses, closures, decaying voicing) and large in loud ones, and gain most in the
quietest quarter even though their means predict 20 samples ahead only loosely (see the MSE).
Test samples whose log σ sat at the clamp's floor (−7): {", ".join(f"{r['model']} {r['at_floor']:.2%}" for r in rows)}.

The per-frame Gaussian is the `baseline` metric every speech run reports (the runs' `test/baseline`
agrees with the value computed here). Linear prediction is the stronger closed-form reference: it
predicts the first sample of the next frame well and the last one barely (test MSE
{fitted[1]['mse_by_position'][0]:.2f} at position 1, {fitted[1]['mse_by_position'][-1]:.2f} at position {FRAME}; predicting 0 scores about 1).

""" + provenance('python benchmarks/speech.py --archs ' + ' '.join(args.archs), [r["command"] for r in rows])
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()

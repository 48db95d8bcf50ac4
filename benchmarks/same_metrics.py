"""Same seed, same metrics: every task × {gru, attention} for a few steps, final metrics as JSON.

Used to show that a refactor changes no behaviour: run it at the commit before and after the change
and compare the two files (they must be identical)::

    python benchmarks/same_metrics.py > after.json
    git stash; git checkout BEFORE; python benchmarks/same_metrics.py > before.json; ...
    cmp before.json after.json

Real-data tasks read tiny generated files of their standard formats (written to a temporary folder).
"""
from __future__ import annotations

import json
import os
import pickle
import random
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

VARIANTS: list[tuple[str, dict[str, object]]] = [
    ("parity", {}), ("copy", {"variant": "memory", "length": 3}), ("copy", {"variant": "ntm", "length": 4}),
    ("addition", {"variant": "binary", "length": 4}), ("addition", {"variant": "adding", "length": 6}),
    ("music", {}), ("charlm", {}), ("speech", {}), ("program", {"length": 1, "nesting": 1}),
    ("program", {"variant": "memorize", "length": 3}),
]
ARCHS = ("gru", "attention")


def data_options(task: str, folder: Path) -> dict[str, object]:
    """Tiny files of the real formats, the same every time (fixed seeds)."""
    if task == "music":
        rng = random.Random(0)

        def pieces(n: int) -> list[list[list[int]]]:
            return [[sorted(rng.sample(range(21, 109), 3)) for _ in range(rng.randint(5, 12))] for _ in range(n)]

        path = folder / "tiny_rolls.pickle"
        path.write_bytes(pickle.dumps({"train": pieces(6), "valid": pieces(3), "test": pieces(3)}))
        return {"data": str(path)}
    if task == "speech":
        speech = folder / "tiny_speech"
        speech.mkdir(exist_ok=True)
        generator = np.random.default_rng(0)
        for i in range(3):
            with wave.open(str(speech / f"u{i}.wav"), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(16000)
                w.writeframes(generator.normal(0, 1000, 1200).astype("<i2").tobytes())
        return {"data": str(speech), "length": 10}
    if task == "charlm":
        path = folder / "tiny.txt"
        path.write_text("the quick brown fox jumps over the lazy dog. " * 60)
        return {"data": str(path), "bptt": 10}
    return {}


def main() -> None:
    from bench.core.resolve import resolve
    from bench.train.run import fit

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        os.environ["RNNBENCH_HOME"] = str(Path(folder) / "store")
        for task, options in VARIANTS:
            for arch in ARCHS:
                model = {"arch": arch, **({"memory_slots": 16} if arch == "ntm" else {})}
                train = {"threads": 1, "max_steps": 12, "eval_every": 6, "eval_size": 32, "batch_size": 8, "seed": 3}
                config = resolve({"task": {"name": task}, "model": model}, {"train": train},
                                 {**options, **data_options(task, Path(folder))})
                result = fit(config, progress=False)
                key = f"{task}-{options.get('variant', 'default')}-{arch}"
                results[key] = {**result.metrics, "steps": result.steps, "num_parameters": result.num_parameters}
                print(key, file=sys.stderr, flush=True)
    json.dump(results, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()

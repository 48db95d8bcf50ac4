"""Same seed, same metrics: every task × {gru, attention} for a few steps, final metrics as JSON.

Used to show that a refactor changes no behaviour: run it at the commit before and after the change
and compare the two files (they must be identical)::

    python benchmarks/same_metrics.py > after.json
    git stash; git checkout BEFORE; python benchmarks/same_metrics.py > before.json; ...
    cmp before.json after.json

Real-data tasks read tiny generated files of their standard formats (each task's ``example_options``).
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

VARIANTS: list[tuple[str, dict[str, object]]] = [
    ("parity", {}), ("copy", {"variant": "memory", "length": 3}), ("copy", {"variant": "ntm", "length": 4}),
    ("addition", {"variant": "binary", "length": 4}), ("addition", {"variant": "adding", "length": 6}),
    ("music", {}), ("charlm", {}), ("speech", {}), ("program", {"length": 1, "nesting": 1}),
    ("program", {"variant": "memorize", "length": 3}),
]
ARCHS = ("gru", "attention")


def main() -> None:
    from bench.core.registry import TASKS
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
                                 {**options, **TASKS.get(task).example_options(Path(folder))})
                result = fit(config, progress=False)
                key = f"{task}-{options.get('variant', 'default')}-{arch}"
                results[key] = {**result.metrics, "steps": result.steps, "num_parameters": result.num_parameters}
                print(key, file=sys.stderr, flush=True)
    json.dump(results, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()

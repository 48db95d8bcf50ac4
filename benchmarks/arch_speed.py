"""ms per training step (forward + backward + Adam) of every architecture at one standard size.

B=64, T=100, H=128, 128 input features, a linear head; eager vs compiled for the custom (stepped)
cells, beside PyTorch's nn.LSTM called directly. Writes results/arch_speed.md.

    python benchmarks/arch_speed.py [--threads N] [--steps N]
"""
from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch

from bench.core.architecture import SteppedRecurrent
from bench.core.registry import ARCHITECTURES

B, T, H = 64, 100, 128


def time_steps(core: torch.nn.Module, steps: int, warmup: int) -> tuple[float, float]:
    """(seconds for the warm-up steps, mean ms per step after them)."""
    head = torch.nn.Linear(getattr(core, "output_size", H), 2)
    optimiser = torch.optim.Adam([*core.parameters(), *head.parameters()])
    x = torch.randn(B, T, H)
    started = time.perf_counter()
    for i in range(warmup + steps):
        if i == warmup:
            warm, started = time.perf_counter() - started, time.perf_counter()
        out, _ = core(x)
        loss = head(out).square().mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return warm, (time.perf_counter() - started) / steps * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    torch.manual_seed(0)
    _, reference = time_steps(torch.nn.LSTM(H, H, batch_first=True), args.steps, 2)
    rows.append(("nn.LSTM (called directly)", f"{reference:.0f}", "", "", "1.00"))
    print(" | ".join(rows[-1]), flush=True)
    for name in ARCHITECTURES.names():
        cls = ARCHITECTURES.get(name)
        torch.manual_seed(0)
        core = cls(H, H, num_layers=cls.recommended.get("model.num_layers", 1), options=cls.Options())
        _, eager = time_steps(core, args.steps, 1)
        compiled = compile_s = ""
        if isinstance(core, SteppedRecurrent):
            core.compiled = True
            warm, fast = time_steps(core, args.steps, 2)
            compiled, compile_s = f"{fast:.0f}", f"{warm:.0f}"
        best = min(eager, float(compiled) if compiled else eager)
        rows.append((name, f"{eager:.0f}", compiled, compile_s, f"{best / reference:.2f}"))
        print(" | ".join(rows[-1]), flush=True)
    lines = [
        "# ms per training step by architecture",
        "",
        f"Command: `python benchmarks/arch_speed.py --threads {args.threads} --steps {args.steps}`. "
        f"B={B}, T={T}, H={H}, 128 input features, forward + backward + Adam, float32.",
        f"Machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}, CPU. residual is 4 blocks (its default depth).",
        "Compile (s) is the first two compiled steps, cold or from the inductor cache.",
        "",
        "| architecture | eager ms/step | compiled ms/step | compile (s) | best vs nn.LSTM |",
        "|---|---:|---:|---:|---:|",
        *(f"| {' | '.join(row)} |" for row in rows),
    ]
    out = Path(__file__).resolve().parent.parent / "results" / "arch_speed.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

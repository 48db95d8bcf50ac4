"""``bench sample RUN_ID``: generate text from a trained character-level model.

A run logs its resolved ``config.yaml`` and its final weights ``model.pt`` (:func:`bench.train.run.run`).
Sampling rebuilds the task from the config — which re-reads the same data file, since the task
derives its vocabulary from the training text — and the model from the weights, then feeds its own
samples back one character at a time, carrying the recurrent state.
"""
from __future__ import annotations

from typing import Protocol, cast

import torch

from bench.core.errors import UsageError
from bench.core.network import build_task
from bench.tracking.logged import logged_config, logged_weights, open_logged_run
from bench.train.model import SequenceModel


class TextTask(Protocol):
    """A task whose tokens are characters (``charlm``): text in, text out."""

    def encode(self, text: str) -> torch.Tensor: ...

    def decode(self, ids: list[int]) -> str: ...


def load_run_model(run_id: str, tracking_uri: str | None = None) -> tuple[TextTask, torch.nn.Module]:
    """The task and the trained :class:`~bench.train.model.SequenceModel` of a logged run (in eval mode, on the CPU)."""

    tracker, _ = open_logged_run(run_id, tracking_uri)
    config = logged_config(tracker.client, run_id)
    task = build_task(config)
    if not hasattr(task, "decode") or task.input_kind != "tokens" or task.output_kind != "categorical":
        raise UsageError(f"task {config.task.name!r} does not generate text; sample a charlm run")
    model = SequenceModel(task, config)
    model.load_state_dict(logged_weights(tracker.client, run_id))
    return cast(TextTask, task), model.eval()


@torch.no_grad()
def sample(task: TextTask, model: torch.nn.Module, chars: int, temperature: float, seed: int = 0,
           prime: str = "\n") -> str:
    """``chars`` characters after ``prime``, each drawn from softmax(logits / temperature).

    The prime is read first (as context, not returned); an unknown character maps to the unknown id.
    """
    if chars < 0:
        raise UsageError(f"--chars must be >= 0, got {chars}")
    if not temperature > 0:
        raise UsageError(f"--temperature must be > 0, got {temperature} (lower is more conservative)")
    generator = torch.Generator().manual_seed(seed)
    ids = task.encode(prime or "\n")[None, :]
    logits, state = model(ids)
    out: list[int] = []
    for _ in range(chars):
        probabilities = torch.softmax(logits[0, -1].double() / temperature, -1)
        probabilities[0] = 0.0  # never emit the unknown token
        choice = torch.multinomial(probabilities, 1, generator=generator)
        out.append(int(choice))
        logits, state = model(choice.view(1, 1), state)
    return task.decode(out)

"""An out-of-memory error, said as one line: how much was asked, and which settings drive it.

PyTorch reports a failed allocation as a long RuntimeError (CPU: "DefaultCPUAllocator: can't
allocate memory: you tried to allocate N bytes"; CUDA: ``torch.OutOfMemoryError``, "CUDA out of
memory. Tried to allocate 20.00 GiB ..."). The sizes behind it are the user's: the batch, the
evaluation set, the hidden size and the task's own sizes (a sequence length, a vocabulary).
"""
from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import torch

from bench.core.config import RunConfig
from bench.core.errors import OutOfMemory

_ASKED = re.compile(r"(?:tried to allocate|Tried to allocate) (\d+(?:\.\d+)?) ?(bytes|B|KiB|MiB|GiB|TiB)")
_UNITS = {"bytes": 1, "B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    message = str(exc)
    return isinstance(exc, RuntimeError) and ("can't allocate memory" in message or "out of memory" in message)


def asked_bytes(message: str) -> int | None:
    """The size of the allocation that failed, from PyTorch's message (None if it does not say)."""
    found = _ASKED.search(message)
    return int(float(found.group(1)) * _UNITS[found.group(2)]) if found else None


def readable(size: int) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def describe(exc: BaseException, config: RunConfig) -> str:
    """One line: what was asked, on which device, and the settings that drive the size."""
    size = asked_bytes(str(exc))
    asked = f"one allocation of {readable(size)}" if size is not None else "more memory than is free"
    task_sizes = ", ".join(f"{key}={value}" for key, value in config.plugin_options("task").items()
                           if isinstance(value, int) and not isinstance(value, bool) and value > 1)
    train, model = config.train, config.model
    device = train.device if train.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    return (f"out of memory: the run asked for {asked} on {device}; the size grows with "
            f"--batch-size ({train.batch_size}), --eval-size ({train.eval_size}), --hidden-size "
            f"({model.hidden_size})" + (f" and the task's {task_sizes}" if task_sizes else "") + ": lower them")


@contextlib.contextmanager
def out_of_memory_as_usage_error(config: RunConfig) -> Iterator[None]:
    """Turn an out-of-memory error raised inside the block into :class:`OutOfMemory` (one line)."""
    try:
        yield
    except (RuntimeError, torch.OutOfMemoryError) as exc:
        if not is_out_of_memory(exc):
            raise
        raise OutOfMemory(describe(exc, config)) from None

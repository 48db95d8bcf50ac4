"""Data files: a user's path turned into a cache key or a one-line error, and where caches live."""
from __future__ import annotations

import os
from pathlib import Path

from bench.core.errors import UsageError


def file_key(data: str, task: str, expected: str) -> tuple[str, int, int]:
    """``(resolved path, mtime_ns, size)`` of the file ``data``, for caching a load by its content.

    A missing path or a folder is a UsageError that says what ``task`` expected (``expected``,
    e.g. "a UTF-8 text file").
    """
    path = Path(data).expanduser()
    try:
        stat = path.stat()
    except OSError:
        raise UsageError(f"{task}: no such file {data}; give {expected} with --opt data=PATH") from None
    if path.is_dir():
        raise UsageError(f"{task}: {data} is a folder; give {expected} with --opt data=PATH")
    return str(path.resolve()), stat.st_mtime_ns, stat.st_size


def bench_home() -> Path:
    """The folder for the embedded stores (MLflow, Optuna) and caches: ``$RNNBENCH_HOME`` or ``./.bench``."""
    return Path(os.environ.get("RNNBENCH_HOME", ".bench"))


def cache_dir() -> Path:
    """Where a task keeps data it made once (e.g. a default corpus): ``bench_home()/cache``."""
    return bench_home() / "cache"

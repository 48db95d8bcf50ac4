"""What machine this is, in the two ways the harness asks: the CPU's name (for the machine lines of
reports, run tags and benchmarks) and how many cores this process may use (for worker threads).

The cores are the process's CPU affinity where the system has one (Linux): a batch scheduler or
``taskset`` that grants 4 of 64 cores grants 4, which ``os.cpu_count()`` would not say.
"""
from __future__ import annotations

import os
import platform
from pathlib import Path


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity on Linux, else every core)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cpu_name() -> str:
    """The CPU model (from /proc/cpuinfo on Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()

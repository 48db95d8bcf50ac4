"""One writer per run: a lease kept in the run's own tags.

A run being trained carries ``lease.owner`` (``host:pid`` of the process writing it) and
``lease.heartbeat`` (seconds since the epoch), refreshed by a background thread. ``bench run
--resume`` of a RUNNING run whose writer is alive is refused: two writers would interleave their
steps, repeating validations in one history. Alive means, on the same machine, that the process
exists (so a run killed with SIGKILL resumes at once) and, on another, a heartbeat fresher than
:data:`STALE_SECONDS` (so a dead machine's run can be resumed after a short wait).

The lease is in MLflow because MLflow is what every writer shares, with or without a common disk.
Two resumes started in the same instant can both find the lease free; the later write wins, and the
earlier process finds on its re-read that it no longer holds it.
"""
from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Mapping

from mlflow.entities import RunTag

from bench.core.errors import UsageError
from bench.tracking.store import Tracker

OWNER_TAG = "lease.owner"
HEARTBEAT_TAG = "lease.heartbeat"
HEARTBEAT_SECONDS = 20.0
STALE_SECONDS = 3 * HEARTBEAT_SECONDS
"""A heartbeat older than this says the writer on another machine is gone: three beats missed."""


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def live_writer(tags: Mapping[str, str], now: float | None = None) -> str | None:
    """Who holds the lease of a run with these tags and how recently it said so, or None if nobody
    alive does."""
    owner = tags.get(OWNER_TAG)
    if not owner:
        return None
    host, _, pid = owner.rpartition(":")
    try:
        age = (time.time() if now is None else now) - float(tags.get(HEARTBEAT_TAG, "0"))
        number = int(pid)
    except ValueError:
        return None
    if host == socket.gethostname():
        alive = number != os.getpid() and _pid_alive(number)
    else:
        alive = age < STALE_SECONDS
    return f"{owner} (last heartbeat {max(0.0, age):.0f} s ago)" if alive else None


class Lease:
    """This process's lease on one run, beaten every :data:`HEARTBEAT_SECONDS` until :meth:`release`."""

    def __init__(self, tracker: Tracker, run_id: str) -> None:
        self.tracker, self.run_id = tracker, run_id
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def take(cls, tracker: Tracker, run_id: str) -> Lease:
        """Take the lease of a stopped run to resume it; a one-line usage error if it is RUNNING
        and a live process holds it."""
        run = tracker.client.get_run(run_id)
        if run.info.status == "FINISHED":
            return cls(tracker, run_id)  # nothing written: resuming it is refused next, as it should be
        holder = live_writer(run.data.tags) if run.info.status == "RUNNING" else None
        if holder is not None:
            raise UsageError(f"run {run_id} is still being trained by {holder}; a second writer would repeat its "
                             f"steps: stop that one first (a run whose machine died can be resumed "
                             f"{STALE_SECONDS:.0f} s after its last heartbeat)")
        lease = cls(tracker, run_id)
        tracker.set_tags(run_id, cls.tags())
        held = tracker.client.get_run(run_id).data.tags.get(OWNER_TAG)
        if held != this_process():
            raise UsageError(f"run {run_id} was resumed by {held} at the same moment; it trains there")
        return lease

    @staticmethod
    def tags() -> dict[str, str]:
        return {OWNER_TAG: this_process(), HEARTBEAT_TAG: f"{time.time():.0f}"}

    def start(self) -> Lease:
        """Beat in a background thread, through the client that does not wait out outages."""
        def beating() -> None:
            while not self._stop.wait(HEARTBEAT_SECONDS):
                with contextlib.suppress(Exception):  # a missed beat only makes the lease look older
                    self.tracker.direct.log_batch(self.run_id, tags=[RunTag(k, v) for k, v in self.tags().items()])

        self._thread = threading.Thread(target=beating, name=f"lease-{self.run_id[:8]}", daemon=True)
        self._thread.start()
        return self

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

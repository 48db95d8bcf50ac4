"""Riding out a tracking server's outage: a restarted ``mlflow server`` must not cost a lab its sweep.

A worker on one of many machines talks to a shared ``mlflow server`` for hours; the server will be
restarted (an upgrade, a crash, a moved VM) while trials train. MLflow's own HTTP retries last a
few seconds, after which every call raises, the run's metrics and closing are lost and the run stays
RUNNING forever. :class:`PatientClient` retries each call that failed *because the server could not be
reached* with a growing pause, until the outage has lasted ``patience`` seconds, saying once on
stderr that the server is down and once that it is back; any other error (a missing run, a bad
parameter, a server answering 500) is raised at once.

Only the first contact with a store fails fast (a mistyped URL should be a one-line error in
seconds): that is :class:`bench.tracking.store.Tracker`'s check, made before the patient client is
used, unless the caller knows the server was up (a sweep's worker, started after its coordinator
reached the server).
"""
from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable
from typing import TypeVar, cast

import requests
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from bench.core.errors import RunFailed, disk_full

DEFAULT_PATIENCE = 180.0
"""Seconds a call waits for an unreachable server: a restart of ``mlflow server`` with a database
backend takes tens of seconds, and a lab's outage "about a minute"."""

# What MLflow's REST client says when no server answered (it wraps requests' and urllib3's errors in
# its own). A server that answers 500 is up and has something to say: that is raised at once.
_UNREACHABLE = ("Failed to establish a new connection", "Connection refused", "Connection aborted",
                "RemoteDisconnected", "Read timed out", "Connection reset", "Connection broken",
                "too many 502 error responses", "too many 503 error responses", "too many 504 error responses")

Result = TypeVar("Result")


class TrackingUnavailable(RunFailed):
    """The tracking server stayed unreachable for longer than the patience allows."""


def patience_seconds() -> float:
    """``RNNBENCH_TRACKING_PATIENCE`` (seconds; 0: fail at once), default :data:`DEFAULT_PATIENCE`."""
    text = os.environ.get("RNNBENCH_TRACKING_PATIENCE", "")
    try:
        return max(0.0, float(text)) if text else DEFAULT_PATIENCE
    except ValueError:
        return DEFAULT_PATIENCE


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` says the server could not be reached (or answered "unavailable"), not that
    it refused the request. A full disk is not an outage: waiting does not free space."""
    if disk_full(exc) is not None:
        return False
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (requests.exceptions.ConnectionError, requests.exceptions.Timeout, ConnectionError,
                             TimeoutError)):
            return True
        if isinstance(seen, MlflowException) and (
                seen.error_code == "TEMPORARILY_UNAVAILABLE" or any(text in str(seen) for text in _UNREACHABLE)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def why_unreachable(exc: BaseException) -> str:
    """The few words of ``exc`` that say why (``Connection refused``), not MLflow's paragraph."""
    return next((text for text in _UNREACHABLE if text in str(exc)), type(exc).__name__)


def tell_user(line: str) -> None:
    """A notice on stderr, one line (a sweep's coordinator relays worker lines starting ``bench:``)."""
    print(f"bench: {line}", file=sys.stderr, flush=True)


class PatientClient:
    """An :class:`MlflowClient` whose every method rides out an outage of the server (see the module).

    One outage clock for all calls: it starts when a call first finds the server unreachable and
    stops when any call gets through. A call made while the server is down waits only for what is
    left of the patience, so a trial's calls do not each wait it in full, and the user hears once
    that the server is down and once that it is back. It forwards attribute access to the wrapped
    client, so callers use it as one (:meth:`as_client` types it so).
    """

    def __init__(self, client: MlflowClient, uri: str, patience: float,
                 notify: Callable[[str], None] = tell_user) -> None:
        self._client, self._uri, self._patience, self._notify = client, uri, patience, notify
        self.down_since: float | None = None
        """When the current outage began (``time.monotonic``); None while the server answers."""

    def as_client(self) -> MlflowClient:
        return cast(MlflowClient, self)

    def __getattr__(self, name: str) -> object:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        @functools.wraps(attribute)
        def patient(*args: object, **kwargs: object) -> object:
            return self.call(attribute, *args, **kwargs)

        return patient

    def call(self, method: Callable[..., Result], *args: object, **kwargs: object) -> Result:
        """``method(*args, **kwargs)``, retried with a pause of 1, 2, 4, 8, then 15 s while the
        server is unreachable, until the outage has lasted the patience; then
        :class:`TrackingUnavailable`, at once for every later call until the server answers again."""
        pause = 1.0
        while True:
            attempted = time.monotonic()
            try:
                result = method(*args, **kwargs)
            except Exception as exc:
                if not is_outage(exc) or self._patience <= 0:
                    raise
                if self.down_since is None:
                    self.down_since = attempted
                    self._notify(f"tracking server {self._uri} unreachable; retrying for up to "
                                 f"{self._patience:.0f} s")
                waited = time.monotonic() - self.down_since
                if waited >= self._patience:
                    raise TrackingUnavailable(
                        f"tracking server {self._uri} unreachable for {waited:.0f} s ({why_unreachable(exc)}); start "
                        "it again, or raise RNNBENCH_TRACKING_PATIENCE (seconds)") from None
                time.sleep(min(pause, self._patience - waited))
                pause = min(2 * pause, 15.0)
                continue
            if self.down_since is not None:
                self._notify(f"tracking server {self._uri} back after {time.monotonic() - self.down_since:.0f} s")
                self.down_since = None
            return result

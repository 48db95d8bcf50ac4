"""Errors the CLI turns into one-line messages.

Anything a user can cause (a misspelt name, an impossible hyperparameter, a broken YAML file,
an unreachable tracking store) raises :class:`UsageError` *before* any run is created, so that
the CLI can print one line and exit with code 2 without leaving half-written state behind.
"""
from __future__ import annotations

import signal


class UsageError(Exception):
    """A problem with what the user asked for; the message says what to do instead."""

    exit_code = 2


class RunFailed(Exception):
    """A run started but could not finish (e.g. a non-finite loss); it is recorded as FAILED."""

    exit_code = 1


class Terminated(BaseException):
    """A scheduler (SLURM, ``timeout``, a CI cancel) asked this process to stop with a signal: the run
    ends KILLED with the signal named, and the process exits 128 + the signal's number. A
    BaseException, like KeyboardInterrupt, so that no ``except Exception`` swallows it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"stopped by {self.name}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_received: list[int] = []  # the stop signals this process got, until the exit that answers them


def raise_on_signal(signum: int, frame: object) -> None:
    """A signal handler: SIGINT becomes KeyboardInterrupt, any other signal :class:`Terminated`, raised
    wherever the process is — and remembered. Python drops an exception raised while it runs a
    finalizer or a weakref callback (printing "Exception ignored in ..."), which a training step
    does all the time: the stop would be lost and the run train on. So every training and evaluation
    step also asks :func:`raise_if_signalled`."""
    _received.append(signum)
    raise _stop(signum)


def raise_if_signalled() -> None:
    """Raise the stop of a signal that arrived earlier, in case its own exception was dropped."""
    if _received:
        raise _stop(_received[0])


def forget_signals() -> None:
    """The stop has been answered (the process says so and exits): a caller that goes on, such as a
    test calling the CLI in-process, starts afresh."""
    _received.clear()


def _stop(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


class OutOfMemory(UsageError):
    """The run asked for more memory than its device has: the sizes the user chose are the cause, so
    it is a usage error (exit 2); a run already created is recorded as FAILED with this message."""


_DISK_FULL_ERRNOS = (28, 122)  # ENOSPC, EDQUOT (a quota counts as full to the user)


def disk_full(exc: BaseException) -> str | None:
    """The words that say a disk filled up (``No space left on device``, SQLite's ``database or disk
    is full``) anywhere in ``exc``'s chain, else None. A full disk is neither the user's request nor
    a server outage: it is said as such, once, and never retried."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DiskFull):
            return seen.words
        if isinstance(seen, OSError) and seen.errno in _DISK_FULL_ERRNOS:
            return seen.strerror or "No space left on device"
        if "database or disk is full" in str(seen):
            return "database or disk is full"
        seen = seen.__cause__ or seen.__context__
    return None


def disk_full_line(exc: BaseException) -> str | None:
    """The one line the CLI prints for a full disk met mid-run, or None if ``exc`` is not one."""
    full = disk_full(exc)
    return None if full is None else f"bench: {DiskFull(full)}"


class DiskFull(RunFailed):
    """A disk filled up where something had to be written (exit 1): raised where the words are known
    but the exception that carried them is gone, e.g. in a sweep whose worker met it."""

    def __init__(self, words: str) -> None:
        self.words = words
        super().__init__(f"disk full ({words}); {DISK_FULL_ADVICE}")


DISK_FULL_ADVICE = ("free space where the store and RNNBENCH_HOME live, then run the same command again "
                    "(a stopped run continues from its last checkpoint with bench run --resume RUN_ID)")

"""Errors the CLI turns into one-line messages.

Anything a user can cause (a misspelt name, an impossible hyperparameter, a broken YAML file,
an unreachable tracking store) raises :class:`UsageError` *before* any run is created, so that
the CLI can print one line and exit with code 2 without leaving half-written state behind.
"""
from __future__ import annotations


class UsageError(Exception):
    """A problem with what the user asked for; the message says what to do instead."""

    exit_code = 2


class RunFailed(Exception):
    """A run started but could not finish (e.g. a non-finite loss); it is recorded as FAILED."""

    exit_code = 1


class OutOfMemory(UsageError):
    """The run asked for more memory than its device has: the sizes the user chose are the cause, so
    it is a usage error (exit 2); a run already created is recorded as FAILED with this message."""

"""rnnbench from Python (a notebook, a script): every ``bench`` command as a function that returns
objects and DataFrames instead of printing, and raises :class:`~bench.core.errors.UsageError` for a
mistake instead of exiting 2.

>>> from bench import api
>>> result = api.run(task="parity", arch="gru", seed=3, max_steps=200, length=8)
>>> result.metrics["test/acc"], result.run_id

The command line is a thin layer over these functions (:mod:`bench.cli` parses flags into the same
requests and prints what comes back), so a run or a report made here is the one ``bench`` makes
with the same settings, down to its MLflow record. Importing this package costs only the standard
library: the functions import the training and reporting stacks when called.
"""
from bench.api.reading import Figure, Report, StudyResult, report, study
from bench.api.running import Run, config, run, runs, sweep, sweep_status

__all__ = ["Figure", "Report", "Run", "StudyResult", "config", "report", "run", "runs", "study", "sweep", "sweep_status"]

"""``bench reproduce RUN_ID``: rerun a logged run from its config and compare every final metric.

The new run goes into the same experiment, tagged ``reproduces=RUN_ID``. On CPU with the same code
and package versions, the metrics are identical (the exit code says whether they are); where the
code commit or a package version differs, the differences are listed first, since they are the
usual reason a number moves.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from bench.core.errors import UsageError
from bench.tracking.logged import logged_config, open_logged_run
from bench.tracking.store import git_commit, package_versions
from bench.train.run import Hooks, run

if TYPE_CHECKING:
    import pandas as pd


def environment_differences(old_tags: dict[str, str]) -> list[str]:
    """Code commit and package versions of the logged run that differ from this installation."""

    now = {"git_commit": git_commit(), **{f"version.{k}": v for k, v in package_versions().items()}}
    return [f"{key}: run {old_tags.get(key, '?')}, now {value}" for key, value in now.items()
            if old_tags.get(key) not in (None, value)]


def reproduce(run_id: str, tracking_uri: str | None = None, progress: bool = True) -> tuple[pd.DataFrame, bool, list[str], str]:
    """``(table old vs new, identical?, environment differences, new run id)``."""


    tracker, old = open_logged_run(run_id, tracking_uri)
    if old.info.status != "FINISHED":
        raise UsageError(f"run {run_id} is {old.info.status}, not finished; continue it with "
                         f"`bench run --resume {run_id}`")
    config = logged_config(tracker.client, run_id)
    differences = environment_differences(old.data.tags)
    experiment = tracker.client.get_experiment(old.info.experiment_id).name
    new = run(config, tracker, Hooks(tags={"reproduces": run_id}), experiment=experiment, progress=progress,
              run_name=f"reproduce {old.info.run_name}")
    # Both sides as MLflow holds them (Lightning logs float32 values; the in-memory result is float64).
    logged = tracker.client.get_run(new.run_id).data.metrics
    keys = sorted({*new.metrics, "steps", "num_parameters"})
    rows = [{"metric": k, "old": old.data.metrics.get(k), "new": logged.get(k)} for k in keys]
    table = pd.DataFrame(rows, columns=["metric", "old", "new"])
    table["identical"] = table["old"] == table["new"]
    return table, bool(table["identical"].all()) and len(table) > 0, differences, new.run_id

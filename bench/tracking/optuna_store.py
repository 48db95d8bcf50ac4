"""Optuna storage and studies for sweeps: where studies live, what they are called, who runs what next.

Storage: by default the SQLite file ``$RNNBENCH_HOME/optuna.db`` (Optuna's RDB storage); any
SQLAlchemy URL through ``--storage``, e.g. ``postgresql://host/db`` shared by many machines.
SQLite rather than Optuna's journal file: only the RDB storage has heartbeats, which is how a trial
whose worker was killed is found and retried (Optuna 5.0's JournalStorage is not a BaseHeartbeat).

Exactly N trials: a worker claims a trial under a lock that every worker of the study shares (a
file lock beside an SQLite file, a PostgreSQL advisory lock), counting complete, pruned and running
trials; so N workers racing for the last slot never make N+1 trials. Failed trials free their slot.

Names: ``{task}/{arch}/params={N}`` (``params=any`` when the hidden size is searched); the seed
reruns of a study's best configuration are the study ``{name}/seeds``.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import urllib.parse
import warnings
import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Literal

import optuna
import pandas as pd
import sqlalchemy
import sqlalchemy.exc
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial

from bench.core.config import current_values
from bench.core.errors import UsageError
from bench.tracking.store import bench_home, file_lock

DONE_STATES = ("COMPLETE", "PRUNED")
ATTR_SPACE = "rnnbench.space"
ATTR_BASE = "rnnbench.base_config"
ATTR_PARENT_RUN = "rnnbench.mlflow_parent_run"
ATTR_TASK = "rnnbench.task"

Direction = Literal["minimize", "maximize"]
"""Which way a study optimises its objective (the task's target metric)."""


STORAGE_ENV = "RNNBENCH_STORAGE"
"""The Optuna storage URL when ``--storage`` is not given: a URL with a password belongs here (or in
PostgreSQL's ``~/.pgpass`` / ``PGPASSWORD``), not on a command line every local user can read."""


def default_storage_url() -> str:
    """``$RNNBENCH_STORAGE``, else the embedded SQLite file beside the MLflow store."""
    return os.environ.get(STORAGE_ENV) or f"sqlite:///{(bench_home() / 'optuna.db').resolve()}"


def redact(url: str) -> str:
    """``url`` with its password, if any, written as ``***``: for everything printed, logged or written."""
    try:
        parts = urllib.parse.urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if not password:
        return url
    user = f"{parts.username}:" if parts.username else ":"
    host = parts.netloc.rsplit("@", 1)[1]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}***@{host}"))


def study_name(task: str, arch: str, params_budget: int) -> str:
    return f"{task}/{arch}/params={params_budget or 'any'}"


def _quiet_optuna() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    # Workers record heartbeats themselves (bench.sweep.worker.Heartbeat) around ask/tell, not Study.optimize.
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")


def open_storage(url: str | None = None, heartbeat: int | None = None,
                 stale_callback: Callable[[optuna.Study, FrozenTrial], None] | None = None) -> RDBStorage:
    """An Optuna RDBStorage at ``url`` (default: the embedded SQLite file), checked to be reachable.

    ``heartbeat`` (seconds) turns on heartbeats, with a grace period of three beats; a trial whose
    worker stops beating is failed by the next worker that looks, and ``stale_callback`` is called.
    """

    _quiet_optuna()
    url = url or default_storage_url()
    engine_kwargs: dict[str, object] = {}
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create the sweep storage folder {path.parent}: {exc.strerror}") from None
        engine_kwargs["connect_args"] = {"timeout": 120}  # workers wait on each other's writes
    elif url.startswith("postgresql"):
        engine_kwargs["connect_args"] = {"connect_timeout": 10}
        engine_kwargs["pool_pre_ping"] = True
    try:
        with file_lock(_lock_path(url, ".create.lock")):  # first creation of the tables races too
            return RDBStorage(url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat or None,
                              grace_period=3 * heartbeat if heartbeat else None,
                              heartbeat_stale_trial_callback=stale_callback if heartbeat else None)
    except ImportError as exc:
        raise UsageError(f"--storage {redact(url)}: the database driver is missing ({exc}); "
                         "for PostgreSQL: pip install 'psycopg[binary]'") from None
    except (sqlalchemy.exc.SQLAlchemyError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UsageError(f"cannot use sweep storage {redact(url)}: {first[:200].replace(url, redact(url))}; "
                         "start the database or pass another --storage") from None


def _lock_path(url: str, suffix: str) -> Path | None:
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        return path.with_name(path.name + suffix)
    return None


@contextlib.contextmanager
def claim_lock(storage: RDBStorage, name: str) -> Iterator[None]:
    """Serialise claiming trials of study ``name`` across every worker on every machine."""
    url = storage.url
    if url.startswith("postgresql"):

        key = zlib.crc32(name.encode())
        with storage.engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                yield
            finally:
                connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                connection.commit()
        return
    with file_lock(_lock_path(url, ".claim.lock")):  # SQLite; other backends: best effort
        yield


def create_or_check(storage: RDBStorage, name: str, direction: Direction, space: Mapping[str, object],
                    base: Mapping[str, Mapping[str, object]],
                    attrs: Mapping[str, object] | None = None) -> optuna.Study:
    """The study ``name``: created with its space and base config, or loaded and checked to match.

    Resuming with another space or another fixed config would mix incomparable trials in one
    study, so that is a usage error naming the difference.
    """

    with claim_lock(storage, name):
        try:
            study = optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            study = optuna.create_study(study_name=name, storage=storage, direction=direction)
            study.set_user_attr(ATTR_SPACE, space)
            study.set_user_attr(ATTR_BASE, base)
            for key, value in (attrs or {}).items():
                study.set_user_attr(key, value)
            return study
    stored_space, stored_base = study.user_attrs.get(ATTR_SPACE), study.user_attrs.get(ATTR_BASE)
    if stored_space is not None and _canonical(stored_space) != _canonical(space):
        changed = sorted(k for k in set(stored_space) | set(space) if stored_space.get(k) != space.get(k))
        raise UsageError(f"study {name!r} exists with a different search space ({', '.join(changed)}); "
                         "use the same space to resume, or --study-suffix to start a new study")
    if stored_base is not None:  # as it reads now: a value an earlier version wrote is no difference
        stored_base = current_values(stored_base)
    if stored_base is not None and _canonical(stored_base) != _canonical(current_values(base)):
        changed = _changed_keys(stored_base, base)
        raise UsageError(f"study {name!r} exists with a different fixed config ({', '.join(changed[:5])}); "
                         "use the same flags to resume, or --study-suffix to start a new study")
    return study


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _changed_keys(old: Mapping[str, Mapping[str, object]], new: Mapping[str, Mapping[str, object]]) -> list[str]:
    keys = []
    for section in sorted(set(old) | set(new)):
        a, b = old.get(section, {}), new.get(section, {})
        keys += [f"{section}.{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    return keys


def trial_counts(study: optuna.Study) -> dict[str, int]:
    """Trials of the study by state name (COMPLETE, PRUNED, RUNNING, WAITING, FAIL)."""
    counts = {"COMPLETE": 0, "PRUNED": 0, "RUNNING": 0, "WAITING": 0, "FAIL": 0}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


def status_table(storage: RDBStorage, task: str) -> pd.DataFrame:
    """One row per study of ``task``: trials by state, the best value and its parameters."""

    rows = []
    for summary in optuna.get_all_study_summaries(storage, include_best_trial=True):
        if not summary.study_name.startswith(f"{task}/"):
            continue
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        counts = trial_counts(study)
        best = summary.best_trial
        rows.append({
            "study": summary.study_name,
            "complete": counts["COMPLETE"], "pruned": counts["PRUNED"], "running": counts["RUNNING"],
            "waiting": counts["WAITING"], "failed": counts["FAIL"],
            "best value": best.value if best is not None else None,
            "best params": json.dumps({k.split(".", 1)[1]: short_value(v) for k, v in best.params.items()})
            if best is not None else "",
        })
    if not rows:
        raise UsageError(f"no sweep studies for task {task!r} in {redact(str(storage.url))}; "
                         f"start one with `bench sweep --task {task} --arch ...`")
    return pd.DataFrame(rows)


def short_value(value: object) -> object:
    """A parameter value as a table shows it (4 significant digits for floats)."""
    return float(f"{value:.4g}") if isinstance(value, float) else value

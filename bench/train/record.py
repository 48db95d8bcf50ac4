"""One run's record in MLflow: opened (or reopened to resume), fed while training, and always closed.

A run's MLflow status always ends FINISHED, FAILED (with a ``failure_reason`` tag) or KILLED,
whatever happens during training: :meth:`TrackedRun.closing` sees to it.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch

from bench.core.config import RunConfig
from bench.core.errors import RunFailed, Terminated, UsageError
from bench.tracking.logger import MLflowMetricsLogger
from bench.tracking.store import SHOWN_TAGS, Tracker, git_commit, machine_name, package_versions
from bench.train.checkpoints import MLflowCheckpoints, prepare_resume
from bench.train.lease import Lease

if TYPE_CHECKING:
    from bench.train.model import SequenceModel
    from bench.train.run import Trained

Tags = dict[str, object]


@dataclasses.dataclass
class TrackedRun:
    """An MLflow run being trained: its id, the metrics logger, the checkpoint callback, and (when
    resuming) the local checkpoint to continue from."""

    tracker: Tracker
    run_id: str
    logger: MLflowMetricsLogger
    checkpoints: MLflowCheckpoints
    config: RunConfig
    checkpoint: str | None = None
    experiment: str = ""
    shown: tuple[str, ...] = ()
    """The tags of :data:`SHOWN_TAGS` this run carries, shown as columns of the runs table."""
    role: str | None = None
    """Set when the run's name is :func:`run_label`'s with this role: the parameter count then
    replaces the budget in it."""
    lease: Lease | None = None
    """This process's lease on the run (:mod:`bench.train.lease`), held until the run is closed."""

    @classmethod
    def open(cls, tracker: Tracker, config: RunConfig, folder: str, experiment: str | None = None,
             run_name: str | None = None, tags: Tags | None = None, resume: str | None = None,
             role: str = "") -> TrackedRun:
        """A new MLflow run of ``config`` (experiment = task name unless given), or the stopped run
        ``resume`` reopened, with its newest checkpoint downloaded into ``folder``."""
        checkpoint: str | None = None
        logged: dict[str, int] = {}
        renamed: str | None = None if run_name else role  # the role the final name ends with, if it is ours
        if resume:
            run_id = resume
            lease = Lease.take(tracker, run_id)  # before anything is written into the run
            checkpoint, logged = prepare_resume(tracker, run_id, config, folder)
            client = tracker.client
            info = client.get_run(run_id).info
            experiment = client.get_experiment(info.experiment_id).name
            renamed = provisional_role(config, info.run_name or "")
        else:
            run_tags: Tags = {**standard_tags(config), **(tags or {}), **Lease.tags()}
            run_id = tracker.start_run(experiment or config.task.name, run_name or run_label(config, role=role), config.flat(),
                                       run_tags, config.to_yaml())
            lease = Lease(tracker, run_id)
        return cls(tracker, run_id, MLflowMetricsLogger(tracker, run_id, already_logged=logged),
                   MLflowCheckpoints(tracker, run_id, config, config.train.checkpoint_every), config, checkpoint,
                   experiment or config.task.name, tuple(k for k in SHOWN_TAGS if k in (tags or {})),
                   renamed, lease.start())

    @contextlib.contextmanager
    def closing(self, stop_exceptions: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
        """End the run FINISHED when the block completes; FAILED with the reason, or KILLED on
        Ctrl-C, when it raises. ``stop_exceptions`` are deliberate early stops (a pruned sweep
        trial): the run ends FINISHED with the tag ``stopped_by``, and the exception goes on."""
        try:
            yield
        except Terminated as exc:
            self._end_quietly("KILLED", str(exc))
            raise
        except KeyboardInterrupt:
            self._end_quietly("KILLED", "interrupted (Ctrl-C)")
            raise
        except SystemExit as exc:
            if type(exc).__name__ == "SIGTERMException":  # Lightning's own SIGTERM handling (no handler of ours)
                self._end_quietly("KILLED", "stopped by SIGTERM")
                raise Terminated(signal.SIGTERM) from None
            self._end_quietly("KILLED", "interrupted (Ctrl-C)")  # Lightning turns Ctrl-C into sys.exit(1)
            raise KeyboardInterrupt from None
        except (RunFailed, UsageError) as exc:  # the reason is the message, already one line
            self._end_quietly("FAILED", str(exc))
            raise
        except stop_exceptions as exc:
            self._end_quietly("FINISHED", None, {"stopped_by": f"{type(exc).__name__}: {exc}"})
            raise
        except BaseException as exc:
            self._end_quietly("FAILED", f"{type(exc).__name__}: {exc}")
            raise
        finally:
            if self.lease is not None:
                self.lease.release()
        self.tracker.end_run(self.run_id, "FINISHED")

    def record(self, result: Trained, model: SequenceModel) -> None:
        """The run's summary metrics, how it ended, and its evaluated weights (artifact ``model.pt``)."""
        self.logger.flush()
        self.tracker.log_metrics(self.run_id, {
            "num_parameters": result.num_parameters,
            "steps": result.steps,
            "train_seconds": result.seconds,
            **result.data_statistics,
            **({"steps_to_target": result.steps_to_target} if result.steps_to_target is not None else {}),
        }, step=result.steps)
        named = {} if self.role is None else {"mlflow.runName": run_label(self.config, result.num_parameters, self.role)}
        self.tracker.set_tags(self.run_id, {"stop_reason": result.stop_reason, "device": result.device,
                                            "step_function": result.step_function, **named})
        self._log_weights(model)
        task = model.task
        with contextlib.suppress(Exception):  # the UI's view is a convenience: it never fails a run
            self.tracker.show_in_runs_table(
                self.experiment, [*(f"tags.{k}" for k in self.shown), "params.model.arch", "metrics.num_parameters",
                                  f"metrics.test/{task.target_metric}", "metrics.train_seconds"],
                f"metrics.test/{task.target_metric}", ascending=task.target_mode == "min")

    def _log_weights(self, model: torch.nn.Module) -> None:
        """A CPU state_dict of the SequenceModel, so that the run can be used afterwards (``bench
        sample``) with its logged ``config.yaml``."""
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.pt")
            torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, path)
            self.tracker.client.log_artifact(self.run_id, path)

    def _end_quietly(self, status: str, reason: str | None, tags: dict[str, str] | None = None) -> None:
        """Record how the run ended without letting a second error hide the first."""
        with contextlib.suppress(Exception):
            self.logger.flush()
        with contextlib.suppress(Exception):
            if tags:
                self.tracker.set_tags(self.run_id, tags)
            self.tracker.end_run(self.run_id, status, reason)


def run_label(config: RunConfig, num_parameters: int | None = None, role: str = "") -> str:
    """A run's name in the MLflow UI, saying what it is: ``gru · 20.1k params · seed 0`` (before the
    model is built, the budget asked for, ``gru · 20k budget · seed 0``, or the hidden size).
    ``role`` replaces ``seed N``, e.g. ``trial 3`` for a sweep trial."""
    if num_parameters is not None:
        size = f"{num_parameters / 1000:.1f}k params"
    elif config.model.params:
        size = f"{config.model.params / 1000:g}k budget"
    else:
        size = f"hidden {config.model.hidden_size}"
    return f"{config.model.arch} · {size} · {role or f'seed {config.train.seed}'}"


def provisional_role(config: RunConfig, name: str) -> str | None:
    """The role in ``name`` if it is :func:`run_label`'s name from before the model was built (a
    resumed run then gets its parameter count at the end, as a fresh one does); None for a name a
    user gave or one already final."""
    role = name.rpartition(" · ")[2]
    if name == run_label(config):
        return ""
    return role if name == run_label(config, role=role) else None


def standard_tags(config: RunConfig) -> Tags:
    """What every run is tagged with: task, architecture, seed, code and package versions, device and machine."""
    return {
        "task": config.task.name,
        "arch": config.model.arch,
        "seed": config.train.seed,
        "git_commit": git_commit(),
        "device": "cuda" if torch.cuda.is_available() and config.train.device != "cpu" else "cpu",
        "machine": machine_name(),
        "mlflow.source.name": "bench run",
        **{f"version.{k}": v for k, v in package_versions().items()},
    }

"""`bench.api.sweep`: the summary `bench sweep` prints, as a DataFrame, of a real two-trial sweep
(a worker process, about 15 s), checked against the Optuna study and the MLflow runs it left."""
from __future__ import annotations

import json

import optuna
import pytest
from mlflow.tracking import MlflowClient

from bench import api

SPACE = {"train.lr": {"type": "float", "low": 0.001, "high": 0.03, "log": True},
         "model.hidden_size": None, "train.optimizer": None, "train.clip_grad_norm": None}
TINY = dict(task="parity", length=4, hidden_size=16, max_steps=20, eval_every=10, eval_size=64, threads=1)


def test_sweep_returns_the_summary_of_the_study_it_ran(isolated_store):
    table = api.sweep(arch=["gru"], trials=2, heartbeat=2, space=SPACE, **TINY)
    study = optuna.load_study(study_name="parity/gru/params=any", storage=f"sqlite:///{isolated_store}/optuna.db")
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 2 and all(set(t.params) == {"train.lr"} for t in complete)  # the space given as a mapping
    [row] = table.to_dict("records")
    assert (row["arch"], row["study"], row["complete"], row["pruned"], row["failed"]) == ("gru", "parity/gru/params=any", 2, 0, 0)
    assert row["best val"] == max(t.value for t in complete) == study.best_value  # parity's accuracy: higher is better
    assert json.loads(row["best params"])["lr"] == pytest.approx(study.best_params["train.lr"], rel=1e-3)
    client = MlflowClient(f"sqlite:///{isolated_store}/mlflow.db")
    trials = client.search_runs([client.get_experiment_by_name("parity").experiment_id], "tags.`sweep.role` = 'trial'")
    assert len(trials) == 2 and {(r.data.params["task.length"], r.data.params["model.hidden_size"]) for r in trials} == {("4", "16")}
    assert {r.data.tags["mlflow.source.name"] for r in trials} == {"bench sweep"}

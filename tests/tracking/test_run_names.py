"""What a lab sees in the MLflow UI without configuring anything: runs named for what they are,
experiments that open on their runs table, and a view of it with each run's architecture, size and
test metric as columns, sorted best first."""
import json

from bench.core.resolve import resolve
from bench.tracking.store import EXPERIMENT_KIND, RUNS_VIEW, Tracker
from bench.tracking.ui import experiment_urls, runs_url
from bench.train.record import run_label
from bench.train.run import run


def tiny(arch: str, **model):
    return resolve({"task": {"name": "parity", "length": 4}, "model": {"arch": arch, "hidden_size": 8, **model},
                    "train": {"max_steps": 4, "eval_every": 4, "eval_size": 16, "threads": 1, "seed": 3}})


def test_a_run_without_a_name_is_named_by_architecture_size_and_seed_and_its_experiment_shows_them(isolated_store):
    result = run(tiny("gru"), progress=False)
    tracker = Tracker()
    logged = tracker.client.get_run(result.run_id)
    assert logged.info.run_name == f"gru · {result.num_parameters / 1000:.1f}k params · seed 3"
    experiment = tracker.client.get_experiment(logged.info.experiment_id)
    assert experiment.tags[EXPERIMENT_KIND[0]] == EXPERIMENT_KIND[1]  # the UI opens on training runs
    view = json.loads(experiment.tags[f"mlflow.sharedViewState.{RUNS_VIEW}"])
    assert view["selectedColumns"] == ["params.`model.arch`", "metrics.`num_parameters`", "metrics.`test/seq_acc`",
                                       "metrics.`train_seconds`"]
    assert view["orderByKey"] == "metrics.`test/seq_acc`" and view["orderByAsc"] is False  # accuracy: best first

    named = run(tiny("lstm"), run_name="my lstm", progress=False)
    assert tracker.client.get_run(named.run_id).info.run_name == "my lstm"  # a given name is kept
    assert json.loads(tracker.client.get_experiment(experiment.experiment_id)
                      .tags[f"mlflow.sharedViewState.{RUNS_VIEW}"]) == view  # unchanged: same columns
    assert experiment_urls("http://ui") == [("parity", runs_url("http://ui", experiment.experiment_id))]


def test_the_label_before_the_model_is_built_says_the_budget_or_the_hidden_size():
    assert run_label(tiny("gru")) == "gru · hidden 8 · seed 3"
    assert run_label(tiny("lstm", params=20_000), role="trial 7") == "lstm · 20k budget · trial 7"
    assert run_label(tiny("lstm"), 20_146, "seed 1") == "lstm · 20.1k params · seed 1"


def test_a_run_that_reaches_its_target_logs_when_even_if_early_stopping_restored_its_best(isolated_store):
    """With patience the stop reason reads "target reached; evaluated the best ..." — the run still
    reached its target, and reports and the equivalence guard count it by ``steps_to_target``."""
    config = resolve({"task": {"name": "parity", "length": 3, "score": "all"}, "model": {"arch": "gru", "hidden_size": 8},
                      "train": {"max_steps": 600, "eval_every": 20, "eval_size": 64, "threads": 1, "lr": 1e-2,
                                "patience": 5}})
    result = run(config, progress=False)
    assert result.stop_reason.startswith("target reached"), result.stop_reason
    logged = Tracker().client.get_run(result.run_id).data.metrics
    assert logged["steps_to_target"] == result.steps


def test_a_run_trained_past_its_target_without_early_stopping_logs_when_validation_first_met_it(isolated_store):
    """A study that trains every run to its step limit (``early_stop`` off) still needs to know
    which runs learned the task: the equivalence guard and the "steps to target" column read it."""
    config = resolve({"task": {"name": "parity", "length": 3, "score": "all"}, "model": {"arch": "gru", "hidden_size": 8},
                      "train": {"max_steps": 600, "eval_every": 20, "eval_size": 64, "threads": 1, "lr": 1e-2,
                                "early_stop": False}})
    result = run(config, progress=False)
    assert result.stop_reason == "step limit" and result.steps == 600
    assert result.steps_to_target is not None and 0 < result.steps_to_target < 600
    logged = Tracker().client.get_run(result.run_id).data.metrics
    assert logged["steps_to_target"] == result.steps_to_target

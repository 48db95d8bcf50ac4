"""`bench report` and `bench inspect`: a report made from a real tiny sweep has every section, and its
numbers are the MLflow and Optuna records' numbers.

One sweep serves the module (about 45 s on 2 cores): the adding problem at T = 6, GRU and LSTM,
3 trials each over the learning rate (and LSTM's forget bias), then 2 seed reruns each. The adding
problem's MSE varies from seed to seed, so intervals and tests have something to say.
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from types import SimpleNamespace

import mlflow
import optuna
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from bench.core.task import Draw
from bench.report.runs import ArchRuns
from bench.report.tables import IMPORTANCE_MIN_TRIALS, TaskRuns, study_tables

# One process builds the sweep for the whole module (see pyproject.toml's pytest options).
pytestmark = pytest.mark.xdist_group("report-sweep")

SPACE = "train.lr: {type: float, low: 0.001, high: 0.03, log: true}\n" \
        "model.hidden_size: null\ntrain.optimizer: null\ntrain.clip_grad_norm: null\n"
SWEEP = ["sweep", "--task", "addition", "--opt", "variant=adding", "--opt", "length=6", "--hidden-size", "16",
         "--max-steps", "30", "--eval-every", "10", "--eval-size", "64", "--trials", "3", "--seeds", "2",
         "--arch", "gru,lstm", "--workers", "2", "--threads", "1", "--no-progress", "--heartbeat", "2"]
SECTIONS = ["## 1. Main results", "## 2. Pairwise comparison", "## 3. Learning curves", "## 4. Length generalisation",
            "## 5. Hyperparameter importance", "## 6. Inside the models", "## 7. How this was produced"]


@pytest.fixture(scope="module")
def swept(tmp_path_factory, empty_mlflow_db):
    """The tiny sweep and `bench report` on it, both through the command line as a user runs them."""
    home = tmp_path_factory.mktemp("report")
    store = home / "store"
    store.mkdir()
    shutil.copyfile(empty_mlflow_db, store / "mlflow.db")
    env = {**os.environ, "RNNBENCH_HOME": str(store), "OMP_NUM_THREADS": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    (home / "space.yaml").write_text(SPACE)
    sweep = subprocess.run([sys.executable, "-m", "bench.cli", *SWEEP, "--space", "space.yaml"], cwd=home, env=env,
                           capture_output=True, text=True, timeout=600)
    assert sweep.returncode == 0, sweep.stderr
    out = home / "report"
    report = subprocess.run([sys.executable, "-m", "bench.cli", "report", "--task", "addition", "--out", str(out)],
                            cwd=home, env=env, capture_output=True, text=True, timeout=600)
    assert report.returncode == 0, report.stderr
    client = mlflow.tracking.MlflowClient(f"sqlite:///{store}/mlflow.db")
    experiment = client.get_experiment_by_name("addition")
    runs = client.search_runs([experiment.experiment_id])
    seeds = {arch: [r for r in runs if r.data.tags.get("sweep.role") == "seed" and r.data.tags["arch"] == arch]
             for arch in ("gru", "lstm")}
    return SimpleNamespace(store=store, out=out, client=client, seeds=seeds, stdout=report.stdout, stderr=report.stderr,
                           md=(out / "report.md").read_text(), html=(out / "report.html").read_text(),
                           optuna=f"sqlite:///{store}/optuna.db")


def table(swept, name):
    return pd.read_csv(swept.out / "tables" / f"{name}.csv")


def test_the_report_has_every_section_its_figures_and_its_tables(swept):
    assert "report.md" in swept.stdout
    positions = [swept.md.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    figures = sorted(p.name for p in (swept.out / "figures").iterdir())
    for name in ("curves", "lengths", "lr-slice", "gradients"):
        assert f"addition-{name}.png" in figures and f"addition-{name}.svg" in figures
        assert f"](figures/addition-{name}.png)" in swept.md
    assert swept.html.count("data:image/png;base64,") == swept.md.count("](figures/")  # every figure inline
    for section in SECTIONS:
        assert f"<h2>{section[3:]}</h2>" in swept.html
    for name in ("main-addition", "pairwise-addition", "win-matrix", "lengths-addition", "trials-addition", "runs"):
        assert (swept.out / "tables" / f"{name}.csv").exists()
        assert "\\begin{tabular}" in (swept.out / "tables" / f"{name}.tex").read_text()


def test_unequal_parameter_budgets_are_a_warning_in_the_report_and_on_stderr(swept):
    sizes = {arch: int(runs[0].data.metrics["num_parameters"]) for arch, runs in swept.seeds.items()}
    assert sizes["lstm"] > 1.1 * sizes["gru"]  # both at hidden 16: the LSTM has a third more weights
    expected = f"parameter counts differ by more than 10% (gru {sizes['gru']:,}, lstm {sizes['lstm']:,})"
    assert expected in swept.md and f"--params {sizes['gru']}" in swept.md
    assert f"warning: addition: the compared architectures' {expected}" in swept.stderr


def test_budgets_within_ten_percent_are_not_warned_about():
    from bench.report.tables import budget_warning

    assert budget_warning("music", {"gru": [20_100.0, 20_100.0], "lstm": [20_900.0], "vanilla": [19_800.0]}) is None
    assert budget_warning("music", {"gru": [20_000.0], "lstm": []}) is None  # one size known: nothing to compare
    assert "vanilla 18,000, lstm 20,000" in budget_warning("music", {"lstm": [20_000.0], "vanilla": [18_000.0]})


def test_main_table_is_the_seed_reruns_mean_and_t_interval_with_the_best_trials_parameters(swept):
    main = table(swept, "main-addition").set_index("arch")
    for arch, runs in swept.seeds.items():
        values = [r.data.metrics["test/mse"] for r in runs]
        assert len(values) == 2
        mean = sum(values) / 2
        half = scipy_stats.t.ppf(0.975, 1) * pd.Series(values).std() / math.sqrt(2)
        row = main.loc[arch]
        assert row["n"] == 2 and row["mean"] == pytest.approx(mean)
        assert (row["ci_low"], row["ci_high"]) == (pytest.approx(mean - half), pytest.approx(mean + half))
        assert f"{mean:.4g} ± {half:.2g} (n=2)" in swept.md
        assert str(row["parameters"]) == str(int(runs[0].data.metrics["num_parameters"]))
        best = optuna.load_study(study_name=f"addition/{arch}/params=any", storage=swept.optuna).best_trial
        lr = float(f"{best.params['train.lr']:.4g}")
        assert f"lr={lr}" in row["hyperparameters"]
        assert f"trial {best.number} of 3" in row["hyperparameters"]
        assert row["published"] == "predict-1 baseline MSE 0.167"
        seconds = [r.data.metrics["train_seconds"] for r in runs]
        assert row["seconds per run"].startswith(f"{sum(seconds) / 2:.1f}")
        assert f"2 seed reruns of the best trial of sweep study `addition/{arch}/params=any`" in swept.md


def test_pairwise_row_is_welchs_test_on_the_recorded_values_and_says_when_it_is_not_significant(swept):
    (row,) = table(swept, "pairwise-addition").to_dict("records")
    gru = [r.data.metrics["test/mse"] for r in swept.seeds["gru"]]
    lstm = [r.data.metrics["test/mse"] for r in swept.seeds["lstm"]]
    welch = scipy_stats.ttest_ind(gru, lstm, equal_var=False)
    assert (row["A"], row["B"]) == ("gru", "lstm")
    assert row["A − B"] == pytest.approx(sum(gru) / 2 - sum(lstm) / 2)
    assert row["welch t"] == pytest.approx(welch.statistic) and row["p (Welch)"] == pytest.approx(welch.pvalue)
    assert row["p (permutation)"] >= 2 / 6  # 2 vs 2 seeds: an exact permutation p is at least 2/C(4,2)
    if row["p (Welch)"] >= 0.05:
        assert "not significant" in row["verdict"] and "no evidence either is better" in swept.md
        # ... and no seed count at the observed effect, which says nothing when that effect is near zero
        assert "which is not evidence that they are alike" in row["verdict"] and "seeds for 80% power" not in row
    matrix = table(swept, "win-matrix").set_index("row vs column")
    expected = "0–1–0" if row["p (Welch)"] >= 0.05 else None
    if expected:
        assert matrix.loc["gru", "lstm"] == matrix.loc["lstm", "gru"] == expected


def test_learning_curves_and_length_generalisation_are_the_logged_metrics(swept):
    curves = table(swept, "curves-addition")
    lengths = table(swept, "lengths-addition")
    for arch, runs in swept.seeds.items():
        for run in runs:
            history = sorted((m.step, m.value) for m in swept.client.get_metric_history(run.info.run_id, "val/mse"))
            mine = curves[curves["run_id"] == run.info.run_id].sort_values("step")
            assert list(zip(mine["step"], mine["value"])) == [(s, pytest.approx(v)) for s, v in history]
            assert (mine["seconds"] > 0).all()
        for length, key in ((6, "test/mse"), (12, "test/len12/mse"), (24, "test/len24/mse")):
            expected = sum(r.data.metrics[key] for r in runs) / len(runs)
            row = lengths[(lengths["arch"] == arch) & (lengths["length"] == length)]
            assert row["mean"].item() == pytest.approx(expected) and row["count"].item() == 2


def test_three_trials_rank_no_parameters_and_the_report_says_how_many_it_had(swept):
    """fANOVA from a handful of trials ranks by the forest's seed, not by the parameters (from one
    trial, every parameter gets an equal share): the report shows no ranking and says why."""
    assert not (swept.out / "tables" / "importance-addition.csv").exists()  # an empty table is not written
    assert not (swept.out / "figures" / "addition-importance.png").exists()
    for arch in ("gru", "lstm"):
        assert (f"{arch}: no fANOVA importances from 3 complete trial(s): too few to rank parameters "
                f"(shown from {IMPORTANCE_MIN_TRIALS})") in swept.md


@pytest.mark.parametrize("trials", [1, IMPORTANCE_MIN_TRIALS - 1, IMPORTANCE_MIN_TRIALS])
def test_importance_is_optunas_fanova_from_enough_trials_and_absent_below(trials):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(lambda t: (math.log10(t.suggest_float("lr", 1e-4, 1e-1, log=True)) + 2) ** 2
                   + 0.01 * t.suggest_float("dropout", 0.0, 0.5), n_trials=trials)
    report = TaskRuns("addition", "addition", "mse", "min", 0.01, {}, {"gru": ArchRuns("gru", pd.DataFrame(), "", "s")})
    importance, trials_table = study_tables(report, {"s": study})
    assert len(trials_table) == 2 * trials  # every trial's parameters are listed whatever the count
    if trials < IMPORTANCE_MIN_TRIALS:
        assert importance.empty and f"from {trials} complete trial(s)" in report.notes[5][0]
    else:
        expected = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
        assert importance.set_index("param")["importance"].to_dict() == pytest.approx(expected)
        assert max(expected, key=expected.get) == "lr"  # the parameter that matters ranks first


def test_the_main_table_says_what_the_target_means_and_what_seconds_per_run_count(swept):
    assert "target 0.01: the task learned: always answering 1 scores about 0.167" in swept.md
    assert "*seconds per run* is the training loop alone" in swept.md


def test_provenance_names_every_run_its_seed_commit_and_versions(swept):
    runs = table(swept, "runs")
    for seed_runs in swept.seeds.values():
        for run in seed_runs:
            row = runs[runs["run_id"] == run.info.run_id]
            assert row["seed"].item() == int(run.data.params["train.seed"])
            assert run.data.tags["git_commit"] in swept.md
            assert f"torch {run.data.tags['version.torch']}" in swept.md
    assert "bench report --task addition --out" in swept.md
    versions = [c for c in runs.columns if c.startswith("version.")]
    assert versions and versions == sorted(versions)  # the same order in every report of the same runs


def test_inside_the_models_has_gradients_at_initialisation_and_after_training_for_each_arch(swept):
    gradients = table(swept, "gradients-addition")
    assert set(gradients["arch"]) == {"gru", "lstm"}
    assert set(gradients["weights"]) == {"initialisation", "trained"}
    assert sorted(gradients["distance"].unique()) == [1, 2, 3, 4, 5]  # adding problem at T=6, scored at the end
    assert (gradients["grad_norm"] > 0).all()


def test_bench_inspect_writes_section_six_for_one_run(swept, tmp_path):
    from bench.report.writer import write_inspection

    run = swept.seeds["lstm"][0]
    path = write_inspection(run.info.run_id, tmp_path / "inspect", f"sqlite:///{swept.store}/mlflow.db")
    assert (tmp_path / "inspect" / "figures" / "gradients.png").exists()
    assert "Norm of ∂loss/∂state_t" in path.read_text() and "arch: lstm" in path.read_text()


def test_gradient_probe_equals_the_gradient_wrt_a_carried_state():
    """∂loss/∂z_t of the zero probe equals ∂loss/∂state_t computed by running the sequence in two chunks."""
    import torch

    from bench.core.metrics import per_step_loss
    from bench.core.network import SequenceNetwork, build_task
    from bench.core.resolve import resolve
    from bench.report.inspection import gradient_by_distance, scored_step

    config = resolve({"task": {"name": "parity", "length": 7}, "model": {"arch": "lstm", "hidden_size": 6}})
    task = build_task(config)
    torch.manual_seed(0)
    network = SequenceNetwork(task, config.model)
    batch = task.eval_batches("test", Draw(8, examples=8))[0]
    norms = gradient_by_distance(network, task, batch)
    s = scored_step(batch.mask)
    assert s == 6 and sorted(norms) == [1, 2, 3, 4, 5, 6]
    inputs = network.encode(batch.inputs)
    for distance in (1, 4):
        t = s - distance
        _, (h, c) = network.core(inputs[:, :t + 1])
        h, c = h.detach().requires_grad_(), c.detach().requires_grad_()
        features, _ = network.core(inputs[:, t + 1:s + 1], (h, c))
        loss = per_step_loss(task.output_kind, network.head(features[:, -1:]), batch.targets[:, s:s + 1]).sum()
        grad_h, grad_c = torch.autograd.grad(loss, (h, c))
        expected = ((grad_h.pow(2).sum() + grad_c.pow(2).sum()) / len(batch)).sqrt().item()
        assert norms[distance] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("arch, options, panels", [
    ("attention", {}, ["attention"]),
    ("ntm", {"memory_slots": 16, "memory_width": 4}, ["write head 1", "read head 1"]),
])
def test_attention_and_memory_weightings_of_a_trained_run(isolated_store, tmp_path, arch, options, panels):
    import torch

    from bench.core.resolve import resolve
    from bench.report.inspection import attention_maps, load_run
    from bench.report.writer import write_inspection
    from bench.tracking.store import Tracker
    from bench.train.run import run

    config = resolve({"task": {"name": "parity", "length": 5}, "model": {"arch": arch, "hidden_size": 8, "compile": "off",
                                                                       **options},
                      "train": {"max_steps": 4, "eval_every": 4, "eval_size": 32, "threads": 1}})
    result = run(config, progress=False)
    loaded = load_run(Tracker().client, result.run_id)
    maps = attention_maps(loaded).panels  # as the architecture draws them
    assert list(maps) == panels
    for weights in maps.values():
        assert torch.allclose(weights.sum(-1), torch.ones(weights.shape[0]), atol=1e-4)  # a distribution per step
    if arch == "attention":
        assert maps["attention"].shape == (5, 5) and torch.all(maps["attention"].triu(1) == 0)  # causal
    write_inspection(result.run_id, tmp_path / "out")
    assert (tmp_path / "out" / "figures" / "weights.png").exists()


def test_reports_of_nothing_are_one_line_usage_errors(bench_cli, usage_error, tmp_path):
    from bench.core.errors import UsageError
    from bench.report.writer import write_inspection

    usage_error(bench_cli("report", "--task", "parity"), "no runs of task 'parity'")
    with pytest.raises(UsageError, match="no run '0123abcd'"):
        write_inspection("0123abcd", tmp_path)

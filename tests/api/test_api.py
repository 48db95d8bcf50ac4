"""`bench.api`: a run, a sweep, the runs table and a report from Python equal what the `bench` command
makes and prints with the same settings, and a mistake raises the command line's UsageError.

One CLI run and one API run (parity, GRU, 40 updates; a couple of seconds each) serve the module.
"""
from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from bench import api
from bench.cli.main import main
from bench.core.errors import UsageError

pytestmark = pytest.mark.xdist_group("api-runs")  # one process makes the module's two runs

CLI = ["--task", "parity", "--arch", "gru", "--seed", "3", "--lr", "3e-3", "--hidden-size", "16", "--max-steps", "40",
       "--eval-every", "20", "--eval-size", "64", "--threads", "1", "--log-every", "10", "--no-early-stop",
       "--opt", "length=6", "--opt", "task.score=all"]
API = dict(task="parity", arch="gru", seed=3, lr="3e-3", hidden_size=16, max_steps=40, eval_every=20, eval_size=64, threads=1,
           log_every=10, early_stop=False, length=6, opts={"task.score": "all"})
VOLATILE_TAGS = {"lease.owner", "lease.heartbeat", "rnnbench.create_token"}  # the process, its last beat, a per-run token
VOLATILE_METRICS = {"train_seconds"}


def cli(*args: str) -> subprocess.CompletedProcess:
    """``bench ARGS`` in this process, as ``bench_main`` runs it (usable in a module fixture too)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(["bench", *args], code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def pair(tmp_path_factory, empty_mlflow_db):
    """The same run made by `bench run` and by `api.run`, in one store of their own; ``trained``: the
    CLI's run as the training layer returned it (the float64 metrics it prints; MLflow keeps float32)."""
    from bench.train import run as training

    trained = []
    home = tmp_path_factory.mktemp("api")
    store = home / "store"
    store.mkdir()
    shutil.copyfile(empty_mlflow_db, store / "mlflow.db")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RNNBENCH_HOME", str(store))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.chdir(home)
        patch.setattr(training, "run", lambda *a, _run=training.run, **k: trained.append(_run(*a, **k)) or trained[-1])
        printed = cli("run", *CLI)
        assert printed.returncode == 0, printed.stderr
        made = api.run(**API)
    assert [r.run_id for r in trained] == [cli_id := printed.stdout.split("MLflow run ")[1].split()[0], made.run_id]
    uri = f"sqlite:///{store / 'mlflow.db'}"
    client = MlflowClient(uri)
    return SimpleNamespace(home=home, uri=uri, client=client, printed=printed.stdout, made=made, trained=trained[0],
                           cli=client.get_run(cli_id), api=client.get_run(made.run_id))


def stored_runs(store):
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(experiments) if experiments else []


def histories(client: MlflowClient, run) -> dict[str, list[tuple[int, float]]]:
    return {key: [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, key)]
            for key in run.data.metrics if key not in VOLATILE_METRICS}


def test_a_run_from_the_api_has_the_clis_metrics_params_tags_and_artifacts(pair):
    made, by_cli, by_api = pair.made, pair.cli, pair.api
    assert made.run_id != by_cli.info.run_id and by_api.info.status == by_cli.info.status == "FINISHED"
    assert "test/acc" in made.metrics and "test/len12/acc" in made.metrics
    assert made.metrics == pair.trained.metrics  # exact: same seed, same CPU
    assert made.metrics == pytest.approx({key: by_cli.data.metrics[key] for key in made.metrics}, rel=1e-6)  # float32 there
    assert histories(pair.client, by_api) == histories(pair.client, by_cli)  # every logged value at every step, exactly
    assert by_api.data.params == by_cli.data.params
    assert by_api.data.params["train.lr"] == "0.003" and by_api.data.params["task.score"] == "all"
    differ = {k for k in by_api.data.tags.keys() | by_cli.data.tags.keys() if by_api.data.tags.get(k) != by_cli.data.tags.get(k)}
    assert differ <= VOLATILE_TAGS, differ
    assert by_api.data.tags["mlflow.source.name"] == "bench run" and by_api.info.run_name == by_cli.info.run_name
    assert ([a.path for a in pair.client.list_artifacts(made.run_id)]
            == [a.path for a in pair.client.list_artifacts(by_cli.info.run_id)])


def test_the_api_run_holds_what_bench_run_prints(pair):
    made = pair.made
    assert made.num_parameters == pair.cli.data.metrics["num_parameters"] and made.steps == 40
    assert made.stop_reason == pair.cli.data.tags["stop_reason"] and made.device == "cpu"
    assert made.seconds == pair.api.data.metrics["train_seconds"]
    assert made.experiment == "parity" and made.tracking_uri == pair.uri
    assert made.table().to_string(float_format=lambda v: f"{v:.4f}") in pair.printed  # the CLI's printed table
    assert made.config.to_dict() == api.config(**API).to_dict()


def test_the_config_is_the_one_bench_run_dry_run_prints(bench_main):
    dry = bench_main("run", *CLI, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert api.config(**API).to_yaml() == dry.stdout
    assert api.config(**{**API, "lr": 3e-3, "opts": {"score": "all"}}).to_yaml() == dry.stdout  # Python values, unprefixed


def test_runs_is_the_table_bench_runs_prints(pair):
    table = api.runs("parity", tracking_uri=pair.uri)
    assert sorted(table["run_id"]) == sorted([pair.made.run_id[:8], pair.cli.info.run_id[:8]])
    assert table.to_csv(index=False) == cli("runs", "--task", "parity", "--format", "csv", "--tracking-uri", pair.uri).stdout
    everything = api.runs("parity", tracking_uri=pair.uri, all_columns=True)
    assert set(everything["run_id"]) == {pair.made.run_id, pair.cli.info.run_id}
    assert set(everything["params.model.arch"]) == {"gru"}


def test_report_returns_the_tables_and_figures_that_bench_report_writes(pair, tmp_path):
    made = api.report("parity", out=tmp_path / "api", tracking_uri=pair.uri)
    printed = cli("report", "--task", "parity", "--out", str(tmp_path / "cli"), "--tracking-uri", pair.uri)
    assert printed.returncode == 0, printed.stderr
    assert made.path == tmp_path / "api" / "report.md" and made.path.exists()
    assert {"main-parity", "pairwise-parity", "curves-parity", "win-matrix", "runs"} <= set(made.tables)
    written = {p.stem for p in (tmp_path / "cli" / "tables").glob("*.csv")}
    assert written == {name for name, frame in made.tables.items() if not frame.empty}
    for name in written:  # the DataFrames are the CLI's CSVs, to the last digit
        assert made.tables[name].to_csv(index=name == "win-matrix") == (tmp_path / "cli" / "tables" / f"{name}.csv").read_text()
    assert 0 < len(made.tables["runs"]) and set(made.tables["runs"]["run_id"]) <= {pair.made.run_id, pair.cli.info.run_id}
    assert {"parity-curves", "parity-lengths", "parity-gradients"} <= set(made.figures)
    assert set(made.figures) == {p.stem for p in (tmp_path / "cli" / "figures").glob("*.png")}
    for figure in made.figures.values():
        assert figure.png.exists() and figure.svg.exists() and figure.caption
        assert figure._repr_png_()[:4] == b"\x89PNG"
    assert [f"warning: {w}" for w in made.warnings] == [line for line in printed.stderr.splitlines() if line.startswith("warning:")]


MISTAKES = {
    "unknown task": (["run", "--task", "parityy"], lambda: api.run(task="parityy")),
    "unknown arch": (["run", "--arch", "lstn"], lambda: api.run(arch="lstn")),
    "negative length": (["run", "--opt", "length=-3"], lambda: api.run(length=-3)),
    "hidden size 0": (["run", "--hidden-size", "0"], lambda: api.run(hidden_size=0)),
    "not a number": (["run", "--lr", "fast"], lambda: api.run(lr="fast")),
    "unknown option": (["run", "--opt", "lenght=3"], lambda: api.run(lenght=3)),
    "bad prefix": (["run", "--opt", "both.length=3"], lambda: api.run(opts={"both.length": 3})),
    "bidirectional causal": (["run", "--bidirectional"], lambda: api.run(bidirectional=True)),
    "missing config": (["run", "--config", "nope.yaml"], lambda: api.run(config="nope.yaml")),
    "resume with settings": (["run", "--resume", "0123abcd", "--lr", "0.1"], lambda: api.run(resume="0123abcd", lr=0.1)),
    "sweep without trials": (["sweep", "--task", "parity", "--arch", "gru", "--trials", "0"],
                             lambda: api.sweep(task="parity", arch="gru", trials=0)),
    "sweep unknown arch": (["sweep", "--task", "parity", "--arch", "gru,lstmm"], lambda: api.sweep(task="parity", arch=["gru", "lstmm"])),
    "sweep no arch": (["sweep", "--task", "parity"], lambda: api.sweep(task="parity")),
    "sweep zero workers": (["sweep", "--arch", "gru", "--workers", "0"], lambda: api.sweep(arch="gru", workers=0)),
    "runs unknown task": (["runs", "--task", "parityy"], lambda: api.runs("parityy")),
    "runs of nothing": (["runs", "--task", "parity"], lambda: api.runs("parity")),
    "report of no task": (["report", "--task", ","], lambda: api.report([])),
    "report two tasks one experiment": (["report", "--task", "parity,copy", "--experiment", "x"],
                                        lambda: api.report(["parity", "copy"], experiment="x")),
    "report of nothing": (["report", "--task", "parity"], lambda: api.report("parity")),
    "study without a name": (["study", "show"], lambda: api.study(action="show")),
    "unknown study": (["study", "show", "chung2015"], lambda: api.study("chung2015", "show")),
    "unknown scale": (["study", "run", "chung2014", "--scale", "huge"], lambda: api.study("chung2014", scale="huge")),
    "study report with a budget": (["study", "report", "chung2014", "--trials", "3"], lambda: api.study("chung2014", "report", trials=3)),
    "study report of nothing": (["study", "report", "chung2014"], lambda: api.study("chung2014", "report")),
}


@pytest.mark.parametrize("argv, call", MISTAKES.values(), ids=MISTAKES.keys())
def test_a_mistake_raises_the_clis_usage_error(bench_main, argv, call, isolated_store):
    printed = bench_main(*argv)  # also moves into the test's folder, where nope.yaml is not
    assert printed.returncode == 2 and printed.stderr.startswith("bench: error: "), printed.stderr
    with pytest.raises(UsageError) as raised:
        call()
    assert f"bench: error: {raised.value}\n" == printed.stderr
    assert stored_runs(isolated_store) == []


def test_a_misspelt_setting_given_as_a_keyword_says_which_setting_it_looks_like(bench_main):
    with pytest.raises(UsageError, match="did you mean the setting 'max_steps'"):
        api.run(max_step=50)
    assert "the setting" not in bench_main("run", "--opt", "max_step=50").stderr  # the CLI's message is its own


def test_study_show_and_list_are_the_texts_bench_study_prints(bench_main):
    assert api.study("chung2014", "show").text + "\n" == bench_main("study", "show", "chung2014").stdout
    assert api.study(action="list").text + "\n" == bench_main("study", "list").stdout


def test_a_study_report_returns_its_path_tables_and_verdicts_as_the_cli_prints_them(bench_main, monkeypatch, tmp_path):
    """The report itself needs a study's runs (a minute at smoke scale, tests/study); here what it returned."""
    from bench.report.verdicts import ClaimVerdict
    from bench.report.writer import Written
    from bench.study import report as study_report

    verdicts = [ClaimVerdict("GRU beats LSTM on music", "reproduced", ("by Welch",), 2, 2),
                ClaimVerdict("LSTM beats tanh", "undecided", (), 1, 2, why="too few seeds")]
    claims = pd.DataFrame({"claim": [v.statement for v in verdicts]})
    (tmp_path / "figures").mkdir()
    for suffix in ("png", "svg"):
        (tmp_path / "figures" / f"budget.{suffix}").write_bytes(b"\x89PNG")
    written = Written(tmp_path / "report.md", ["budgets differ"], {"claims": claims}, {"budget.png": "expected best"})
    asked = []
    monkeypatch.setattr(study_report, "write_study_report", lambda *a: asked.append(a) or (written, verdicts))
    made = api.study("chung2014", "report", scale="smoke", out=tmp_path)
    assert asked[0][1:3] == ("smoke", tmp_path) and asked[0][5] == f"bench study report chung2014 --scale smoke --out {tmp_path}"
    assert made.report is not None and made.report.path == tmp_path / "report.md"
    assert made.report.tables["claims"] is claims and made.report.figures["budget"].svg == tmp_path / "figures" / "budget.svg"
    assert list(made.verdicts["verdict"]) == ["reproduced", "undecided (on 1 of 2)"]
    assert list(made.verdicts["to decide"]) == ["—", "too few seeds"]
    printed = bench_main("study", "report", "chung2014", "--scale", "smoke", "--out", str(tmp_path))
    assert printed.stdout.splitlines()[:2] == ["reproduced: GRU beats LSTM on music", "undecided (on 1 of 2): LSTM beats tanh (too few seeds)"]
    assert printed.stderr == "warning: budgets differ\n"


def test_importing_the_api_imports_no_training_or_reporting_stack():
    code = "import sys, bench.api; print(sorted(m for m in ('torch', 'pandas', 'mlflow', 'lightning') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_a_run_on_your_own_file_from_the_api_has_the_clis_metrics(bench_main, isolated_store, tmp_path):
    """The README's path: a user's CSV, run from a notebook and from the shell, the same seed."""
    from tasks.sequences import write_example_csv

    write_example_csv(tmp_path / "mine.csv", sequences=80, seed=4)
    flags = dict(seed=2, hidden_size=16, max_steps=30, eval_every=15, threads=1)
    printed = bench_main("run", "--task", "sequences", "--arch", "gru", "--opt", f"data={tmp_path / 'mine.csv'}",
                         *[f"--{k.replace('_', '-')}={v}" for k, v in flags.items()], "--no-progress")
    assert printed.returncode == 0, printed.stderr
    made = api.run(task="sequences", arch="gru", data=str(tmp_path / "mine.csv"), **flags)
    by_cli = MlflowClient(f"sqlite:///{isolated_store / 'mlflow.db'}").get_run(printed.stdout.split("MLflow run ")[1].split()[0])
    assert made.metrics["test/acc"] == pytest.approx(by_cli.data.metrics["test/acc"], rel=1e-6)
    assert made.metrics == pytest.approx({key: by_cli.data.metrics[key] for key in made.metrics}, rel=1e-6)
    assert made.table().to_string(float_format=lambda v: f"{v:.4f}") in printed.stdout

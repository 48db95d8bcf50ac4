"""Every shipped study runs end to end at its smoke scale — `bench study run` then `bench study report`
— and its report gives every claim a verdict and shows ours beside the paper's numbers."""
import json
import os
from pathlib import Path

import optuna
import pytest

from bench.core.registry import STUDIES
from bench.report import collect
from bench.study import report as study_report
from bench.study.report import duration
from bench.tracking.store import RUNS_VIEW, Tracker
from tasks._piano_rolls import random_rolls, write_mat
from tasks._wav import write_wav

VERDICTS = {"reproduced", "contradicted", "no practical difference", "undecided"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """Small generated files of the real formats where the studies look for their data."""
    import numpy as np

    folder = tmp_path_factory.mktemp("data")
    (folder / "music").mkdir()
    for name, seed in (("JSB_Chorales", 0), ("Nottingham", 1)):
        write_mat(folder / "music" / f"{name}.mat", {split: random_rolls(6, 12, 30, seed + i)
                                                    for i, split in enumerate(("train", "val", "test"))})
    (folder / "speech").mkdir()
    rng = np.random.default_rng(0)
    for i in range(5):
        t = np.arange(2_000)
        wave = 0.3 * np.sin(2 * np.pi * (120 + 20 * i) * t / 16_000) + 0.01 * rng.standard_normal(t.size)
        write_wav(folder / "speech" / f"utt{i}.wav", (wave * 20_000).astype(np.int16))
    return folder


@pytest.mark.parametrize("name", STUDIES.names())
def test_every_study_runs_at_smoke_scale_and_its_report_judges_every_claim(name, data_dir, bench_main, tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv("RNNBENCH_DATA", str(data_dir))
    study = STUDIES.get(name)
    committed = tmp_path / "results" / "studies" / name  # the laptop-scale results a clone holds
    committed.mkdir(parents=True)
    (committed / "study.json").write_text(json.dumps({"study": name, "scale": "laptop", "claims": []}))
    ran = bench_main("study", "run", name, "--scale", "smoke", "--no-progress")
    assert ran.returncode == 0, ran.stderr
    assert f"bench study report {name} --scale smoke" in ran.stdout
    assert "after round 0:" in ran.stderr and "claims decided" in ran.stderr

    opened = []  # every place a report could open the Optuna storage from
    for module in (study_report, collect):
        monkeypatch.setattr(module, "open_storage",
                            lambda *a, _open=module.open_storage, **k: opened.append(a) or _open(*a, **k))
    reported = bench_main("study", "report", name)
    assert reported.returncode == 0, reported.stderr
    assert len(opened) == 1  # read once for every experiment, the claims, the cost and the tables
    assert sorted(p.name for p in committed.iterdir()) == ["study.json"]  # the committed report untouched
    assert json.loads((committed / "study.json").read_text())["scale"] == "laptop"
    folder = Path(os.environ["RNNBENCH_HOME"]) / "reports" / "studies" / f"{name}@smoke"
    assert f"wrote {folder / 'report.md'}" in reported.stdout
    summary = json.loads((folder / "study.json").read_text())
    assert summary["scale"] == "smoke" and summary["runs"] > 0 and summary["machines"]
    assert [c["claim"] for c in summary["claims"]] == [c.statement() for c in study.claims]
    assert all(c["outcome"] in VERDICTS for c in summary["claims"])
    assert all(c["judged"] >= 1 for c in summary["claims"]), summary["claims"]  # each rests on a run
    text = (folder / "report.md").read_text()
    storage = f"sqlite:///{os.environ['RNNBENCH_HOME']}/optuna.db"  # the cost is the runs' own durations, summed
    spent = sum((t.datetime_complete - t.datetime_start).total_seconds()
                for s in optuna.get_all_study_names(storage) if f"/{name}/smoke/" in s
                for t in optuna.load_study(study_name=s, storage=storage).get_trials(deepcopy=False)
                if t.datetime_start and t.datetime_complete)
    assert spent > 0 and summary["compute_seconds"] == pytest.approx(spent, abs=0.1)
    assert f"{duration(summary['compute_seconds'])} of compute" in text and "0.00 compute hours" not in text
    assert "## Claims and verdicts" in text and "## Ours vs the paper" in text and "## 1. Main results" in text
    assert "## Would another tuning budget or reporting rule say otherwise?" in text
    if any(not hasattr(c, "parameter") for c in study.claims):  # comparisons: the peers' rules beside ours
        peers = (folder / "tables" / "peers-rules.csv").read_text()
        assert "best seed" in peers and "single run (seed 0)" in peers
        assert list((folder / "figures").glob("*-tuning-budget.png"))
    for claim in study.claims:
        assert claim.statement() in text
    ran_experiments = {e.name for e in study.experiments_at("smoke")}
    published_here = [p for p in study.published if p.experiment in ran_experiments]
    if published_here:
        paper = (folder / "tables" / "ours-vs-paper.csv").read_text()
        assert all(f"{p.experiment},{p.arm}," in paper for p in published_here)
    assert not (tmp_path / "results" / "STUDIES.md").exists()  # the index lists committed reports only
    replaced = bench_main("study", "report", name, "--out", str(committed))
    assert replaced.returncode == 2 and "holds the report of" in replaced.stderr and "--replace" in replaced.stderr
    client = Tracker().client  # the study's runs are in its own MLflow experiment, not the task's
    experiment = client.get_experiment_by_name(name)
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])  # each says which experiment and arm it is, as columns
    assert {r.data.tags.get("study.experiment") for r in runs} == ran_experiments
    assert {r.data.tags.get("study.arm") for r in runs} == {a.label for a in study.arms}
    view = json.loads(experiment.tags[f"mlflow.sharedViewState.{RUNS_VIEW}"])
    assert view["selectedColumns"][:2] == ["tags.`study.experiment`", "tags.`study.arm`"]
    assert all(client.get_experiment_by_name(e.task) is None for e in study.experiments)

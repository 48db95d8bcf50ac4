"""`bench study` as a user meets it: lists and descriptions at once, every mistake one line and exit 2."""
import subprocess
import sys

import pytest


def test_list_names_every_study_with_its_experiments_and_claims_without_importing_torch():
    code = ("import sys; from bench.cli.main import main; main(['study', 'list']); "
            "print('torch imported' if 'torch' in sys.modules else 'no torch')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for name in ("chung2014", "bai2018", "le2015", "graves2014", "zaremba2014", "jozefowicz2015", "greff2017"):
        assert f"\n{name} " in f"\n{out}"
    assert "arms: tanh, gru, lstm; 4 claim(s)" in out
    assert out.strip().endswith("no torch")


def test_show_gives_protocol_scales_claims_and_published_numbers(bench_main):
    out = bench_main("study", "show", "chung2014").stdout
    assert "parameter budget 20,000 parameters per arm; training optimizer=rmsprop" in out
    assert "laptop  6 trial(s) + 3 seed(s), then 3 more at a time where a claim is undecided, up to 12" in out
    assert "differs from the paper:" in out
    assert "margin ±0.1: 0.1 nats per frame" in out and "margin ±0.1; speech ±1:" in out  # declared, with why
    assert "no consistent winner between gru and lstm over jsb, nottingham, musedata, pianomidi, speech" in out
    assert "jsb/gru: 8.54" in out and "(secondary)" in out
    assert "--data jsb=PATH, or music/JSB_Chorales.mat under --data-dir" in out


@pytest.mark.parametrize("args, message", [
    (("study", "run", "chung2015"), "unknown study 'chung2015' (did you mean 'chung2014' or 'bahdanau2015' or 'le2015'?)"),
    (("study", "show"), "bench study show needs a study name"),
    (("study", "run", "chung2014", "--scale", "huge"), "study chung2014 has no scale 'huge'; its scales: smoke, laptop, paper"),
    (("study", "run", "chung2014", "--data", "jsb"), "--data 'jsb': write NAME=PATH"),
    (("study", "run", "chung2014", "--data", "imagenet=."), "needs no data called 'imagenet'"),
    (("study", "report", "le2015"), "study le2015 has no runs yet; start with `bench study run le2015 --scale smoke`"),
    (("study", "fly", "le2015"), "invalid choice: 'fly'"),
    (("study", "run", "le2015", "--seeds", "1"), "--seeds 1: give at least 2 (an interval needs 2 seeds per arm)"),
    (("study", "run", "le2015", "--seeds", "6", "--max-seeds", "4"), "--max-seeds 4 is below the first look's 6 seeds"),
    (("study", "run", "le2015", "--experiments", "adding999"), "--experiments adding999: scale laptop of le2015 runs"),
    (("study", "report", "le2015", "--max-seeds", "20"), "a report judges the runs as they were run: give --scale LABEL"),
    (("study", "report", "le2015", "--scale", "laptop~speed=9"), "not a scale or a bent one"),
    (("study", "run", "le2015", "--workers", "0"), "--workers 0: give at least 1 (leave it out for one per"),
    (("study", "run", "le2015", "--sampler", "grid"), "invalid choice: 'grid'"),
    (("study", "run", "le2015", "--tuning-seed", "0"), "--tuning-seed 0: give 1 or more"),
])
def test_mistakes_are_one_line_and_exit_2(bench_main, usage_error, args, message):
    usage_error(bench_main(*args), message)


def test_a_study_without_any_of_its_data_says_what_to_give_and_runs_nothing(bench_main, usage_error, monkeypatch, tmp_path):
    monkeypatch.setenv("RNNBENCH_DATA", str(tmp_path / "empty"))
    result = bench_main("study", "run", "greff2017", "--scale", "smoke")
    usage_error(result, "study greff2017: nothing to run at scale smoke: jsb: no data (give --data jsb=PATH")

"""`bench ui` in a real browser: the MLflow UI it starts shows two architectures' runs side by side.

Headless Debian Chromium (`/usr/bin/chromium`, installed by .ci/run with `chromium-driver`) driven by
Selenium through `/usr/bin/chromedriver`: no browser is downloaded at run time.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="Debian chromium and chromium-driver are not installed (apt-get install chromium chromium-driver; .ci/run does)")


def tiny_runs() -> dict[str, object]:
    """One finished GRU and one LSTM run on 4-bit parity, logged to the test's store."""
    from bench.core.resolve import resolve
    from bench.train.run import run

    runs = {}
    for arch in ("gru", "lstm"):
        config = resolve({"task": {"name": "parity", "length": 4}, "model": {"arch": arch, "hidden_size": 8},
                          "train": {"max_steps": 10, "eval_every": 10, "eval_size": 32, "threads": 1}})
        runs[arch] = run(config, progress=False)
    return runs


def study_runs() -> dict[str, object]:
    """Two runs of one study's experiment on different data, tagged as a study's runs are."""
    from bench.core.resolve import resolve
    from bench.train.run import Hooks, run

    runs = {}
    for experiment, length in (("short", 3), ("long", 5)):
        config = resolve({"task": {"name": "parity", "length": length}, "model": {"arch": "gru", "hidden_size": 8},
                          "train": {"max_steps": 10, "eval_every": 10, "eval_size": 32, "threads": 1}})
        tags = {"study.experiment": experiment, "study.arm": f"gru-{experiment}"}
        runs[experiment] = run(config, hooks=Hooks(tags=tags), experiment="mystudy", progress=False)
    return runs


def shown_name(arch: str, result) -> str:
    """The name a run gets without --run-name: what it is."""
    return f"{arch} · {result.num_parameters / 1000:.1f}k params · seed 0"


def start_ui(env: dict) -> tuple[subprocess.Popen, str, list[str]]:
    """`bench ui` as a user starts it; returns the process, the URL it printed and its output lines
    (still growing: the runs-table URLs follow the first)."""
    process = subprocess.Popen([sys.executable, "-m", "bench.cli", "ui"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        match = re.search(r"(http://127\.0\.0\.1:\d+)", "".join(lines))
        if match:
            return process, match.group(1), lines
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"bench ui printed no URL: {''.join(lines)[-2000:]}")


def metric_row(driver, name: str) -> list[str]:
    """The values in the comparison table's row for metric ``name``, one per run, in column order.

    The table is a virtualised grid: the name column and the value columns are separate grids whose
    cells are absolutely positioned, so a row is the cells with the same ``top``."""
    from selenium.webdriver.common.by import By

    (label,) = [e for e in driver.find_elements(By.XPATH, f"//a[normalize-space(.)='{name}']")]
    top = re.search(r"top:\s*([\d.]+)px", label.find_element(By.XPATH, "./..").get_attribute("style")).group(1)
    cells = driver.find_elements(By.XPATH, f"//div[contains(@style, 'top: {top}px') and contains(@style, 'left:')]")
    values = [c for c in cells if c.get_attribute("textContent").strip() != name]
    values.sort(key=lambda c: float(re.search(r"left:\s*([\d.]+)px", c.get_attribute("style")).group(1)))
    return [c.get_attribute("textContent").strip() for c in values]


def test_the_runs_table_and_the_comparison_page_show_each_architecture_and_its_test_metric(isolated_store, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from bench.tracking.ui import compare_url

    runs = tiny_runs()
    in_study = study_runs()
    from bench.tracking.store import Tracker

    experiment = Tracker().client.get_experiment_by_name("parity").experiment_id
    env = {**os.environ, "RNNBENCH_HOME": str(isolated_store), "OMP_NUM_THREADS": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    process, base, printed = start_ui(env)
    names = {arch: shown_name(arch, result) for arch, result in runs.items()}
    driver = None
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=10) as response:
            assert response.status == 200
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--window-size=1400,1600"):
            options.add_argument(argument)
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        ids = [runs["gru"].run_id, runs["lstm"].run_id]
        driver.get(compare_url(base, ids, [experiment]))
        body = lambda d: d.find_element(By.TAG_NAME, "body").text  # noqa: E731
        WebDriverWait(driver, 90).until(lambda d: all(name in body(d) for name in names.values()))
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.XPATH, "//a[normalize-space(.)='test/loss']"))
        text = body(driver)
        assert "Comparing 2 Runs" in text
        header = re.search(r"Run Name:\s*(.+?)\n(.+?)\n", text)
        columns = [header.group(1).strip(), header.group(2).strip()]  # the UI's column order
        assert sorted(columns) == sorted(names.values())
        shown = dict(zip(columns, metric_row(driver, "test/loss")))
        label = driver.find_element(By.XPATH, "//a[normalize-space(.)='test/loss']")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", label)
        driver.save_screenshot(str(tmp_path / "compare-runs.png"))
        for arch, result in runs.items():
            value = result.metrics["test/loss"]
            assert float(shown[names[arch]]) == pytest.approx(value, rel=5e-3, abs=5e-4), (arch, shown)
        assert (tmp_path / "compare-runs.png").stat().st_size > 10_000

        # The runs table `bench ui` prints for the task: a page of training runs (not MLflow's GenAI
        # overview) listing each run by what it is, with its architecture and test metric in columns,
        # the sidebar on model training (runs, models, the registry), as on the home page it prints.
        assert printed[0].split(": ", 1)[1].split()[0] == f"{base}/#/experiments?workflowType=machine_learning"
        (runs_page,) = [line.split(": ", 1)[1].strip() for line in printed if line.strip().startswith("parity: ")]
        driver.get(runs_page)
        WebDriverWait(driver, 90).until(lambda d: all(name in body(d) for name in names.values())
                                        and "test/seq_acc" in body(d).splitlines())
        text = body(driver)
        sidebar, table = text.split("Run Name", 1)
        assert "Model registry" in sidebar and "Judges" not in sidebar and "Sessions" not in sidebar, sidebar
        cells = table.splitlines()
        numbers = [float(c) for c in cells if re.fullmatch(r"\d+(\.\d+)?", c)]
        for arch, result in runs.items():  # its architecture, size and test metric are columns
            assert arch in cells and str(result.num_parameters) in cells, (arch, cells)
            assert any(n == pytest.approx(result.metrics["test/seq_acc"]) for n in numbers), (arch, numbers)
        driver.save_screenshot(str(tmp_path / "runs-table.png"))

        # A study's experiment holds several data sets: its runs table says which each run is on.
        (study_page,) = [line.split(": ", 1)[1].strip() for line in printed if line.strip().startswith("mystudy: ")]
        driver.set_window_size(2600, 1600)  # the grid draws only the columns in view
        driver.get(study_page)
        WebDriverWait(driver, 90).until(lambda d: "gru-long" in body(d) and "gru-short" in body(d))
        headers = [e.get_attribute("textContent").strip() for e in driver.find_elements(By.XPATH, "//*[@role='columnheader']")]
        assert "study.experiment" in headers and "study.arm" in headers, headers
        cells = body(driver).split("Run Name", 1)[1].splitlines()
        for experiment, result in in_study.items():  # the same run name twice: the columns tell them apart
            assert shown_name("gru", result) in cells and experiment in cells and f"gru-{experiment}" in cells, cells
        driver.save_screenshot(str(tmp_path / "study-runs-table.png"))
    finally:
        if driver is not None:
            driver.quit()
        process.send_signal(signal.SIGINT)
        try:
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    with pytest.raises(OSError):  # the server went with it
        urllib.request.urlopen(f"{base}/health", timeout=5)


@pytest.mark.fresh_store
def test_ui_without_a_store_is_a_usage_error(bench_cli, usage_error):
    usage_error(bench_cli("ui"), "no tracking store at")


def test_compare_url_is_the_uis_hash_route():
    from bench.tracking.ui import compare_url

    route, _, query = compare_url("http://127.0.0.1:5000", ["a", "b"], ["1"]).partition("?")
    assert route == "http://127.0.0.1:5000/#/compare-runs"
    values = urllib.parse.parse_qs(query)
    assert json.loads(values["runs"][0]) == ["a", "b"] and json.loads(values["experiments"][0]) == ["1"]

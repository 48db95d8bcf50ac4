"""``bench ui``: the MLflow UI on this harness's tracking store, on loopback, at a free port.

MLflow's own server does the work (``python -m mlflow server``, one worker); this only finds the
store (as ``bench run`` does), picks a free port, waits until the UI answers, prints the URL and stops
the server on Ctrl-C. Loopback only: the store's runs are not published to the network.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence

from bench.core.errors import RunFailed, UsageError
from bench.tracking.store import RUNS_VIEW, Tracker, default_tracking_uri

HOST = "127.0.0.1"
MODEL_TRAINING = "workflowType=machine_learning"
"""MLflow 3's sidebar switches between GenAI and model training, GenAI unless the browser
remembers otherwise; this query parameter opens a page in the model-training view (runs, models)
whatever the browser remembers, and the links in the sidebar keep it."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def compare_url(base: str, run_ids: Sequence[str], experiment_ids: Sequence[str]) -> str:
    """The UI's run comparison page of ``run_ids`` (a hash route of MLflow's single-page app)."""
    compact = (",", ":")
    query = urllib.parse.urlencode({"runs": json.dumps(list(run_ids), separators=compact),
                                    "experiments": json.dumps(list(experiment_ids), separators=compact)})
    return f"{base}/#/compare-runs?{query}&{MODEL_TRAINING}"


def runs_url(base: str, experiment_id: str) -> str:
    """The runs table of an experiment with the columns and sort of the harness's view (each run's
    architecture, size and test metric; :meth:`bench.tracking.store.Tracker.show_in_runs_table`)."""
    return f"{base}/#/experiments/{experiment_id}/runs?viewStateShareKey={RUNS_VIEW}&{MODEL_TRAINING}"


def home_url(base: str) -> str:
    """The UI's list of experiments, in the model-training view."""
    return f"{base}/#/experiments?{MODEL_TRAINING}"


def experiment_urls(base: str, tracking_uri: str | None = None) -> list[tuple[str, str]]:
    """(name, runs table URL) of every experiment that has runs, by name."""
    client = Tracker(tracking_uri).client
    found = []
    for experiment in client.search_experiments():
        if client.search_runs([experiment.experiment_id], max_results=1):
            found.append((experiment.name, runs_url(base, experiment.experiment_id)))
    return sorted(found)


def start(port: int = 0, tracking_uri: str | None = None) -> tuple[subprocess.Popen[str], str]:
    """Start the server and return it with its URL once the UI answers (within 120 s)."""

    uri = tracking_uri or default_tracking_uri()
    if not Tracker.exists(uri):
        raise UsageError(f"no tracking store at {uri} yet; start a run with `bench run` (or pass --tracking-uri)")
    Tracker(uri)  # checks that the store opens (one-line error otherwise)
    if port < 0 or port > 65535:
        raise UsageError(f"--port {port}: give a port number 1-65535 (or 0 for a free one)")
    port = port or free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri, "--host", HOST,
               "--port", str(port), "--workers", "1"]
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    # MLflow 3 also starts a pool of job-runner processes (GenAI jobs): nothing here uses them.
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                               start_new_session=True)
    url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise RunFailed(f"the MLflow UI did not start (exit code {process.returncode}): {output.strip()[-500:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    stop(process)
    raise RunFailed(f"the MLflow UI did not answer at {url} within 120 s")


def stop(process: subprocess.Popen[str], timeout: float = 15.0) -> None:
    """Stop the server and the workers it started (its own process group)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def serve(port: int = 0, tracking_uri: str | None = None) -> int:
    """``bench ui``: start, print the URL, and run until Ctrl-C, SIGTERM or the server exits; the
    server (in its own process group) is always stopped with it."""

    process, url = start(port, tracking_uri)

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, terminate) for sig in (signal.SIGTERM, signal.SIGHUP)}
    print(f"MLflow UI on {tracking_uri or default_tracking_uri()}: {home_url(url)}  (Ctrl-C to stop)", flush=True)
    try:
        for name, address in experiment_urls(url, tracking_uri):
            print(f"  {name}: {address}", flush=True)
        if process.stdout is not None:
            for _ in process.stdout:  # drain the server's log so it never blocks on a full pipe
                pass
        process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop(process)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if process.returncode == 0 else 1

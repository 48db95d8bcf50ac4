"""A tracking server's outage is waited out, with one line when it starts and one when it ends;
every other error is raised at once. (The real server killed mid-sweep: test_many_machines.py.)"""
import pytest
import requests
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import TEMPORARILY_UNAVAILABLE

from bench.tracking import outages
from bench.tracking.outages import PatientClient, TrackingUnavailable, is_outage

REFUSED = MlflowException(
    "API request to http://127.0.0.1:5077/api/2.0/mlflow/runs/log-batch failed with exception "
    "HTTPConnectionPool(host='127.0.0.1', port=5077): Max retries exceeded with url: /api/2.0/mlflow/runs/log-batch "
    "(Caused by NewConnectionError('Failed to establish a new connection: [Errno 111] Connection refused'))")


class FlakyServer:
    """An MlflowClient stand-in whose ``log_batch`` fails ``down_for`` times before it answers."""

    def __init__(self, down_for, error=REFUSED):
        self.down_for, self.error, self.calls = down_for, error, 0
        self.tracking_uri = "http://127.0.0.1:5077"

    def log_batch(self, run_id, metrics=()):
        self.calls += 1
        if self.calls <= self.down_for:
            raise self.error
        return f"logged {len(metrics)} to {run_id}"


@pytest.fixture
def slept(monkeypatch):
    pauses = []
    monkeypatch.setattr(outages.time, "sleep", pauses.append)
    return pauses


@pytest.mark.parametrize("error, outage", [
    (REFUSED, True),
    (MlflowException("API request to http://h:5000/api/2.0/mlflow/runs/get failed with exception HTTPConnectionPool("
                     "host='h', port=5000): Max retries exceeded (Caused by ResponseError('too many 503 error "
                     "responses'))"), True),
    (MlflowException("API request to http://h:5000/api/2.0/mlflow/runs/get failed with exception HTTPConnectionPool("
                     "host='h', port=5000): Max retries exceeded (Caused by ResponseError('too many 500 error "
                     "responses'))"), False),  # the server is up and failing: its error is raised at once
    (MlflowException("the server is restarting", error_code=TEMPORARILY_UNAVAILABLE), True),
    (requests.exceptions.ConnectionError("connection reset by peer"), True),
    (MlflowException("Run 'abc' not found", error_code="RESOURCE_DOES_NOT_EXIST"), False),
    (MlflowException("Invalid value 'x' for parameter 'lr'", error_code="INVALID_PARAMETER_VALUE"), False),
    (ValueError("not a float"), False),
])
def test_only_errors_that_say_no_server_answered_are_outages(error, outage):
    assert is_outage(error) is outage


def test_a_call_during_an_outage_waits_with_growing_pauses_and_says_so_once_each_way(slept):
    said = []
    server = FlakyServer(down_for=5)
    client = PatientClient(server, server.tracking_uri, patience=120, notify=said.append)
    assert client.log_batch("run1", metrics=[1, 2]) == "logged 2 to run1"
    assert server.calls == 6 and slept == [1, 2, 4, 8, 15]
    assert len(said) == 2
    assert said[0] == "tracking server http://127.0.0.1:5077 unreachable; retrying for up to 120 s"
    assert said[1].startswith("tracking server http://127.0.0.1:5077 back after")


def test_an_error_that_is_not_an_outage_is_raised_at_once(slept):
    server = FlakyServer(down_for=1, error=MlflowException("Run 'abc' not found", error_code="RESOURCE_DOES_NOT_EXIST"))
    with pytest.raises(MlflowException, match="not found"):
        PatientClient(server, server.tracking_uri, patience=120, notify=print).log_batch("abc")
    assert server.calls == 1 and slept == []


def test_an_outage_longer_than_the_patience_fails_the_call_then_every_later_one_at_once(monkeypatch):
    """One outage clock for all calls: a trial's calls do not each wait the patience in full."""
    clock = iter(range(0, 1000, 7))  # each look at the clock is 7 s later
    monkeypatch.setattr(outages.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(outages.time, "sleep", lambda seconds: None)
    said = []
    server = FlakyServer(down_for=10**6)
    client = PatientClient(server, server.tracking_uri, patience=30, notify=said.append)
    with pytest.raises(TrackingUnavailable) as raised:
        client.log_batch("run1")
    assert str(raised.value) == ("tracking server http://127.0.0.1:5077 unreachable for 35 s (Failed to establish a "
                                 "new connection); start it again, or raise RNNBENCH_TRACKING_PATIENCE (seconds)")
    assert "\n" not in str(raised.value)
    calls = server.calls
    with pytest.raises(TrackingUnavailable):
        client.log_batch("run1")
    assert server.calls == calls + 1 and len(said) == 1  # one try, no second wait, no second notice


def test_an_outage_that_ends_in_a_real_error_raises_that_error(slept):
    class RestartedWithoutTheRun(FlakyServer):
        def log_batch(self, run_id, metrics=()):
            if self.calls >= 2:
                self.calls += 1
                raise MlflowException(f"Run '{run_id}' not found", error_code="RESOURCE_DOES_NOT_EXIST")
            return super().log_batch(run_id, metrics)

    server = RestartedWithoutTheRun(down_for=2)
    with pytest.raises(MlflowException, match="not found"):
        PatientClient(server, server.tracking_uri, patience=120, notify=lambda line: None).log_batch("run1")
    assert server.calls == 3 and slept == [1, 2]


def test_patience_zero_fails_at_once_and_the_environment_sets_it(monkeypatch, slept):
    server = FlakyServer(down_for=1)
    with pytest.raises(MlflowException):
        PatientClient(server, server.tracking_uri, patience=0).log_batch("run1")
    assert slept == []
    monkeypatch.setenv("RNNBENCH_TRACKING_PATIENCE", "45")
    assert outages.patience_seconds() == 45
    monkeypatch.setenv("RNNBENCH_TRACKING_PATIENCE", "soon")
    assert outages.patience_seconds() == outages.DEFAULT_PATIENCE


def test_a_server_that_asks_for_a_login_says_which_variables_give_it_at_once():
    """MLflow's basic auth (`mlflow server --app-name basic-auth`) answers 401 without credentials:
    not an outage to wait out, and not "start the server"."""
    import http.server
    import threading
    import time

    from bench.core.errors import UsageError
    from bench.tracking.store import Tracker

    class Refusing(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="mlflow"')
            self.end_headers()
            self.wfile.write(b"You are not authenticated.")

        do_POST = do_GET  # noqa: N815

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        start = time.monotonic()
        with pytest.raises(UsageError) as error:
            Tracker(f"http://127.0.0.1:{server.server_port}")
        assert "refused the login (HTTP 401)" in str(error.value)
        assert "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD" in str(error.value)
        assert time.monotonic() - start < 30
    finally:
        server.shutdown()

"""Property-based: whatever a user types — option values of any type, any YAML document — the CLI
either runs or answers one line with exit code 2 (1 for a run that fails, e.g. a NaN loss); never a
traceback, never a run left RUNNING in MLflow."""
from __future__ import annotations

import contextlib
import io

import mlflow
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.cli import main
from bench.core.options import fields_of
from bench.core.registry import ARCHITECTURES, TASKS

# Mostly real names, so that most examples get past the name check and exercise the values.
TASK_NAMES = ["parity", "copy", "addition", "program", "parity", "copy", "addition", "program", "parityy"]
ARCH_NAMES = ["vanilla", "lstm", "gru", "irnn", "residual", "attention", "ntm", "gru", "lstm", "GRU"]
FLAGS = ["--lr", "--hidden-size", "--num-layers", "--dropout", "--batch-size", "--max-steps", "--eval-every",
         "--seed", "--params", "--optimizer", "--momentum", "--clip-grad-norm", "--device", "--compile"]

plausible = st.one_of(st.integers(0, 12), st.integers(0, 12), st.floats(0, 2), st.sampled_from(
    ["adam", "sgd", "cpu", "auto", "off", "all", "final", "memory", "ntm", "binary", "adding", "memorize",
     "naive", "mix", "true", "[8, 16]"]))
junk = st.one_of(st.none(), st.booleans(), st.integers(-10**9, 10**9), st.floats(allow_nan=True),
                 st.text(max_size=8), st.lists(st.integers(-5, 50), max_size=3))
scalars = st.one_of(plausible, plausible, plausible, junk)


def as_text(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def cli(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, err.getvalue()


def assert_clean(code: int, err: str) -> None:
    assert code in (0, 2), (code, err)
    if code == 2:
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


def own_keys(task: str, arch: str) -> list[str]:
    """The options the chosen task and architecture declare (plus a stranger), so most draws reach the values."""
    keys = {"foo", "task.length"}
    for registry, name in ((TASKS, task), (ARCHITECTURES, arch)):
        if name in registry.names():
            keys |= {f.name for f, _ in fields_of(registry.get(name).Options)}
    return sorted(keys)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), task=st.sampled_from(TASK_NAMES), arch=st.sampled_from(ARCH_NAMES))
def test_any_flags_and_options_resolve_or_are_one_line_usage_errors(data, task, arch, isolated_store):
    options = data.draw(st.dictionaries(st.sampled_from(own_keys(task, arch)), scalars, max_size=2))
    flags = data.draw(st.dictionaries(st.sampled_from(FLAGS), scalars, max_size=2))
    argv = ["run", "--task", task, "--arch", arch, "--dry-run"]
    argv += [f"--opt={key}={as_text(value)}" for key, value in options.items()]
    argv += [f"{flag}={as_text(value)}" for flag, value in flags.items()]
    assert_clean(*cli(argv))


documents = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(["task", "model", "train", "name", "arch", "lr", "length", "hidden_size",
                                     "max_steps", "options", "variant"]), inner, max_size=4)), max_leaves=12)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=st.one_of(documents, st.text(max_size=40)))
def test_any_yaml_document_resolves_or_is_a_one_line_usage_error(document, tmp_path, isolated_store):
    path = tmp_path / "config.yaml"
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document))
    assert_clean(*cli(["run", "--config", str(path), "--dry-run"]))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(task=st.sampled_from(["parity", "copy", "addition"]), arch=st.sampled_from(["gru", "vanilla", "irnn"]),
       lr=st.one_of(st.floats(1e-4, 1e30), st.sampled_from([0.0, -1.0, float("inf")])),
       hidden=st.integers(-2, 12), steps=st.integers(0, 3))
def test_real_runs_end_finished_or_failed_never_running(task, arch, lr, hidden, steps, isolated_store):
    code, err = cli(["run", "--task", task, "--arch", arch, "--lr", repr(lr), "--hidden-size", str(hidden),
                     "--max-steps", str(steps), "--eval-every", "1", "--eval-size", "16", "--log-every", "1",
                     "--optimizer", "sgd", "--clip-grad-norm", "0", "--threads", "1", "--no-progress"])
    if code == 1:  # a run that started and failed (e.g. a NaN loss) says so in one line
        assert err.strip().startswith("bench: run failed:") and len(err.strip().splitlines()) == 1, err
    else:
        assert_clean(code, err)
    client = mlflow.tracking.MlflowClient(f"sqlite:///{isolated_store}/mlflow.db")
    experiments = [e.experiment_id for e in client.search_experiments()] if (isolated_store / "mlflow.db").exists() else []
    if experiments:
        assert "RUNNING" not in {r.info.status for r in client.search_runs(experiments)}

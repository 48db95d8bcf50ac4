"""The run config resolves defaults < task recommendations < YAML < command line, and round-trips."""
import pytest

from bench.core.config import RunConfig, load_yaml
from bench.core.errors import UsageError
from bench.core.registry import TASKS
from bench.core.resolve import resolve


def test_defaults_are_complete_with_every_plugin_option():
    config = resolve()
    assert config.task.name == "parity" and config.model.arch == "gru"
    assert set(config.plugin_options("task")) >= {"length", "score", "eval_lengths"}


def test_precedence_task_recommendation_then_yaml_then_command_line():
    parity = TASKS.get("parity")
    recommended_steps = parity.recommended["train.max_steps"]
    assert resolve().train.max_steps == recommended_steps
    assert resolve({"train": {"max_steps": 77}}).train.max_steps == 77
    assert resolve({"train": {"max_steps": 77}}, {"train": {"max_steps": 5}}).train.max_steps == 5


def test_plugin_options_inline_in_yaml_and_routed_from_opt():
    config = resolve({"task": {"length": 12}, "model": {"arch": "lstm", "forget_bias": 2.0}},
                     plugin_options={"score": "all"})
    assert config.task.options.length == 12
    assert config.task.options.score == "all"
    assert config.model.options.forget_bias == 2.0


def test_opt_for_nobody_names_who_was_asked():
    with pytest.raises(UsageError, match="neither task 'parity' nor architecture 'gru' has this option"):
        resolve(plugin_options={"forget_bias": 2.0})


def test_resolved_yaml_resolves_to_the_same_config(tmp_path):
    config = resolve({"model": {"arch": "lstm"}}, {"train": {"seed": 4}}, {"length": 6, "score": "all"})
    path = tmp_path / "config.yaml"
    path.write_text(config.to_yaml())
    assert resolve(load_yaml(path)) == config


def test_bidirectional_is_refused_on_a_causal_task():
    with pytest.raises(UsageError, match="causal"):
        resolve(overrides={"model": {"bidirectional": True}})


@pytest.mark.parametrize("text, message", [
    ("task: [unclosed", "not valid YAML"),
    ("- a\n- b", "must be a mapping"),
    ("tasks: {name: parity}", "unknown section 'tasks'"),
    ("train: 5", "must be a mapping"),
    ("train: {hidden_size: 3}", "unknown train option 'hidden_size'"),
])
def test_malformed_config_files_are_usage_errors(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as info:
        resolve(load_yaml(path))
    assert message in str(info.value)


def test_flat_params_name_their_section():
    flat = resolve().flat()
    assert flat["model.arch"] == "gru" and "train.lr" in flat and "task.length" in flat
    assert isinstance(RunConfig().to_dict()["train"], dict)


def test_the_config_holds_the_plugins_options_that_the_task_and_architecture_receive():
    """Options are built and checked once, in resolve: the task and the architecture get those very
    instances (no dict to rebuild them from), and the YAML and MLflow params are their plain values."""
    from bench.core.network import build_architecture, build_task

    config = resolve({"task": {"name": "parity", "length": 7}, "model": {"arch": "lstm", "forget_bias": 2.0}})
    task = build_task(config)
    assert task.options is config.task.options
    assert build_architecture(task, config.model).options is config.model.options
    assert config.to_dict()["task"]["length"] == 7 and config.flat()["model.forget_bias"] == 2.0
    assert resolve(config.to_dict()) == config

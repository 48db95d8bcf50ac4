"""Search spaces: the default, refined by the architecture, the task and a YAML file; validated."""
from __future__ import annotations

import optuna
import pytest

from bench.core.errors import UsageError
from bench.core.registry import ARCHITECTURES, TASKS
from bench.sweep.search_space import DEFAULT_SPACE, as_overrides, build_space, check_spec, load_space_file, suggest

PARITY = TASKS.get("parity")


def test_every_architecture_gets_the_default_space_plus_its_own_keys():
    gru = build_space(PARITY, ARCHITECTURES.get("gru"), 0)
    assert set(gru) == set(DEFAULT_SPACE)
    lstm = build_space(PARITY, ARCHITECTURES.get("lstm"), 0)
    assert set(lstm) == set(DEFAULT_SPACE) | {"model.forget_bias"}


def test_an_architecture_can_narrow_a_default_range():
    irnn = build_space(PARITY, ARCHITECTURES.get("irnn"), 0)
    assert irnn["train.lr"]["high"] < DEFAULT_SPACE["train.lr"]["high"]


def test_a_parameter_budget_fixes_the_hidden_size_so_it_is_not_searched():
    assert "model.hidden_size" not in build_space(PARITY, ARCHITECTURES.get("gru"), 20000)


def test_a_yaml_file_overrides_and_drops_keys(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("train.lr: {type: float, low: 0.001, high: 0.01, log: true}\n"
                    "train.optimizer: null\nmodel.num_layers: {type: int, low: 1, high: 3}\n")
    space = build_space(PARITY, ARCHITECTURES.get("gru"), 0, load_space_file(path))
    assert space["train.lr"]["low"] == 0.001
    assert "train.optimizer" not in space
    assert space["model.num_layers"] == {"type": "int", "low": 1, "high": 3}


@pytest.mark.parametrize("key, spec, message", [
    ("lr", {"type": "float", "low": 1, "high": 2}, "section.key"),
    ("train.lr", {"type": "uniform", "low": 1, "high": 2}, "type float, int or categorical"),
    ("train.lr", {"type": "float", "low": 2, "high": 1}, "low <= high"),
    ("train.lr", {"type": "float", "low": 0, "high": 1, "log": True}, "log scale needs low > 0"),
    ("train.optimizer", {"type": "categorical", "choices": []}, "non-empty list"),
    ("train.lr", {"type": "float", "low": 1, "high": 2, "base": 10}, "unknown field"),
])
def test_impossible_specs_are_usage_errors(key, spec, message):
    with pytest.raises(UsageError, match=message):
        check_spec(key, spec)


def test_suggest_draws_every_key_and_returns_config_overrides():
    space = build_space(PARITY, ARCHITECTURES.get("lstm"), 0)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    values = suggest(study.ask(), space)
    assert set(values) == set(space)
    assert 1e-4 <= values["train.lr"] <= 3e-2
    assert 16 <= values["model.hidden_size"] <= 256
    overrides = as_overrides(values)
    assert overrides["model"]["forget_bias"] == values["model.forget_bias"]
    assert overrides["train"]["optimizer"] in ("adam", "rmsprop")

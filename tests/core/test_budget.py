"""--params N: every architecture lands within ±5% of any budget from 5k to 1M, on every task."""
import pytest

from bench.core.budget import match_budget, parameter_count
from bench.core.errors import UsageError
from bench.core.network import build_task
from bench.core.registry import ARCHITECTURES, TASKS
from bench.core.resolve import resolve

BUDGETS = [5_000, 20_000, 100_000, 1_000_000]
VARIANTS = {"copy": [{"variant": "memory"}, {"variant": "ntm"}], "addition": [{"variant": "binary"}, {"variant": "adding"}]}


def tasks():
    for name in TASKS.names():
        for options in VARIANTS.get(name, [{}]):
            yield name, options


@pytest.mark.parametrize("arch", ARCHITECTURES.names())
@pytest.mark.parametrize("task_name, options", list(tasks()), ids=lambda v: str(v))
def test_every_budget_is_met_within_five_percent(task_name, options, arch, tmp_path):
    config = resolve({"task": {"name": task_name, **TASKS.get(task_name).example_options(tmp_path)}, "model": {"arch": arch}},
                     plugin_options=options)
    task = build_task(config)
    for budget in BUDGETS:
        model, count = match_budget(task, config.model, budget)
        assert abs(count - budget) <= 0.05 * budget, (budget, model, count)
        assert parameter_count(task, model) == count


def test_the_chosen_hidden_size_is_what_the_resolved_config_runs():
    config = resolve({"model": {"arch": "lstm", "params": 20_000}})
    assert config.model.params == 20_000
    assert abs(parameter_count(build_task(config), config.model) - 20_000) <= 1_000


def test_an_impossible_budget_is_a_usage_error():
    with pytest.raises(UsageError, match="smallest"):
        resolve({"model": {"arch": "ntm", "params": 50}})

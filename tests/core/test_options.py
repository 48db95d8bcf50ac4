"""Options are typed: values are coerced from YAML/CLI text, checked, and errors say what to do."""
import dataclasses
from typing import Literal

import pytest

from bench.core.errors import UsageError
from bench.core.options import build, describe, option, parse_scalar


@dataclasses.dataclass
class Knobs:
    length: int = option(8, "bits", min=1)
    rate: float = option(0.1, "a rate", above=0.0, below=1.0)
    mode: Literal["all", "final"] = option("all", "what to score")
    flag: bool = option(False, "a switch")
    sizes: tuple[int, ...] = option((), "lengths", min=1)


def test_defaults_fill_what_is_not_given():
    assert build(Knobs, {}, "task option") == Knobs()


def test_command_line_text_is_read_like_yaml():
    values = {k: parse_scalar(v) for k, v in {"length": "16", "rate": "1e-3", "flag": "true", "sizes": "[16, 32]"}.items()}
    knobs = build(Knobs, values, "task option")
    assert (knobs.length, knobs.rate, knobs.flag, knobs.sizes) == (16, 1e-3, True, (16, 32))


def test_on_and_off_are_words_not_booleans():
    assert parse_scalar("on") == "on" and parse_scalar("off") == "off" and parse_scalar("yes") == "yes"
    assert parse_scalar("true") is True and parse_scalar("false") is False


@pytest.mark.parametrize("values, message", [
    ({"length": -3}, "'length' must be >= 1"),
    ({"length": "abc"}, "'length' must be int"),
    ({"length": 2.5}, "'length' must be int"),
    ({"rate": 1.0}, "'rate' must be < 1.0"),
    ({"rate": float("nan")}, "finite"),
    ({"mode": "finl"}, "did you mean 'final'"),
    ({"flag": "yes please"}, "use true or false"),
    ({"lenght": 3}, "unknown task option 'lenght' (did you mean 'length'?)"),
    ({"sizes": [0]}, "must be >= 1"),
])
def test_bad_values_raise_one_clear_usage_error(values, message):
    with pytest.raises(UsageError, match=None) as info:
        build(Knobs, values, "task option")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_describe_lists_every_option_with_default_and_help():
    rows = {name: (default, help_text) for name, _, default, help_text in describe(Knobs)}
    assert rows["length"] == (8, "bits")
    assert set(rows) == {"length", "rate", "mode", "flag", "sizes"}

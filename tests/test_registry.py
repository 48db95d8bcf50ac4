"""Plugins register themselves by file; unknown names fail with the closest matches."""
import sys
import textwrap

import pytest

from bench.errors import UsageError
from bench.registry import ARCHITECTURES, TASKS, Registry


def test_the_foundation_plugins_are_registered():
    assert {"parity", "copy", "addition"} <= set(TASKS.names())
    assert {"vanilla", "lstm", "gru", "irnn"} <= set(ARCHITECTURES.names())


@pytest.mark.parametrize("registry, name, suggestion", [
    (TASKS, "parityy", "'parity'"), (ARCHITECTURES, "lstn", "'lstm'"), (ARCHITECTURES, "gur", "'gru'"),
])
def test_unknown_name_suggests_the_closest(registry, name, suggestion):
    with pytest.raises(UsageError, match=f"did you mean {suggestion}"):
        registry.get(name)


def test_adding_a_plugin_is_adding_one_file(tmp_path, monkeypatch):
    package = tmp_path / "myplugins"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "_helper.py").write_text("raise RuntimeError('helpers are not plugins')")
    registry = Registry("task", "myplugins")
    monkeypatch.setitem(sys.modules, "plugin_registry", registry)
    (package / "echo.py").write_text(textwrap.dedent("""
        import plugin_registry
        @plugin_registry.register("echo")
        class Echo:
            pass
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert registry.names() == ["echo"]
    assert registry.get("echo").name == "echo"

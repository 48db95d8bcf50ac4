"""Plugins register themselves by file; unknown names fail with the closest matches."""
import sys
import textwrap

import pytest

from bench.core.errors import UsageError
from bench.core.registry import ARCHITECTURES, TASKS, Registry


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


@pytest.mark.parametrize("registry", [TASKS, ARCHITECTURES], ids=lambda r: r.kind)
def test_summaries_read_from_source_match_the_imported_classes(registry):
    assert registry.summaries() == {name: registry.get(name).summary() for name in registry.names()}


def test_bench_list_does_not_import_torch():
    """`bench list` reads the plugins' source: importing torch would cost it ~2 s (it should answer in well under 1 s)."""
    import subprocess

    code = ("import sys, io, contextlib; from bench.cli import main; "
            "out = io.StringIO(); contextlib.redirect_stdout(out).__enter__(); code = main(['list']); "
            "sys.stdout = sys.__stdout__; print(code, 'torch' in sys.modules, 'parity' in out.getvalue())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["0", "False", "True"]


def test_the_harness_names_no_task_or_architecture_outside_the_registry():
    """A plugin's knowledge (its published numbers, colour, what it records) lives in its own file:
    no task or architecture name appears as a string in ``bench/`` but for the registry's defaults."""
    import ast
    from pathlib import Path

    import bench

    names = set(TASKS.names()) | set(ARCHITECTURES.names())
    root = Path(bench.__file__).parent
    found = [f"{path.relative_to(root)}:{node.lineno}: {node.value!r}"
             for path in sorted(root.rglob("*.py")) if path.name != "registry.py"
             for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Constant) and node.value in names]
    assert not found, found


@pytest.mark.parametrize("registry", [TASKS, ARCHITECTURES], ids=lambda r: r.kind)
def test_every_plugin_describes_itself_beyond_its_one_line(registry):
    """`bench list NAME` is where a plugin's detail lives (the README only points to it), so each
    plugin's file says more than its summary: what it is, its data or variants, what it measures."""
    for name in registry.names():
        cls = registry.get(name)
        extra = cls.description().replace(cls.summary(), "")
        assert len(extra.split()) >= 25, f"{registry.kind} {name}: its docstring says too little for `bench list {name}`"


def test_a_plugin_names_its_options_once_as_its_base_type_argument():
    """`class Parity(SyntheticTask[ParityOptions])` types `self.options` for mypy and is what
    `--opt`, the YAML and `bench list` read; a plugin without its own options keeps its base's."""
    from bench.core.architecture import ScanOptions
    from bench.core.options import NoOptions

    assert TASKS.get("parity").Options.__name__ == "ParityOptions"
    assert ARCHITECTURES.get("lstm").Options.__name__ == "LSTMOptions"
    assert ARCHITECTURES.get("gru").Options is NoOptions
    assert ARCHITECTURES.get("mingru").Options is ScanOptions
    for registry in (TASKS, ARCHITECTURES):
        for name in registry.names():
            cls = registry.get(name)
            bases = [b for b in cls.__dict__.get("__orig_bases__", ()) if getattr(b, "__args__", None)]
            if bases:
                assert cls.Options is bases[0].__args__[0], name

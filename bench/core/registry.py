"""Name → class registries for tasks, architectures and studies.

A plugin registers itself in its own file with a decorator::

    @register_task("parity")
    class Parity(SyntheticTask[ParityOptions]): ...

The registry imports every public module of the ``tasks``, ``architectures`` and ``studies``
packages the first time a name is looked up, so adding one is adding one file: no list to edit.
"""
from __future__ import annotations

import ast
import difflib
import importlib
import importlib.util
import inspect
import pkgutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Generic, Protocol, TypeVar

from bench.core.errors import UsageError

if TYPE_CHECKING:  # the plugin bases import torch: not at start-up, which `bench list` needs fast
    from bench.core.architecture import Architecture
    from bench.core.study import Study
    from bench.core.task import Task


class Plugin(Protocol):
    """What the registry needs of a plugin class: a name it sets, and a one-line summary."""

    name: ClassVar[str]

    @classmethod
    def summary(cls) -> str: ...


class Described:
    """A plugin base's ``summary``: the first line of the class's own docstring (a subclass without
    one has none: docstrings are not inherited, so a plugin never shows its base's line)."""

    @classmethod
    def summary(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    @classmethod
    def description(cls) -> str:
        """The long description ``bench list NAME`` prints: the plugin file's module docstring (where
        a plugin explains its data, variants and metrics once), then the class docstring's other lines."""
        module = sys.modules.get(cls.__module__)
        parts = [inspect.cleandoc(module.__doc__ or "") if module else ""]
        parts.append("\n".join(inspect.cleandoc(cls.__doc__ or "").splitlines()[1:]).strip())
        return "\n\n".join(part for part in parts if part)


P = TypeVar("P", bound=Plugin)


class Registry(Generic[P]):
    """Classes of one kind ("task", "architecture"), found by importing one package's modules."""

    def __init__(self, kind: str, package: str) -> None:
        self.kind = kind
        self.package = package
        self._classes: dict[str, type[P]] = {}
        self._loaded = False

    def register(self, name: str) -> Callable[[type[P]], type[P]]:
        """Class decorator: make ``cls`` available as ``name`` and set ``cls.name``."""

        def decorate(cls: type[P]) -> type[P]:
            existing = self._classes.get(name)
            if existing is not None and existing.__qualname__ != cls.__qualname__:
                raise RuntimeError(f"{self.kind} {name!r} is registered twice: {existing} and {cls}")
            cls.name = name
            self._classes[name] = cls
            return cls

        return decorate

    def load(self) -> None:
        """Import every module of the plugin package (names starting with ``_`` are helpers)."""
        if self._loaded:
            return
        package = importlib.import_module(self.package)
        for module in pkgutil.iter_modules(package.__path__):
            if not module.name.startswith("_"):
                importlib.import_module(f"{self.package}.{module.name}")
        self._loaded = True

    def summaries(self) -> dict[str, str]:
        """Name → one-line summary of every plugin, read from the plugin files' source without
        importing them: importing the plugins imports torch (~2 s), too slow for ``bench list``.

        A plugin whose registration is not a literal ``@...register...("name")`` decorator on a
        class is found by importing the package instead, as :meth:`names` does.
        """
        if not self._loaded:
            spec = importlib.util.find_spec(self.package)
            found: dict[str, str] | None = {}
            for module in pkgutil.iter_modules(spec.submodule_search_locations if spec else []):
                if module.name.startswith("_") or found is None:
                    continue
                path = Path(module.module_finder.path) / f"{module.name}.py"  # type: ignore[union-attr]
                found = _registered_in(path, self.kind, found)
            if found is not None:
                return dict(sorted(found.items()))
        return {name: self.get(name).summary() for name in self.names()}

    def names(self) -> list[str]:
        self.load()
        return sorted(self._classes)

    def get(self, name: str) -> type[P]:
        """The class registered as ``name``; a UsageError naming the closest matches otherwise."""
        self.load()
        if name in self._classes:
            return self._classes[name]
        close = difflib.get_close_matches(name, list(self._classes), n=3, cutoff=0.5)
        listing = "`bench study list`" if self.kind == "study" else "`bench list`"
        hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else f"see {listing}"
        raise UsageError(
            f"unknown {self.kind} {name!r} ({hint}); registered: {', '.join(self.names())}"
        )


def _registered_in(path: Path, kind: str, found: dict[str, str]) -> dict[str, str] | None:
    """Add the ``name → summary`` of each class registered as a ``kind`` in ``path`` to ``found``
    (decorated ``@register_KIND("name")``); None if the file cannot be read that way (then the
    caller imports the plugins)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    registered = 0
    for node in tree.body:  # plugins register module-level classes; anything else falls back to importing
        if not isinstance(node, ast.ClassDef):
            continue
        for decorator in node.decorator_list:
            if (isinstance(decorator, ast.Call) and ast.unparse(decorator.func).endswith(f"register_{kind}")
                    and decorator.args and isinstance(decorator.args[0], ast.Constant)
                    and isinstance(decorator.args[0].value, str)):
                doc = ast.get_docstring(node) or ""
                found[decorator.args[0].value] = doc.strip().splitlines()[0] if doc.strip() else ""
                registered += 1
    if not registered and "register" in path.read_text(encoding="utf-8"):
        return None  # registers some other way
    return found


DEFAULT_TASK, DEFAULT_ARCH = "parity", "gru"
"""What ``bench run`` runs when told nothing: the smallest task any architecture learns, and the
architecture Chung et al. 2014 recommend. The only plugin names the harness holds."""

TASKS: Registry[Task] = Registry("task", "tasks")
ARCHITECTURES: Registry[Architecture] = Registry("architecture", "architectures")
STUDIES: Registry[Study] = Registry("study", "studies")

register_task = TASKS.register
register_architecture = ARCHITECTURES.register
register_study = STUDIES.register

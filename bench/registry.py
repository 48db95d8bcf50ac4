"""Name → class registries for tasks and architectures.

A plugin registers itself in its own file with a decorator::

    @register_task("parity")
    class Parity(SyntheticTask): ...

The registry imports every public module of the ``tasks`` and ``architectures`` packages the first
time a name is looked up, so adding a task or an architecture is adding one file: no list to edit.
"""
from __future__ import annotations

import difflib
import importlib
import pkgutil
from typing import Callable, Generic, TypeVar

from bench.errors import UsageError

T = TypeVar("T", bound=type)


class Registry(Generic[T]):
    """Classes of one kind ("task", "architecture"), found by importing one package's modules."""

    def __init__(self, kind: str, package: str) -> None:
        self.kind = kind
        self.package = package
        self._classes: dict[str, T] = {}
        self._loaded = False

    def register(self, name: str) -> Callable[[T], T]:
        """Class decorator: make ``cls`` available as ``name`` and set ``cls.name``."""

        def decorate(cls: T) -> T:
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

    def names(self) -> list[str]:
        self.load()
        return sorted(self._classes)

    def get(self, name: str) -> T:
        """The class registered as ``name``; a UsageError naming the closest matches otherwise."""
        self.load()
        if name in self._classes:
            return self._classes[name]
        close = difflib.get_close_matches(name, list(self._classes), n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else "see `bench list`"
        raise UsageError(
            f"unknown {self.kind} {name!r} ({hint}); registered: {', '.join(self.names())}"
        )


TASKS: Registry = Registry("task", "tasks")
ARCHITECTURES: Registry = Registry("architecture", "architectures")

register_task = TASKS.register
register_architecture = ARCHITECTURES.register

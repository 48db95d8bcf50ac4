"""``bench list [NAME]``: the registered tasks and architectures, or one of them in full.

Kept beside :mod:`bench.cli.main` (which adds this parser and command). The plain list reads the
plugins' summaries without importing torch, so that it answers at once.
"""
from __future__ import annotations

import argparse
import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.cli.report import Subcommands


def add_list_parser(sub: Subcommands) -> None:
    lst = sub.add_parser("list", help="registered tasks and architectures (or one in full)",
                         description="List registered tasks and architectures, one line each; with NAME, that "
                                     "task's or architecture's description (its file's docstring) and options.")
    lst.add_argument("name", nargs="?", help="a task or architecture name")


def cmd_list(args: argparse.Namespace) -> int:
    from bench.core.options import describe
    from bench.core.registry import ARCHITECTURES, TASKS

    if args.name:
        registry = TASKS if args.name in TASKS.names() else ARCHITECTURES
        cls = registry.get(args.name)
        print(f"{registry.kind} {cls.name}: {cls.summary()}")
        if description := cls.description():
            print(textwrap.indent(description, "  "))
        rows = describe(cls.Options)
        print("\n  options:" if rows else "\n  (no options)")
        for name, type_name, default, help_text in rows:
            print(f"  --opt {name}=  {type_name}, default {default!r}: {help_text}")
        return 0
    summaries = {registry.kind: registry.summaries() for registry in (TASKS, ARCHITECTURES)}  # no torch import
    width = max(len(name) for found in summaries.values() for name in found)
    for kind, found in summaries.items():
        print(f"{kind}s:")
        for name, summary in found.items():
            print(f"  {name:<{width}} {summary}")
    return 0

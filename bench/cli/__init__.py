"""The ``bench`` command: argument parsing and one function per subcommand.

Only the standard library and the option declarations are imported at start-up, so ``bench --help``
and ``bench list`` answer at once; each command imports what it needs when it runs.
"""
from bench.cli.main import main

__all__ = ["main"]

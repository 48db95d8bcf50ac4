"""The programs of Learning to Execute (Zaremba & Sutskever 2014): generated, checked and executed.

Pure Python (no torch); :mod:`tasks.program` turns the programs into batches. The generator follows
the authors' code (``data.lua``, ``utils/operations.lua``). A program of difficulty (``length``,
``nesting``) composes ``nesting`` operations, each drawn uniformly from

* ``equality`` — an operand as it is: ``print(37)``;
* ``pair``     — addition or subtraction: ``(37+52)``, ``(37-52)``;
* ``smallmul`` — multiplication with a small operand k, uniform in [1, 4·length]: ``(37*5)``;
* ``vars``     — variable assignment: ``e=37`` then ``(e+52)``;
* ``loop``     — a for-loop with a small range k (uniform in [1, 4·length]): ``e=37`` then
  ``for x in range(5):e+=52`` (one statement in the body: loops never nest);
* ``ifexp``    — an if-else expression: ``(52 if 37<64 else 11)`` (``<`` or ``>``).

Each operand is the previous operation's result (at most one; it lands at a random operand position,
as the authors' ``get_operands`` does) or else a fresh constant uniform in [1, 10^length). Variables
are distinct letters a–j in a random order. The program is its statements, one per line, then one
``print`` of the final expression; its target is what that ``print`` writes, followed by ``.``.

Targets come from executing the program text, not from the generator: :func:`execute` parses it,
refuses any construct outside the grammar above (:func:`check_program`), and runs it with no
builtins but ``range`` and a capturing ``print``. :func:`generate` asserts that the two agree.
Splits: ``crc32(text) mod 3`` → train/val/test (the authors hash the text too), so a program
belongs to exactly one split whatever the seed.
"""
from __future__ import annotations

import ast
import dataclasses
import random
import zlib
from functools import lru_cache

OPERATIONS = ("equality", "pair", "smallmul", "vars", "loop", "ifexp")
VARIABLES = "abcdefghij"
LOOP_VARIABLE = "x"
SPLITS = ("train", "val", "test")
MAX_CONSTANT = 10**20  # no constant a generated program holds reaches it (length <= 20 digits)
MAX_RANGE = 80         # 4 * the longest length


class UnsafeProgram(ValueError):
    """Program text outside the grammar of Learning to Execute (so it is never executed)."""


@dataclasses.dataclass(frozen=True)
class Program:
    text: str
    value: int
    """What the generator computed alongside the text (the target comes from executing the text)."""
    operations: tuple[str, ...]


def split_of(text: str) -> str:
    """``train``, ``val`` or ``test``: a stable hash of the text (crc32) mod 3 — never Python's salted ``hash``."""
    return SPLITS[zlib.crc32(text.encode()) % 3]


class _Composer:
    """One program being composed: its statements so far and the previous operation's result."""

    def __init__(self, rng: random.Random, length: int) -> None:
        self.rng, self.length = rng, length
        self.code: list[str] = []
        self.stack: list[tuple[str, int]] = []  # at most one (expression, value)
        self.variables = rng.sample(VARIABLES, len(VARIABLES))

    def operand(self) -> tuple[str, int]:
        if self.stack:
            return self.stack.pop()
        value = self.rng.randrange(1, 10**self.length)
        return str(value), value

    def operands(self, n: int) -> list[tuple[str, int]]:
        drawn = [self.operand() for _ in range(n)]
        self.rng.shuffle(drawn)  # the previous result goes to a random position
        return drawn

    def small(self) -> int:
        return self.rng.randint(1, 4 * self.length)

    def sign(self) -> str:
        return self.rng.choice("+-")

    def equality(self) -> tuple[str, int]:
        return self.operand()

    def pair(self) -> tuple[str, int]:
        (a, x), (b, y) = self.operands(2)
        op = self.sign()
        return f"({a}{op}{b})", x + y if op == "+" else x - y

    def smallmul(self) -> tuple[str, int]:
        a, x = self.operand()
        k = self.small()
        return (f"({a}*{k})" if self.rng.random() < 0.5 else f"({k}*{a})"), x * k

    def vars(self) -> tuple[str, int]:
        variable = self.variables.pop()
        (a, x), (b, y) = self.operands(2)
        op = self.sign()
        self.code.append(f"{variable}={a}")
        return f"({variable}{op}{b})", x + y if op == "+" else x - y

    def loop(self) -> tuple[str, int]:
        variable = self.variables.pop()
        (a, x), (b, y) = self.operands(2)
        k, op = self.small(), self.sign()
        self.code += [f"{variable}={a}", f"for {LOOP_VARIABLE} in range({k}):{variable}{op}={b}"]
        return variable, x + k * y if op == "+" else x - k * y

    def ifexp(self) -> tuple[str, int]:
        (a, w), (b, x), (c, y), (d, z) = self.operands(4)
        op = self.rng.choice("<>")
        chosen = y if (w < x if op == "<" else w > x) else z
        return f"({c} if {a}{op}{b} else {d})", chosen


def compose(rng: random.Random, length: int, nesting: int, operations: tuple[str, ...] = OPERATIONS) -> Program:
    """A random program of the given difficulty; ``operations`` restricts the choice (tests)."""
    composer = _Composer(rng, length)
    used = []
    for _ in range(nesting):
        name = rng.choice(operations)
        used.append(name)
        composer.stack.append(getattr(composer, name)())
    expression, value = composer.stack.pop()
    return Program("\n".join([*composer.code, f"print({expression})"]), value, tuple(used))


def generate(rng: random.Random, length: int, nesting: int) -> tuple[str, str]:
    """``(program text, target)``: the target is what executing the text prints, then ``.``."""
    program = compose(rng, length, nesting)
    return program.text, target_of(program)


def target_of(program: Program) -> str:
    """What executing the program's text prints, then ``.`` (checked against the composer's value)."""
    printed = execute(program.text)
    assert printed == str(program.value), (program.text, printed, program.value)
    return printed + "."


def memorize(rng: random.Random, length: int) -> str:
    """The memorisation task's string: ``length`` random digits."""
    return "".join(rng.choice("0123456789") for _ in range(length))


# -- restricted execution ----------------------------------------------------------------------
_ALLOWED = (ast.Module, ast.Assign, ast.AugAssign, ast.For, ast.Expr, ast.Call, ast.Name, ast.Load, ast.Store,
            ast.Constant, ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.IfExp, ast.Compare, ast.Lt, ast.Gt)


def check_program(tree: ast.Module) -> None:
    """Raise :class:`UnsafeProgram` unless ``tree`` is in the generator's grammar: assignments to
    the letters a–j, at most one loop level ``for x in range(CONSTANT): v op= expression``, integer
    constants, + − ×, ``a if b<c else d``, and one final ``print(expression)``."""
    if not tree.body:
        raise UnsafeProgram("a program ends with one print(expression)")
    *body, last = tree.body
    if not (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) and _is_call(last.value, "print")):
        raise UnsafeProgram("a program ends with one print(expression)")
    calls: list[ast.Call] = [last.value]
    for statement in body:
        if isinstance(statement, ast.For):
            if not (isinstance(statement.target, ast.Name) and statement.target.id == LOOP_VARIABLE
                    and not statement.orelse and len(statement.body) == 1
                    and isinstance(statement.body[0], ast.AugAssign)):
                raise UnsafeProgram("a loop is `for x in range(k):v op= expression`: one statement, no nesting")
            if not (isinstance(statement.iter, ast.Call) and _is_call(statement.iter, "range")
                    and isinstance(statement.iter.args[0], ast.Constant)
                    and type(statement.iter.args[0].value) is int and statement.iter.args[0].value <= MAX_RANGE):
                raise UnsafeProgram(f"a loop runs over range(k) with a constant k <= {MAX_RANGE}")
            calls.append(statement.iter)
        elif not isinstance(statement, ast.Assign):
            raise UnsafeProgram(f"the statement {type(statement).__name__} is not allowed before the print")
    functions = [call.func for call in calls]
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise UnsafeProgram(f"{type(node).__name__} is not allowed")
        if isinstance(node, ast.Constant) and (type(node.value) is not int or not 0 <= node.value < MAX_CONSTANT):
            raise UnsafeProgram(f"the constant {node.value!r} is not allowed")
        if isinstance(node, ast.Call) and not any(node is call for call in calls):
            raise UnsafeProgram("calls are allowed only as the range(k) of a loop and as the final print")
        if isinstance(node, ast.Name) and node.id not in _NAMES and not any(node is f for f in functions):
            raise UnsafeProgram(f"the name {node.id!r} is not allowed")
        if isinstance(node, ast.Compare) and len(node.ops) != 1:
            raise UnsafeProgram("chained comparisons are not allowed")
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if len(targets) != 1 or not isinstance(targets[0], ast.Name) or targets[0].id not in VARIABLES:
                raise UnsafeProgram("only single assignments to the variables a-j are allowed")


_NAMES = frozenset(VARIABLES + LOOP_VARIABLE)


def _is_call(node: ast.AST, name: str) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
            and len(node.args) == 1 and not node.keywords)


@lru_cache(maxsize=1 << 16)
def execute(text: str) -> str:
    """What ``text`` prints, executed in a restricted way: parsed, checked against the grammar
    (:func:`check_program`), then run with no builtins but ``range`` and a capturing ``print``."""
    tree = ast.parse(text, mode="exec")
    check_program(tree)
    printed: list[str] = []
    namespace = {"__builtins__": {}, "range": range, "print": lambda value: printed.append(str(value))}
    exec(compile(tree, "<program>", "exec"), namespace)  # noqa: S102 - checked above: arithmetic only
    if len(printed) != 1:
        raise UnsafeProgram("a program prints exactly once")
    return printed[0]

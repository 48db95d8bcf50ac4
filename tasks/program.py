"""Learning to Execute (Zaremba & Sutskever 2014): read a Python program, write what it prints.

``--opt variant=program`` (default): programs of :mod:`tasks.program_generator` — ``length`` digits
per number, ``nesting`` composed operations (+, −, × by a small number, assignment, if-else, one
level of for-loop), ending with one ``print``. The target is what executing the program prints
(restricted execution, checked against the generator's own value), then ``.``.
``--opt variant=memorize``: the paper's memorisation task, copy a string of ``length`` random
digits; ``reverse=true`` presents the input reversed, ``double=true`` presents it twice (both: the
reversed string twice); the target is always the string as drawn.

Stream format: the input is the source one character at a time, a delimiter, then the target
shifted by one (teacher forcing: at each target step the input is the previous target character);
only the target characters, the final ``.`` included, are scored, and a batch's shorter rows are
padded at the end and masked out. So ``acc`` is per-character accuracy and ``seq_acc`` whole-target
accuracy — both under teacher forcing, as the paper reports them; a target predicted entirely right
under teacher forcing is also what greedy decoding would write.

Splits: a program (or digit string) belongs to train, val or test by ``crc32(text) mod 3``;
examples of the other splits are redrawn. Data is generated in pure Python (programs do not
vectorise) from ``random.Random`` streams seeded by the run's seed, the split and the difficulty, so
a seed fixes every batch and evaluation set; batches are then moved to the run's device. At small
difficulties the space of examples is small and sampled with replacement, so each split holds its
own subset and split accuracies differ by more than sampling noise (length 2: 99 ``print(N)``
programs, a third of them in each split; memorize length 1: the validation digits never occur in
training).

Curricula (``--opt curriculum=``), as the paper and the authors' code define them, for training
examples only — validation and test are always at the target (``length``, ``nesting``):
``baseline`` always the target; ``naive`` starts at length 1, nesting 1 and raises the length, then
the nesting (length back to 1), up to the target; ``mix`` draws each example's length uniformly from
1..length and nesting from 1..nesting; ``combined`` draws each example from naive's current level
(80%) or from mix (20%). naive and combined move up after a validation at which the per-character
accuracy on a fixed validation set at the current level (the authors' validation set) exceeds
``threshold`` (the paper's 95%), or has not beaten its value ``level_patience`` validations earlier
(the authors' "progress stopped"; they watch training accuracy). Mix draws per example, as the
paper describes it (the authors' code draws a length per operand). The training stream reads the
level at every batch (Lightning fetches one batch ahead, so a change shows one batch later);
``val/curriculum_length``, ``val/curriculum_nesting`` and ``val/level_acc`` are logged.
"""
from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar, Literal

import torch

from bench import Batch, Draw, Split, Task, UsageError, option, register_task
from tasks.program_generator import compose, memorize, split_of, target_of

PAD, GO = 0, 1  # input ids: padding, the delimiter between source and target
SOURCE_CHARS = "\n ()*+-:<=>0123456789abcdefghijlnoprstx"  # every character a program or a target prefix holds
TARGET_CHARS = "0123456789-."
INPUT_IDS = {c: i + 2 for i, c in enumerate(SOURCE_CHARS)}
TARGET_IDS = {c: i for i, c in enumerate(TARGET_CHARS)}
MIX_SHARE = 0.2  # combined: the share of examples drawn from mix (authors' code: random(5) == 1)
Level = tuple[int, int]


@dataclasses.dataclass
class ProgramOptions:
    variant: Literal["program", "memorize"] = option(
        "program", "'program' (execute a program) or 'memorize' (copy a digit string)")
    length: int = option(2, "digits per number (program: constants uniform in [1, 10^length)); "
                            "memorize: digits to copy", min=1, max=20)
    nesting: int = option(1, "program: how many operations are composed", min=1, max=6)
    curriculum: Literal["baseline", "naive", "mix", "combined"] = option(
        "combined", "training difficulty schedule: baseline, naive, mix or combined (Zaremba & Sutskever 2014)")
    threshold: float = option(0.95, "naive/combined: move up when the current level's validation "
                                    "per-character accuracy exceeds this", above=0.0, max=1.0)
    level_patience: int = option(5, "naive/combined: also move up when the current level's accuracy "
                                    "has not beaten its value this many validations earlier", min=1)
    reverse: bool = option(False, "memorize: present the digits in reverse order")
    double: bool = option(False, "memorize: present the digits twice")

    def check(self) -> None:
        if self.variant == "program" and (self.reverse or self.double):
            raise UsageError("program: --opt reverse and --opt double belong to the memorize variant; "
                             "add --opt variant=memorize or drop them")
        if self.variant == "memorize" and self.nesting != 1:
            raise UsageError("program: the memorize variant has no nesting; drop --opt nesting")


class Curriculum:
    """The difficulty (length, nesting) of each training example, and naive's current level."""

    def __init__(self, options: ProgramOptions) -> None:
        self.strategy, self.options = options.curriculum, options
        self.target: Level = (options.length, options.nesting)
        self.adaptive = self.strategy in ("naive", "combined")
        self.level: Level = (1, 1) if self.adaptive else self.target
        self.history: list[float] = []  # the current level's accuracies since it was reached

    def draw(self, rng: random.Random) -> Level:
        if self.strategy == "baseline":
            return self.target
        if self.strategy == "mix" or (self.strategy == "combined" and rng.random() < MIX_SHARE):
            return rng.randint(1, self.target[0]), rng.randint(1, self.target[1])
        return self.level

    def update(self, accuracy: float) -> bool:
        """One validation's accuracy at the current level; True if the level moved up."""
        patience = self.options.level_patience
        stalled = len(self.history) >= patience and self.history[-patience] >= accuracy
        if (accuracy > self.options.threshold or stalled) and self.level != self.target:
            length, nesting = self.level
            self.level = (length + 1, nesting) if length < self.target[0] else (1, nesting + 1)
            self.history = []
            return True
        self.history.append(accuracy)
        return False


class TrainStream:
    """``num_batches`` training batches, each drawn at the curriculum's level of that moment, from the
    seed's start each time it is iterated."""

    def __init__(self, task: Program, batch_size: int, num_batches: int, seed: int, device: torch.device):
        self.task, self.batch_size, self.num_batches, self.device = task, batch_size, num_batches, device
        self.seed = seed

    def __len__(self) -> int:
        return self.num_batches

    def __iter__(self) -> Iterator[Batch]:
        curriculum, rng = self.task.curriculum, random.Random(f"program/train/{self.seed}")
        for _ in range(self.num_batches):
            examples = [self.task.example(rng, "train", curriculum.draw(rng)) for _ in range(self.batch_size)]
            yield encode(examples).to(self.device)


def encode(examples: list[tuple[str, str]]) -> Batch:
    """``(source, target)`` pairs → one padded batch in the stream format (see the module docstring)."""
    steps = max(len(s) + len(t) for s, t in examples)
    inputs = torch.full((len(examples), steps), PAD, dtype=torch.long)
    targets = torch.zeros((len(examples), steps), dtype=torch.long)
    mask = torch.zeros((len(examples), steps), dtype=torch.bool)
    for row, (source, target) in enumerate(examples):
        start, end = len(source), len(source) + len(target)
        inputs[row, :end] = torch.tensor([INPUT_IDS[c] for c in source] + [GO] + [INPUT_IDS[c] for c in target[:-1]])
        targets[row, start:end] = torch.tensor([TARGET_IDS[c] for c in target])
        mask[row, start:end] = True
    return Batch(inputs, targets, mask)


def decode_input(ids: Iterable[int]) -> str:
    """Input ids → text, the delimiter as ``@`` and padding dropped (for reading batches)."""
    chars = {**{i: c for c, i in INPUT_IDS.items()}, GO: "@", PAD: ""}
    return "".join(chars[int(i)] for i in ids)


@register_task("program")
class Program(Task[ProgramOptions]):
    """Learning to Execute (Zaremba & Sutskever 2014): a program's printed output, char by char; curricula."""

    input_kind = "tokens"
    input_size = len(SOURCE_CHARS) + 2
    output_kind = "categorical"
    output_size = len(TARGET_CHARS)
    target_metric = "seq_acc"
    target_mode = "max"
    target_value = 1.0
    target_words = "every test program's output printed right"
    # Default options (length 2, nesting 1, combined), LSTM, 3,000 steps (1-2 CPU minutes): test
    # seq_acc 0.32 at Adam 1e-2 against 0.14 at 3e-3 (and 0.27 with 256 units at 3e-3).
    recommended: ClassVar[dict[str, Any]] = {
        "model.hidden_size": 128, "train.lr": 1e-2, "train.max_steps": 3000, "train.eval_every": 200,
    }

    def __init__(self, options: ProgramOptions) -> None:
        super().__init__(options)
        self.curriculum = Curriculum(options)
        self._run: dict[str, Any] = {"seed": 0, "device": torch.device("cpu"), "batch_size": 100, "size": 1000}
        self._level_sets: dict[Level, list[Batch]] = {}

    def example(self, rng: random.Random, split: Split, level: Level) -> tuple[str, str]:
        """One ``(source, target)`` pair of ``split`` at ``level``: drawn until its text hashes to ``split``."""
        length, nesting = level
        for _ in range(100_000):
            if self.options.variant == "memorize":
                digits = memorize(rng, length)
                if split_of(digits) == split:
                    shown = digits[::-1] if self.options.reverse else digits
                    return (shown * 2 if self.options.double else shown), digits + "."
            else:
                program = compose(rng, length, nesting)
                if split_of(program.text) == split:  # executed only then: two in three are another split's
                    return program.text, target_of(program)
        raise RuntimeError(f"program: no {split} example found at length {length}, nesting {nesting}")

    def train_batches(self, draw: Draw) -> Iterable[Batch]:
        self._run.update(seed=draw.seed, device=draw.device, batch_size=draw.batch_size)
        return TrainStream(self, draw.batch_size, draw.batches, draw.seed, draw.device)

    def eval_batches(self, split: Split, draw: Draw) -> list[Batch]:
        """A fixed set at the target difficulty (``draw.length`` overrides the digits)."""
        if split == "val":
            self._run.update(size=draw.examples)
        return self._fixed_set(split, (draw.length or self.options.length, self.options.nesting),
                               draw.batch_size, draw.examples, draw.seed, draw.device)

    def _fixed_set(self, split: Split, level: Level, batch_size: int, n: int, seed: int,
                   device: torch.device) -> list[Batch]:
        rng = random.Random(f"program/{split}/{seed}/{level[0]}/{level[1]}")
        examples = [self.example(rng, split, level) for _ in range(n)]
        return [encode(examples[i:i + batch_size]).to(device) for i in range(0, n, batch_size)]

    def on_validation(
        self, metrics: dict[str, float], evaluate: Callable[[Iterable[Batch]], dict[str, float]]
    ) -> dict[str, float]:
        """naive/combined: score the model at the current level and move the level up if it is due."""
        curriculum = self.curriculum
        if not curriculum.adaptive:
            return {}
        measured = curriculum.level
        if measured == curriculum.target:  # the validation set itself
            accuracy = metrics["acc"]
        else:
            if measured not in self._level_sets:
                run = self._run
                self._level_sets[measured] = self._fixed_set(
                    "val", measured, run["batch_size"], run["size"], run["seed"], run["device"])
            accuracy = evaluate(self._level_sets[measured])["acc"]
        curriculum.update(accuracy)
        length, nesting = curriculum.level
        return {"level_acc": accuracy, "curriculum_length": float(length), "curriculum_nesting": float(nesting)}

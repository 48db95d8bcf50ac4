"""Learning to Execute: programs execute to their targets, splits by text hash, teacher-forced stream,
the four curricula, memorisation with reversing/doubling, and a model that learns."""
import ast
import contextlib
import io
import random
import re
import zlib

import pytest
import torch

from bench.core.errors import UsageError
from bench.core.network import build_task
from bench.core.resolve import resolve
from bench.core.task import Draw
from bench.train.run import fit_model
from tasks.program import GO, INPUT_IDS, PAD, TARGET_CHARS, decode_input, encode
from tasks.program_generator import OPERATIONS, UnsafeProgram, check_program, compose, execute, generate, split_of

CPU = torch.device("cpu")
DIFFICULTIES = [(1, 1), (2, 2), (3, 1), (3, 3), (4, 2), (2, 5)]


def program_task(**options):
    return build_task(resolve({"task": {"name": "program"}}, plugin_options=options))


def python_prints(text):
    """What the real interpreter prints, with all its builtins (the programs are our own)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(text, {})  # noqa: S102
    return out.getvalue()


@pytest.mark.parametrize("length, nesting", DIFFICULTIES)
def test_generated_programs_parse_stay_in_the_grammar_and_execute_to_their_targets(length, nesting):
    rng = random.Random(f"{length}/{nesting}")
    for _ in range(150):
        program = compose(rng, length, nesting)
        check_program(ast.parse(program.text))  # raises outside the grammar
        assert program.text.splitlines()[-1].startswith("print(")
        assert execute(program.text) == str(program.value) == python_prints(program.text).strip()
        text, target = generate(random.Random(program.text), length, nesting)
        assert target == python_prints(text).strip() + "."
        lines = program.text.splitlines()
        assert len(lines) <= 2 * nesting + 1 and sum("for " in line for line in lines) <= nesting
        for line in lines:  # loops have one statement and never nest
            assert line.count("for ") <= 1 and (not line.startswith("for ") or re.fullmatch(
                r"for x in range\(\d+\):[a-j][+-]=.+", line))
        numbers = [int(n) for n in re.findall(r"\d+", program.text)]
        assert all(1 <= n < 10**length for n in numbers)
        for k in re.findall(r"range\((\d+)\)", program.text) + re.findall(r"\*(\d+)\)|\((\d+)\*", program.text):
            k = k if isinstance(k, str) else "".join(k)
            assert 1 <= int(k) <= max(4 * length, 10**length - 1)


def test_programs_cover_every_operation_and_the_papers_example_runs():
    rng = random.Random(0)
    used, texts = set(), []
    for _ in range(300):
        program = compose(rng, 2, 2)
        used |= set(program.operations)
        texts.append(program.text)
    assert used == set(OPERATIONS)
    joined = "\n".join(texts)
    for construct in ["+", "-", "*", "for x in range(", " if ", " else ", "<", ">", "="]:
        assert construct in joined
    assert execute("j=8584\nfor x in range(8):j+=920\nb=(1500+j)\nprint((b+7567))") == "25011"  # the paper's Figure 1
    for operation in OPERATIONS:
        program = compose(random.Random(1), 2, 1, operations=(operation,))
        assert execute(program.text) == str(program.value)


@pytest.mark.parametrize("text", [
    "import os\nprint(1)", "print(__import__('os'))", "a=range\nprint(a)", "print(open)", "print(1.5)",
    "for x in range(3):\n    for x in range(2):a+=1\nprint(a)", "for x in range(10**9):a+=1\nprint(a)",
    "a=(1<2<3)\nprint(a)", "print(1)\nprint(2)", "a=1", "print((lambda: 1)())", "a.b=1\nprint(1)",
    "while 1:a=1\nprint(1)", "print(1, 2)", "print('hi')", "a=1\nprint(a//2)",
])
def test_restricted_execution_refuses_anything_outside_the_grammar(text):
    with pytest.raises((UnsafeProgram, SyntaxError)):
        execute(text)


def sources(batches):
    return {decode_input(row).split("@")[0] for batch in batches for row in batch.inputs}


def test_splits_are_the_crc32_of_the_text_mod_3_and_never_overlap():
    task = program_task(length=1, nesting=1, curriculum="baseline")  # few programs: overlap would show
    sets = {split: sources(task.eval_batches(split, Draw(100, examples=600))) for split in ("train", "val", "test")}
    assert all(len(s) > 50 for s in sets.values())
    assert not (sets["train"] & sets["val"]) and not (sets["train"] & sets["test"]) and not (sets["val"] & sets["test"])
    for index, split in enumerate(("train", "val", "test")):
        assert all(zlib.crc32(text.encode()) % 3 == index and split_of(text) == split for text in sets[split])
    stream = iter(task.train_batches(Draw(64, batches=5)))
    assert all(split_of(text) == "train" for text in sources(list(stream)))


def test_stream_is_source_delimiter_then_the_target_shifted_and_only_the_target_is_scored():
    batch = encode([("print((2+3))", "5."), ("a=7\nprint((a*3))", "21."), ("print((1-9))", "-8.")])
    assert batch.inputs.shape == (3, len("a=7\nprint((a*3))") + 3)
    for row, (source, target) in enumerate([("print((2+3))", "5."), ("a=7\nprint((a*3))", "21."),
                                            ("print((1-9))", "-8.")]):
        start, end = len(source), len(source) + len(target)
        assert decode_input(batch.inputs[row, :start]) == source
        assert batch.inputs[row, start] == GO
        assert [decode_input([i]) for i in batch.inputs[row, start + 1:end]] == list(target[:-1])  # teacher forcing
        assert "".join(TARGET_CHARS[i] for i in batch.targets[row, start:end]) == target  # ends with '.'
        assert batch.mask[row].tolist() == [start <= t < end for t in range(batch.inputs.shape[1])]
        assert (batch.inputs[row, end:] == PAD).all()  # padding, never scored
    assert PAD not in INPUT_IDS.values() and GO not in INPUT_IDS.values()


def test_whole_target_accuracy_and_per_character_accuracy():
    task = program_task()
    batch = encode([("print(12)", "12."), ("print(34)", "34.")])
    perfect = torch.nn.functional.one_hot(batch.targets, len(TARGET_CHARS)).float()
    wrong = perfect.clone()
    wrong[1, len("print(34)"), :] = torch.eye(len(TARGET_CHARS))[0]  # first digit of the second target wrong
    metrics = {k: (t / c).item() for k, (t, c) in task.metrics(wrong, batch).items()}
    assert metrics["seq_acc"] == 0.5 and metrics["acc"] == pytest.approx(5 / 6)


def test_baseline_trains_at_the_target_and_mix_draws_every_difficulty_within_bounds():
    rng = random.Random(0)
    assert {program_task(length=3, nesting=2, curriculum="baseline").curriculum.draw(rng) for _ in range(50)} == {(3, 2)}
    mix = {program_task(length=3, nesting=2, curriculum="mix").curriculum.draw(rng) for _ in range(300)}
    assert mix == {(a, b) for a in (1, 2, 3) for b in (1, 2)}
    combined = program_task(length=3, nesting=2, curriculum="combined").curriculum
    draws = [combined.draw(rng) for _ in range(2000)]
    assert combined.level == (1, 1)
    from_level = sum(d == (1, 1) for d in draws) / len(draws)  # 80% from the level, 1/6 of mix's 20% too
    assert abs(from_level - (0.8 + 0.2 / 6)) < 0.03


@pytest.mark.parametrize("curriculum", ["naive", "combined"])
def test_the_level_moves_up_length_first_then_nesting_when_validation_passes_the_threshold(curriculum):
    task = program_task(length=2, nesting=2, curriculum=curriculum)
    scores = iter([0.5, 0.96, 0.99, 0.2, 0.97])  # what the model scores at the current level, in order
    evaluate = lambda batches: {"acc": next(scores)}  # noqa: E731
    seen = []
    for _ in range(5):
        logged = task.on_validation({"acc": 0.1}, evaluate)
        seen.append((int(logged["curriculum_length"]), int(logged["curriculum_nesting"])))
    assert seen == [(1, 1), (2, 1), (1, 2), (1, 2), (2, 2)]
    assert task.on_validation({"acc": 0.99}, evaluate)["level_acc"] == 0.99  # at the target: val itself
    assert task.curriculum.level == (2, 2)


def test_the_level_also_moves_up_when_progress_stops():
    task = program_task(length=3, curriculum="naive", level_patience=3)
    for accuracy in [0.5, 0.6, 0.7, 0.65, 0.64]:
        task.on_validation({}, lambda batches: {"acc": accuracy})
        assert task.curriculum.level == (1, 1)
    task.on_validation({}, lambda batches: {"acc": 0.55})  # below its value 3 validations earlier (0.6)
    assert task.curriculum.level == (2, 1)


def test_baseline_and_mix_need_no_feedback():
    for curriculum in ("baseline", "mix"):
        assert program_task(curriculum=curriculum).on_validation({"acc": 1.0}, None) == {}


def digits_in(batch):
    return [decode_input(row).split("@")[0] for row in batch.inputs]


def test_training_stream_reads_the_level_at_every_batch_and_is_fixed_by_the_seed():
    task = program_task(variant="memorize", length=3, curriculum="naive")
    stream = iter(task.train_batches(Draw(32, batches=10)))
    assert {len(s) for s in digits_in(next(stream))} == {1}
    task.curriculum.level = (3, 1)
    assert {len(s) for s in digits_in(next(stream))} == {3}
    a = next(iter(program_task(nesting=2).train_batches(Draw(16, seed=4, batches=1))))
    b = next(iter(program_task(nesting=2).train_batches(Draw(16, seed=4, batches=1))))
    c = next(iter(program_task(nesting=2).train_batches(Draw(16, seed=5, batches=1))))
    assert torch.equal(a.inputs, b.inputs) and not torch.equal(a.inputs[:, :20], c.inputs[:, :20])


@pytest.mark.parametrize("reverse, double", [(False, False), (True, False), (False, True), (True, True)])
def test_memorize_copies_the_digits_presented_reversed_or_twice(reverse, double):
    task = program_task(variant="memorize", length=5, curriculum="baseline", reverse=reverse, double=double)
    batch = task.eval_batches("test", Draw(50, examples=50))[0]
    for row, targets in zip(batch.inputs, batch.targets):
        shown, rest = decode_input(row).split("@")
        start = len(shown)
        target = "".join(TARGET_CHARS[i] for i in targets[start:start + 6])
        digits = target[:-1]
        assert target.endswith(".") and len(digits) == 5 and digits.isdigit() and rest == digits
        once = digits[::-1] if reverse else digits
        assert shown == (once * 2 if double else once)
        assert split_of(digits) == "test"


@pytest.mark.parametrize("args, message", [
    (["--opt", "reverse=true"], "belong to the memorize variant"),
    (["--opt", "curriculum=smart"], "curriculum"),
])
def test_impossible_options_are_one_line_and_exit_2(bench_main, usage_error, args, message):
    usage_error(bench_main("run", "--task", "program", "--arch", "lstm", *args), message)


@pytest.mark.parametrize("options, message", [
    ({"nesting": 0}, "'nesting' must be >= 1"), ({"length": 30}, "'length' must be <= 20"),
    ({"variant": "memorize", "nesting": 2}, "no nesting"), ({"variant": "program", "double": True}, "memorize"),
    ({"threshold": 0}, "'threshold' must be > 0"),
])
def test_impossible_options_are_usage_errors_before_any_run(options, message):
    with pytest.raises(UsageError, match=message):
        program_task(**options)


def test_an_lstm_learns_to_memorize_through_the_combined_curriculum():
    """Copy 4 random digits (chance: 1 in 10,000 per string), curriculum from 1 digit up to 4.
    Measured: 4 digits reached by step ~800, test sequence accuracy 1.0 by ~1,000 (~15 s on one thread)."""
    config = resolve({"task": {"name": "program"}, "model": {"arch": "lstm", "hidden_size": 64}},
                     {"train": {"threads": 1, "eval_size": 300, "eval_every": 100, "max_steps": 1500, "lr": 1e-2}},
                     {"variant": "memorize", "length": 4, "curriculum": "combined"})
    result, model = fit_model(config, progress=False)
    assert model.task.curriculum.level == (4, 1)
    assert result.metrics["test/seq_acc"] > 0.9 and result.metrics["test/acc"] > 0.95


def test_only_programs_of_the_requested_split_are_executed(monkeypatch):
    """Two in three composed programs hash to another split: executing them first made a training
    batch cost ~40% more to draw (results/BENCHMARKS.md, target 4)."""
    import tasks.program_generator as generator

    executed = []
    real = generator.execute.__wrapped__  # bypass the cache: every execution is seen

    def spy(text):
        executed.append(text)
        return real(text)

    monkeypatch.setattr(generator, "execute", spy)
    task = program_task(length=3, nesting=2)
    rng = random.Random(0)
    for _ in range(60):
        task.example(rng, "train", (3, 2))
    assert len(executed) == 60 and {split_of(text) for text in executed} == {"train"}

"""Polyphonic music: both standard file formats load, the metric is the papers' NLL per frame, bad files are one line."""
import importlib.util
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch

from bench.core.network import build_task
from bench.core.resolve import resolve
from bench.core.task import Draw
from bench.train.run import fit
from tasks._piano_rolls import pitches_to_roll, roll_to_pitches
from tasks.music import Music

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
JSB = SHARED_DATA / "music" / "JSB_Chorales.mat"
needs_jsb = pytest.mark.skipif(not JSB.exists(), reason=f"shared test data not found at {JSB} (../shared/data is absent)")
CPU = torch.device("cpu")


def random_rolls(n: int, seed: int, keys_used: int = 20) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    rolls = []
    for _ in range(n):
        roll = np.zeros((int(rng.integers(3, 12)), 88), dtype=np.uint8)
        roll[:, 30:30 + keys_used] = rng.random((len(roll), keys_used)) < 0.2
        rolls.append(roll)
    return rolls


def write_mat(path: Path, splits: dict[str, list[np.ndarray]]) -> Path:
    cells = {}
    for key, pieces in splits.items():
        cell = np.empty((1, len(pieces)), dtype=object)
        for i, piece in enumerate(pieces):
            cell[0, i] = piece
        cells[key] = cell
    scipy.io.savemat(path, cells)
    return path


def small_mat(tmp_path: Path) -> Path:
    return write_mat(tmp_path / "small.mat", {"traindata": random_rolls(12, 0), "validdata": random_rolls(5, 1),
                                              "testdata": random_rolls(6, 2)})


def music_task(data: Path, **train) -> Music:
    return build_task(resolve({"task": {"name": "music"}}, {"train": train}, {"data": str(data)}))


@needs_jsb
def test_jsb_chorales_mat_has_the_standard_split():
    task = music_task(JSB)
    assert [len(task.rolls[s]) for s in ("train", "val", "test")] == [229, 76, 77]
    assert all(r.shape[1] == 88 and set(np.unique(r)) <= {0, 1} for r in task.rolls["train"])


def test_pickle_and_mat_formats_load_the_same_rolls(tmp_path):
    splits = {"train": random_rolls(4, 0), "valid": random_rolls(3, 1), "test": random_rolls(3, 2)}
    as_pitches = {k: [roll_to_pitches(r) for r in v] for k, v in splits.items()}
    assert all(21 <= p <= 108 for piece in as_pitches["train"] for step in piece for p in step)
    with open(tmp_path / "set.pickle", "wb") as f:
        pickle.dump(as_pitches, f, protocol=2)  # the originals are Python 2 pickles
    from_pickle = music_task(tmp_path / "set.pickle").rolls
    from_mat = music_task(write_mat(tmp_path / "set.mat", {"traindata": splits["train"], "validdata": splits["valid"],
                                                           "testdata": splits["test"]})).rolls
    for ours, theirs in (("train", "train"), ("val", "valid"), ("test", "test")):
        for a, b, original in zip(from_pickle[ours], from_mat[ours], splits[theirs], strict=True):
            assert np.array_equal(a, original) and np.array_equal(b, original)
    assert np.array_equal(pitches_to_roll([[21, 108], []]).nonzero()[1], [0, 87])


def test_batches_predict_the_next_frame_and_mask_the_padding(tmp_path):
    task = music_task(small_mat(tmp_path))
    batches = task.eval_batches("test", Draw(4))
    assert sum(len(b) for b in batches) == 6
    assert sum(int(b.mask.sum()) for b in batches) == sum(len(r) - 1 for r in task.rolls["test"])
    for batch in batches:
        real = batch.mask[:, 1:]
        assert torch.equal(batch.inputs[:, 1:][real], batch.targets[:, :-1][real])  # the next frame
        assert not batch.targets[~batch.mask].any() and not batch.inputs[~batch.mask].any()


def test_each_epoch_visits_every_piece_once_in_a_new_seeded_order(tmp_path):
    task = music_task(small_mat(tmp_path))

    def orders(seed):
        stream = list(task.train_batches(Draw(5, seed=seed, batches=6)))  # 12 pieces in batches of 5: two epochs of 3
        return [torch.cat([b.mask.sum(1) for b in stream[e:e + 3]]).tolist() for e in (0, 3)]

    first, second = orders(0)
    assert sorted(first) == sorted(len(r) - 1 for r in task.rolls["train"])
    assert first != second  # reshuffled each epoch...
    assert orders(0) == [first, second]  # ...the same way for the same seed


def frequency_nll_by_hand(train: list[np.ndarray], test: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """Each key on with its frequency over all training frames; NLL of test frames 2..T, per frame."""
    p = np.clip(np.concatenate(train).mean(0, dtype=np.float64), 1e-6, 1 - 1e-6)
    targets = np.concatenate([r[1:] for r in test]).astype(np.float64)
    nll = -(targets * np.log(p) + (1 - targets) * np.log(1 - p)).sum(1)
    return p, nll.mean()


def task_nll(task: Music, p: np.ndarray, split: str) -> float:
    logits = torch.tensor(np.log(p / (1 - p)), dtype=torch.float32)
    total = count = 0.0
    for batch in task.eval_batches(split, Draw(7)):
        t, c = task.metrics(logits.expand(*batch.targets.shape), batch)["nll_per_frame"]
        total, count = total + float(t), count + float(c)
    return total / count


def test_key_frequency_model_scores_exactly_the_nll_by_hand(tmp_path):
    task = music_task(small_mat(tmp_path))
    p, by_hand = frequency_nll_by_hand(task.rolls["train"], task.rolls["test"])
    assert math.isclose(task_nll(task, p, "test"), by_hand, rel_tol=1e-6)


@needs_jsb
def test_key_frequency_model_on_jsb_matches_the_reference_value():
    task = music_task(JSB)
    p, by_hand = frequency_nll_by_hand(task.rolls["train"], task.rolls["test"])
    assert math.isclose(task_nll(task, p, "test"), by_hand, rel_tol=1e-6)
    assert 10.5 < by_hand < 11.5  # ../shared/REFERENCES.md: 11.09 on JSB test


def test_patience_stops_and_evaluates_the_best_validation_weights(tmp_path):
    from lightning.pytorch.callbacks import Callback

    class Record(Callback):
        def __init__(self):
            self.values: list[float] = []

        def on_validation_end(self, trainer, pl_module):
            self.values.append(float(trainer.callback_metrics["val/nll_per_frame"]))

    config = resolve({"task": {"name": "music"}, "model": {"arch": "gru", "hidden_size": 16}},
                     {"train": {"threads": 1, "max_steps": 200, "eval_every": 1, "patience": 2, "lr": 0.5,
                                "batch_size": 4}}, {"data": str(small_mat(tmp_path))})
    recorder = Record()
    result = fit(config, progress=False, callbacks=[recorder])
    assert result.steps < 200 and "no better val/nll_per_frame for 2 validations" in result.stop_reason
    assert math.isclose(result.metrics["val/nll_per_frame"], min(recorder.values), rel_tol=1e-5)
    assert result.metrics["val/nll_per_frame"] < recorder.values[-1]  # lr 0.5 overshoots: the last is not the best


BAD_FILES = {
    "missing": (lambda d: d / "nope.mat", "no such file"),
    "empty": (lambda d: (d / "empty.mat").touch() or d / "empty.mat", "is empty"),
    "wrong format": (lambda d: (d / "notes.txt").write_text("C E G\n") and d / "notes.txt", "neither a MATLAB"),
    "wrong mat keys": (lambda d: write_mat(d / "keys.mat", {"train": random_rolls(2, 0)}), "lacks the key(s) traindata"),
    "not piano rolls": (lambda d: write_mat(d / "cols.mat", {k: [np.zeros((4, 12))] for k in
                                                             ("traindata", "validdata", "testdata")}), "T x 88"),
    "pickle with code": (lambda d: (d / "evil.pickle").write_bytes(pickle.dumps(Path("x"))) and d / "evil.pickle",
                         "refusing to load"),
}


@pytest.mark.fresh_store
@pytest.mark.parametrize("make, message", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_file_is_one_line_exit_2_before_any_run(bench_main, usage_error, tmp_path, isolated_store, make, message):
    result = bench_main("run", "--task", "music", "--opt", f"data={make(tmp_path)}", "--threads", "1", "--no-progress")
    usage_error(result, message)
    assert not (isolated_store / "mlflow.db").exists()


@pytest.mark.skipif(importlib.util.find_spec("music21") is not None, reason="music21 is installed: the default works")
def test_default_without_music21_says_what_to_do(bench_cli):
    result = bench_cli("run", "--task", "music", "--dry-run")
    assert result.returncode == 2, result.stderr
    assert "pip install 'rnnbench[music]'" in result.stderr and "--opt data=PATH" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

"""Pixel-by-pixel MNIST: one grey value per step, the class scored at the last; the standard files,
the bundled 8x8 default, the fixed permutation; an LSTM learns the default."""
import gzip
import struct

import numpy as np
import pytest
import torch

from bench.core.network import build_task
from bench.core.registry import TASKS
from bench.core.resolve import resolve
from bench.train.run import fit


def task(**options):
    return build_task(resolve({"task": {"name": "seqmnist"}}, plugin_options=options))


def test_the_default_is_the_bundled_8x8_digits_split_60_20_20():
    digits = task()
    sizes = {split: len(digits.examples(split, 32)) for split in ("train", "val", "test")}
    assert sizes == {"train": 1078, "val": 359, "test": 360}
    inputs, targets = digits.examples("train", 32)[0]
    assert inputs.shape == (64, 1) and 0 <= inputs.min() and inputs.max() <= 1
    assert (targets == targets[-1]).all() and 0 <= targets[-1] < 10


def test_only_the_last_pixel_is_scored():
    digits = task()
    batch = digits.collate(digits.examples("val", 32)[:5])
    assert batch.mask.tolist() == [[False] * 63 + [True]] * 5


def test_the_permutation_is_fixed_by_its_seed_and_keeps_each_images_pixels():
    plain, permuted, again, other = task(), task(permuted=True), task(permuted=True), task(permuted=True, permutation_seed=1)
    x, _ = plain.examples("test", 32)[0]
    p, _ = permuted.examples("test", 32)[0]
    assert not torch.equal(x, p) and torch.equal(x.sort(0).values, p.sort(0).values)
    assert torch.equal(p, again.examples("test", 32)[0][0])
    assert not torch.equal(p, other.examples("test", 32)[0][0])


def write_idx(path, array, gz):
    header = struct.pack(f">HBB{array.ndim}I", 0, 8, array.ndim, *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_files_give_the_last_5000_training_images_to_validation_and_the_test_set_to_test(tmp_path, gz):
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (5010, 3, 3)), rng.integers(0, 10, 5010)
    suffix = ".gz" if gz else ""
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images, gz)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels, gz)
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", images[:4], gz)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", labels[:4], gz)
    mnist = task(data=str(tmp_path))
    train, val, test = (mnist.examples(s, 32) for s in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (10, 5000, 4)
    assert torch.allclose(val[0][0][:, 0], torch.tensor(images[10].reshape(-1) / 255, dtype=torch.float32))
    assert int(val[-1][1][-1]) == labels[-1] and int(test[0][1][-1]) == labels[0]
    np.savez(tmp_path / "mnist.npz", x_train=images, y_train=labels, x_test=images[:4], y_test=labels[:4])
    from_npz = task(data=str(tmp_path / "mnist.npz"))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(from_npz.examples("val", 32), val))


def truncated(folder):
    TASKS.get("seqmnist").example_options(folder)
    path = folder / "tiny_mnist" / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-7]))
    return folder / "tiny_mnist"


def bad_labels(folder):
    TASKS.get("seqmnist").example_options(folder)
    labels = folder / "tiny_mnist" / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip.compress(struct.pack(">HBBI", 0, 8, 1, 3) + bytes([1, 2, 12])))
    return folder / "tiny_mnist"


BAD = {
    "missing": (lambda d: d / "nowhere", "does not exist"),
    "an .npy file": (lambda d: np.save(d / "x.npy", np.zeros(3)) or d / "x.npy", "neither a folder"),
    "labels above 9": (bad_labels, "labels outside 0-9"),
    "no idx files": (lambda d: d, "train-images-idx3-ubyte(.gz) is missing"),
    "truncated": (truncated, "is truncated"),
    "npz without the keys": (lambda d: np.savez(d / "m.npz", a=np.zeros(3)) or d / "m.npz", "x_train"),
}


@pytest.mark.fresh_store
@pytest.mark.parametrize("make, message", BAD.values(), ids=BAD.keys())
def test_bad_data_is_one_line_exit_2_before_any_run(bench_main, usage_error, tmp_path, isolated_store, make, message):
    result = bench_main("run", "--task", "seqmnist", "--opt", f"data={make(tmp_path)}", "--threads", "1", "--no-progress")
    usage_error(result, message)
    assert not (isolated_store / "mlflow.db").exists()


def test_truncated_windows_are_refused_since_only_the_last_pixel_is_scored():
    from bench.core.errors import UsageError

    with pytest.raises(UsageError, match="leave --opt bptt=0"):
        task(bptt=16)


def test_an_lstm_classifies_the_8x8_digits_read_pixel_by_pixel_above_90_percent(stop_once_learnt):
    """Chance is 10%."""
    config = resolve({"task": {"name": "seqmnist"}, "model": {"arch": "lstm", "hidden_size": 64}},
                     {"train": {"threads": 1, "max_steps": 1500, "eval_every": 100, "lr": 1e-2}})
    assert fit(config, progress=False, callbacks=[stop_once_learnt("val/acc", 0.93)]).metrics["test/acc"] >= 0.9

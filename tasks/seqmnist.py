"""Pixel-by-pixel MNIST (Le, Jaitly & Hinton 2015), and its permuted variant.

An image is read one grey value per step, row by row (784 steps for MNIST); the class is scored at
the last step only. ``permuted=true`` reads the pixels in one fixed random order (seeded by
``permutation_seed``, the same for every run), which scatters neighbouring pixels far apart in time.

``data``: a folder with the standard MNIST IDX files (``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, gzipped or
not) or an ``mnist.npz`` file (``x_train``, ``y_train``, ``x_test``, ``y_test``, as Keras ships
it). The last 5,000 training images are the validation split; the test split is the standard test set.

Without ``data`` the default is scikit-learn's bundled 8×8 digits (1,797 images, 64 steps each, no
download; split 60/20/20 by a fixed permutation): a small stand-in that checks the machinery and
ranks models roughly, not MNIST, and its numbers are not comparable with the papers'.
"""
from __future__ import annotations

import dataclasses
import functools
import gzip
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench import Batch, DatasetOptions, Example, SequenceDataset, Split, UsageError, option, register_task

VALIDATION_IMAGES = 5000
IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}

Images = dict[str, tuple[np.ndarray, np.ndarray]]
"""Split name → (images as (N, pixels) floats in [0, 1], labels (N,) ints)."""


@dataclasses.dataclass
class SeqMNISTOptions(DatasetOptions):
    data: str = option("", "a folder of MNIST IDX files (gzipped or not) or an mnist.npz; "
                           "empty: scikit-learn's bundled 8x8 digits (64 steps, a small stand-in)")
    permuted: bool = option(False, "read the pixels in one fixed random order (permuted MNIST)")
    permutation_seed: int = option(0, "seed of the pixel order when permuted", min=0)

    def check(self) -> None:
        """Load the images while the config is resolved: a bad file is a one-line error before any run."""
        if self.bptt:
            raise UsageError("seqmnist: only the last pixel is scored, so truncated windows (bptt) would train "
                             "on nothing but the last; leave --opt bptt=0")
        load_images(self.data)


@functools.lru_cache(maxsize=2)  # the config check and the run load the same files
def load_images(data: str) -> Images:
    """The three splits of ``data`` (a folder, an .npz, or "" for the bundled digits); UsageError if unusable."""
    if not data:
        return _digits()
    path = Path(data)
    if not path.exists():
        raise UsageError(f"seqmnist: {data} does not exist; pass a folder of MNIST IDX files or an mnist.npz")
    if path.is_file() and path.suffix != ".npz":
        raise UsageError(f"seqmnist: {data} is neither a folder of MNIST IDX files nor an .npz file")
    try:
        if path.is_dir():
            train, test = (_read_idx_pair(path, *IDX_FILES[split]) for split in ("train", "test"))
        else:
            with np.load(path) as stored:
                train = stored["x_train"].reshape(len(stored["x_train"]), -1), stored["y_train"]
                test = stored["x_test"].reshape(len(stored["x_test"]), -1), stored["y_test"]
    except (OSError, ValueError, KeyError, EOFError, struct.error) as exc:
        raise UsageError(f"seqmnist: cannot read {data}: {exc}") from None
    if len(train[0]) <= VALIDATION_IMAGES or len(train[0]) != len(train[1]) or len(test[0]) != len(test[1]):
        raise UsageError(f"seqmnist: {data} holds {len(train[0])} training images and {len(train[1])} labels; "
                         f"need matching images and labels, over {VALIDATION_IMAGES} for the validation split")
    if train[0].shape[1] != test[0].shape[1]:
        raise UsageError(f"seqmnist: {data} has {train[0].shape[1]} pixels per training image but "
                         f"{test[0].shape[1]} per test image")
    labels = np.concatenate([train[1], test[1]])
    if labels.min() < 0 or labels.max() > 9:
        raise UsageError(f"seqmnist: {data} has labels outside 0-9 ({labels.min()} to {labels.max()})")
    scale = 255.0 if max(train[0].max(), test[0].max()) > 1 else 1.0  # bytes, or grey values already in [0, 1]
    return {"train": (train[0][:-VALIDATION_IMAGES] / scale, train[1][:-VALIDATION_IMAGES]),
            "val": (train[0][-VALIDATION_IMAGES:] / scale, train[1][-VALIDATION_IMAGES:]),
            "test": (test[0] / scale, test[1])}


def _read_idx_pair(folder: Path, images: str, labels: str) -> tuple[np.ndarray, np.ndarray]:
    return _read_idx(folder, images), _read_idx(folder, labels)


def _read_idx(folder: Path, name: str) -> np.ndarray:
    """An IDX file (LeCun's format: magic, dimensions, unsigned bytes), plain or gzipped."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.exists():
            raw = gzip.decompress(candidate.read_bytes()) if candidate.suffix == ".gz" else candidate.read_bytes()
            break
    else:
        raise OSError(f"{name}(.gz) is missing")
    zero, dtype, dims = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08 or dims not in (1, 3):
        raise ValueError(f"{name} is not an IDX file of unsigned bytes")
    shape = struct.unpack(f">{dims}I", raw[4:4 + 4 * dims])
    values = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).copy()  # writable, as torch wants
    if values.size != int(np.prod(shape)):
        raise ValueError(f"{name} is truncated ({values.size} of {int(np.prod(shape))} values)")
    return values.reshape(shape[0], -1) if dims == 3 else values


def _digits() -> Images:
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    images, labels = digits.data[order] / 16.0, digits.target[order]
    cut = [int(0.6 * len(labels)), int(0.8 * len(labels))]
    return {"train": (images[:cut[0]], labels[:cut[0]]), "val": (images[cut[0]:cut[1]], labels[cut[0]:cut[1]]),
            "test": (images[cut[1]:], labels[cut[1]:])}


PUBLISHED = {  # test accuracy %, (pixel by pixel, permuted): Bai et al. 2018 Table 1, Cooijmans et al. 2016 Table 1
    "Bai et al. 2018": {"lstm": (87.2, 85.7), "gru": (96.2, 87.3), "vanilla": (21.5, 25.3)},
    "Cooijmans et al. 2016": {"vanilla": (35.0, 35.0), "irnn": (97.0, 82.0), "lstm": (98.9, 90.2)},
}


@register_task("seqmnist")
class SeqMNIST(SequenceDataset[SeqMNISTOptions]):
    """Pixel-by-pixel MNIST (Le et al. 2015), permuted=true for pMNIST; default: the bundled 8x8 digits."""

    causal = True
    input_kind = "features"
    input_size = 1
    output_kind = "categorical"
    output_size = 10
    target_metric = "acc"
    target_mode = "max"
    target_value = 1.0
    target_words = "every test digit right: not expected, so a run ends on patience or on the step limit"
    recommended = {"train.lr": 3e-3, "train.max_steps": 3000}

    @classmethod
    def published(cls, options: Mapping[str, Any], arch: str, test_loss: float | None = None) -> list[str]:
        """Test accuracies on MNIST itself (``data`` given), not on the bundled 8×8 digits."""
        if not options.get("data"):
            return []
        permuted = str(options.get("permuted", False)).lower() in ("true", "1")
        return [f"{accuracies[arch][permuted]}% ({source}, {'permuted ' if permuted else ''}MNIST, test acc)"
                for source, accuracies in PUBLISHED.items() if arch in accuracies]

    @classmethod
    def example_options(cls, folder: Path) -> dict[str, object]:
        """A folder of tiny gzipped IDX files: 5,006 training and 3 test images of 2×2 pixels."""
        data = folder / "tiny_mnist"
        data.mkdir(exist_ok=True)
        rng = np.random.default_rng(0)
        for split, n in (("train", VALIDATION_IMAGES + 6), ("test", 3)):
            images, labels = IDX_FILES[split]
            pixels = rng.integers(0, 256, (n, 2, 2), dtype=np.uint8)
            (data / f"{images}.gz").write_bytes(gzip.compress(struct.pack(">HBB3I", 0, 8, 3, n, 2, 2) + pixels.tobytes()))
            digits = rng.integers(0, 10, n, dtype=np.uint8)
            (data / f"{labels}.gz").write_bytes(gzip.compress(struct.pack(">HBBI", 0, 8, 1, n) + digits.tobytes()))
        return {"data": str(data)}

    def __init__(self, options: SeqMNISTOptions) -> None:
        super().__init__(options)
        self._examples: dict[str, list[Example]] = {}

    def examples(self, split: Split, batch_size: int) -> list[Example]:
        if not self._examples:
            loaded = load_images(self.options.data)
            pixels = loaded["train"][0].shape[1]
            order = (torch.from_numpy(np.random.default_rng(self.options.permutation_seed).permutation(pixels))
                     if self.options.permuted else torch.arange(pixels))
            for name, (images, labels) in loaded.items():
                inputs = torch.as_tensor(images, dtype=torch.float32)[:, order, None]
                targets = torch.as_tensor(labels, dtype=torch.long)[:, None].expand(-1, pixels)
                self._examples[name] = list(zip(inputs, targets))
        return self._examples[split]

    def collate(self, examples: Sequence[Example]) -> Batch:
        """Scored at the last pixel only: the class is known once the whole image has been read."""
        batch = super().collate(examples)
        batch.mask[:, :-1] = False
        return batch

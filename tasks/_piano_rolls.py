"""Piano-roll files: the two standard formats of the polyphonic music sets, read with one-line errors.

* ``.mat`` (as distributed with Bai et al. 2018's TCN code): keys ``traindata``/``validdata``/
  ``testdata``, each a 1×N cell array of T×88 binary matrices;
* ``.pickle`` (Boulanger-Lewandowski et al. 2012's original): a dict ``train``/``valid``/``test`` →
  list of pieces → list of time steps → list of MIDI pitches 21..108.

Also a writer of the ``.mat`` layout and random long pieces, for tests and benchmarks of the
long-piece sets that the repository does not hold.
"""
from __future__ import annotations

import io
import pickle
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bench import UsageError, file_key

KEYS = 88
LOWEST_PITCH = 21  # A0, the lowest piano key
MAT_KEYS = {"train": "traindata", "val": "validdata", "test": "testdata"}
PICKLE_KEYS = {"train": "train", "val": "valid", "test": "test"}
Rolls = dict[str, list[np.ndarray]]
"""Split name (train/val/test) → pieces, each a (T, 88) uint8 piano roll."""


def load_file(data: str) -> Rolls:
    """The three splits of the piano-roll file ``data``; a UsageError if it is missing or unusable."""
    return _load_file(*file_key(data, "music", "a .mat or .pickle piano-roll file"))


@lru_cache(maxsize=4)
def _load_file(path: str, mtime_ns: int, size: int) -> Rolls:
    """Cached by path, modification time and size: resolving the config and building the task
    both ask for the data, and a file edited in between is read again."""
    if size == 0:
        raise UsageError(f"music: {path} is empty; give a .mat or .pickle piano-roll file")
    with open(path, "rb") as f:
        head = f.read(128)
    if head.startswith(b"MATLAB") or path.endswith(".mat"):
        return _from_mat(path)
    if head[:1] == b"\x80" or path.endswith((".pickle", ".pkl")):
        return _from_pickle(path)
    raise UsageError(f"music: {path} is neither a MATLAB .mat nor a .pickle piano-roll file")


def _from_mat(path: str) -> Rolls:
    import scipy.io

    try:
        contents = scipy.io.loadmat(path)
    except Exception as exc:
        raise UsageError(f"music: cannot read {path} as a .mat file ({type(exc).__name__}); "
                         "give a MATLAB v5 file with traindata/validdata/testdata") from None
    missing = [key for key in MAT_KEYS.values() if key not in contents]
    if missing:
        found = ", ".join(k for k in contents if not k.startswith("__")) or "none"
        raise UsageError(f"music: {path} lacks the key(s) {', '.join(missing)} (found: {found}); "
                         "expected traindata, validdata, testdata")
    rolls: Rolls = {}
    for split, key in MAT_KEYS.items():
        cell = np.asarray(contents[key])
        pieces = list(cell.ravel()) if cell.dtype == object else [cell]
        rolls[split] = [_checked_roll(np.asarray(p), f"{path}: {key}") for p in pieces]
    return _nonempty(rolls, path)


def _checked_roll(roll: np.ndarray, where: str) -> np.ndarray:
    if roll.ndim != 2 or roll.shape[1] != KEYS:
        raise UsageError(f"music: {where} holds a piece of shape {roll.shape}; each must be T x {KEYS} (piano keys)")
    if roll.size and not np.isin(roll, (0, 1)).all():
        raise UsageError(f"music: {where} holds values other than 0 and 1; piano rolls must be binary")
    return roll.astype(np.uint8)


_NUMPY_GLOBALS = {("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
                  ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                  ("numpy", "dtype"), ("numpy", "ndarray")}


class _PlainUnpickler(pickle.Unpickler):
    """Unpickling runs code named by the file. A piano-roll pickle needs none beyond numpy's own
    rebuilding of numbers and arrays (some copies store pitches as numpy scalars): refuse the rest."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _from_pickle(path: str) -> Rolls:
    try:
        with open(path, "rb") as f:
            # latin1: the original files are Python 2 pickles.
            contents = _PlainUnpickler(io.BytesIO(f.read()), encoding="latin1").load()
    except Exception as exc:
        raise UsageError(f"music: cannot read {path} as a piano-roll pickle ({exc}); "
                         "expected a dict train/valid/test of lists of MIDI-pitch lists") from None
    if not isinstance(contents, dict) or any(k not in contents for k in PICKLE_KEYS.values()):
        keys = ", ".join(map(str, contents)) if isinstance(contents, dict) else type(contents).__name__
        raise UsageError(f"music: {path} must hold a dict with keys train, valid, test (found: {keys})")
    rolls: Rolls = {}
    for split, key in PICKLE_KEYS.items():
        try:
            rolls[split] = [pitches_to_roll(piece) for piece in contents[key]]
        except (TypeError, ValueError) as exc:
            raise UsageError(f"music: {path}: {key!r}: {exc}") from None
    return _nonempty(rolls, path)


def pitches_to_roll(piece: Iterable[Iterable[int]]) -> np.ndarray:
    """A piece as a list of time steps, each the MIDI pitches sounding → a (T, 88) binary roll."""
    steps = [list(step) for step in piece]
    roll = np.zeros((len(steps), KEYS), dtype=np.uint8)
    for t, pitches in enumerate(steps):
        for pitch in pitches:
            if int(pitch) != pitch or not LOWEST_PITCH <= pitch < LOWEST_PITCH + KEYS:
                raise ValueError(f"pitch {pitch!r} is not a piano key (MIDI 21..108)")
            roll[t, int(pitch) - LOWEST_PITCH] = 1
    return roll


def roll_to_pitches(roll: np.ndarray) -> list[list[int]]:
    """Inverse of :func:`pitches_to_roll` (for writing the pickle format)."""
    return [[int(k) + LOWEST_PITCH for k in np.flatnonzero(frame)] for frame in roll]


def _nonempty(rolls: Rolls, path: str) -> Rolls:
    for split, pieces in rolls.items():
        pieces[:] = [p for p in pieces if len(p) >= 2]  # a single frame has nothing to predict
        if not pieces:
            raise UsageError(f"music: {path} has no {split} piece of 2 or more frames")
    return rolls


def write_mat(path: str | Path, rolls: Rolls) -> Path:
    """``rolls`` written in the ``.mat`` layout this task reads (a 1×N cell array per split): to
    convert a set, or to make a test or benchmark set."""
    import scipy.io

    cells = {}
    for split, key in MAT_KEYS.items():
        cell = np.empty((1, len(rolls[split])), dtype=object)
        for i, roll in enumerate(rolls[split]):
            cell[0, i] = roll
        cells[key] = cell
    scipy.io.savemat(path, cells)
    return Path(path)


def random_rolls(pieces: int, shortest: int, longest: int, seed: int) -> list[np.ndarray]:
    """``pieces`` random piano rolls of ``shortest``..``longest`` frames: three voices, each holding a
    key for 1–8 frames, then stepping up to 4 keys. Stands in for the long-piece sets (MuseData and
    Piano-midi.de run to 3,500–3,900 frames) that the repository does not hold, in tests and benchmarks."""
    rng = np.random.default_rng(seed)
    rolls = []
    for _ in range(pieces):
        roll = np.zeros((int(rng.integers(shortest, longest + 1)), KEYS), dtype=np.uint8)
        for low in (20, 35, 50):  # bass, tenor, soprano ranges
            key, t = low + int(rng.integers(0, 12)), 0
            while t < len(roll):
                held = int(rng.integers(1, 9))
                roll[t:t + held, key] = 1
                key = int(np.clip(key + rng.integers(-4, 5), low, low + 24))
                t += held
        rolls.append(roll)
    return rolls

"""Polyphonic music: next-frame prediction on 88-key piano rolls (Boulanger-Lewandowski et al. 2012).

The four standard sets (JSB Chorales, Nottingham, MuseData, Piano-midi.de) come in two formats, and
both load with ``--opt data=PATH``:

* ``.mat`` (as distributed with Bai et al. 2018's TCN code): keys ``traindata``/``validdata``/
  ``testdata``, each a 1×N cell array of T×88 binary matrices;
* ``.pickle`` (the original): a dict ``train``/``valid``/``test`` → list of pieces → list of time
  steps → list of MIDI pitches 21..108.

Input at step t is frame t, the target is frame t+1 (so a piece of T frames scores T−1 frames);
88 independent sigmoids; the metric is the NLL per frame summed over keys and pooled over every
scored frame of a split, the unit the papers report (``nll_per_frame``, equal to ``loss``), beside
the frame-level accuracy of Boulanger-Lewandowski et al. (``frame_acc``). Batches, truncated BPTT
(``--opt bptt=N`` for sets of long pieces) and evaluation are :class:`bench.SequenceDataset`'s.

Without ``data`` the default is the Bach chorales shipped in music21's corpus (``pip install
'rnnbench[music]'``), rebuilt like the standard JSB set: one frame per quarter note, transposed to
C major / C minor, split 60/20/20 by a hash of the chorale's name. It is built once and cached.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import math
import pickle
import random
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from bench import (
    Batch,
    DatasetOptions,
    Example,
    Metric,
    SequenceDataset,
    Split,
    UsageError,
    cache_dir,
    file_key,
    next_step,
    option,
    register_task,
)

KEYS = 88
LOWEST_PITCH = 21  # A0, the lowest piano key
MAT_KEYS = {"train": "traindata", "val": "validdata", "test": "testdata"}
PICKLE_KEYS = {"train": "train", "val": "valid", "test": "test"}
Rolls = dict[str, list[np.ndarray]]
"""Split name (train/val/test) → pieces, each a (T, 88) uint8 piano roll."""


@dataclasses.dataclass
class MusicOptions(DatasetOptions):
    data: str = option(
        "",
        "piano rolls: a .mat (traindata/validdata/testdata) or Boulanger-Lewandowski .pickle file; "
        "empty: Bach chorales from music21's corpus (pip install 'rnnbench[music]')",
    )

    def check(self) -> None:
        """Load (and cache) the data while the config is resolved, so that a bad file is a
        one-line error before any MLflow run is created."""
        load_rolls(self.data)


# -- loading ----------------------------------------------------------------------------------
def load_rolls(data: str) -> Rolls:
    """The three splits of ``data`` (a path, or "" for the music21 chorales); UsageError if unusable."""
    if not data:
        return chorales_from_music21()
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


# -- the no-download default: Bach chorales from music21 ----------------------------------------
def chorales_from_music21() -> Rolls:
    """JSB-style chorales from music21's bundled corpus, cached in $RNNBENCH_HOME/cache."""
    cache = cache_dir() / "music21_chorales_v2.npz"
    if cache.exists():
        with np.load(cache) as stored:
            return {split: [stored[k] for k in sorted(stored.files, key=_index) if k.startswith(split + "_")]
                    for split in MAT_KEYS}
    try:
        import music21  # noqa: F401
    except ImportError:
        raise UsageError("music: the default chorales need music21 (pip install 'rnnbench[music]'), "
                         "or give a piano-roll file with --opt data=PATH (e.g. JSB_Chorales.mat)") from None
    rolls = _build_chorales()
    cache.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {f"{s}_{i}": r for s, pieces in rolls.items() for i, r in enumerate(pieces)}
    np.savez_compressed(cache, **arrays)
    return rolls


def _index(key: str) -> int:
    return int(key.rsplit("_", 1)[1])


STANDARD_SET_OCTAVE = 12
"""The standard JSB set sits an octave above music21's MIDI numbers: its per-key training
frequencies match those of the rebuilt chorales shifted by 12 keys (MIDI 43..96 against 31..84)."""


def _build_chorales() -> Rolls:
    """Parse every chorale once: quarter-note frames, key of C (major or minor), 60/20/20 split."""
    from music21 import corpus

    rolls: Rolls = {"train": [], "val": [], "test": []}
    for name in sorted(set(corpus.chorales.Iterator(returnType="filename"))):  # the 371 Riemenschneider chorales
        score = corpus.parse(name)
        if len(score.parts) != 4:  # SATB chorales only, as in the standard set
            continue
        shift = -score.analyze("key").tonic.pitchClass % 12  # to C major or C minor, the nearer way
        score = score.transpose(shift - 12 if shift > 6 else shift)
        frames = math.ceil(float(score.highestTime))
        if frames < 2:
            continue
        roll = np.zeros((frames, KEYS), dtype=np.uint8)
        for note in score.flatten().notes:  # sampled on each beat: frame t holds what sounds at time t
            first = math.ceil(float(note.offset))
            last = math.ceil(float(note.offset + note.quarterLength))
            for p in note.pitches:
                key = p.midi + STANDARD_SET_OCTAVE - LOWEST_PITCH
                if 0 <= key < KEYS:
                    roll[first:last, key] = 1
        bucket = int(hashlib.sha256(name.encode()).hexdigest(), 16) % 10
        rolls["train" if bucket < 6 else "val" if bucket < 8 else "test"].append(roll)
    return rolls


# -- the task ---------------------------------------------------------------------------------
def frame_accuracy(outputs: Tensor, batch: Batch) -> Metric:
    """Bay et al. 2009's frame-level accuracy, as Boulanger-Lewandowski et al. 2012 report it: true
    positives ÷ (true positives + false positives + false negatives), pooled over every scored
    frame, a key predicted on when its probability exceeds 1/2. Silent keys agreeing count nothing,
    so predicting silence everywhere scores 0."""
    predicted, sounding = outputs > 0, batch.targets > 0.5
    scored = batch.mask[..., None]
    hits = (predicted & sounding & scored).sum()
    return hits.double(), ((predicted | sounding) & scored).sum().double()


@register_task("music")
class Music(SequenceDataset):
    """Polyphonic music (Boulanger-Lewandowski 2012): predict the next 88-key piano-roll frame; NLL/frame."""

    Options = MusicOptions
    input_kind = "features"
    input_size = KEYS
    output_kind = "bernoulli"
    output_size = KEYS
    target_metric = "nll_per_frame"
    target_mode = "min"
    target_value = 0.0  # never reached: the run ends on patience or on the step limit
    # The plain-loop settings of the issue (JSB test 8.38 LSTM / 8.65 GRU / 8.78 tanh); patience
    # keeps the best-validation weights, which the papers report.
    recommended: ClassVar[dict[str, Any]] = {
        "model.hidden_size": 200, "model.dropout": 0.3, "train.lr": 2e-3, "train.batch_size": 16,
        "train.clip_grad_norm": 1.0, "train.max_steps": 4000, "train.eval_every": 30, "train.patience": 10,
        "train.log_every": 15,
    }

    @classmethod
    def example_options(cls, folder: Path) -> dict[str, object]:
        """A tiny .pickle of random three-note chords: 6/3/3 pieces of 5-12 frames."""
        rng = random.Random(0)

        def pieces(n: int) -> list[list[list[int]]]:
            return [[sorted(rng.sample(range(21, 109), 3)) for _ in range(rng.randint(5, 12))] for _ in range(n)]

        path = folder / "tiny_rolls.pickle"
        path.write_bytes(pickle.dumps({"train": pieces(6), "valid": pieces(3), "test": pieces(3)}))
        return {"data": str(path)}

    def __init__(self, options: MusicOptions) -> None:
        super().__init__(options)
        self.rolls = load_rolls(options.data)
        # uint8 rolls (a quarter of float32's memory); batches are made float when padded.
        self._examples = {split: [next_step(torch.from_numpy(roll)) for roll in pieces]
                          for split, pieces in self.rolls.items()}

    def examples(self, split: Split, batch_size: int) -> list[Example]:
        """Each piece of ``split``: inputs frames 0..T−2, targets frames 1..T−1."""
        return self._examples[split]

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, Metric]:
        """NLL per frame (the papers' unit, = ``loss``) and frame-level accuracy; the other
        standard Bernoulli metrics (bits per key, all 88 keys right) mean little for music."""
        loss = super().metrics(outputs, batch)["loss"]
        return {"loss": loss, "nll_per_frame": loss, "frame_acc": frame_accuracy(outputs.detach(), batch)}

"""Polyphonic music: next-frame prediction on 88-key piano rolls (Boulanger-Lewandowski et al. 2012).

The four standard sets (JSB Chorales, Nottingham, MuseData, Piano-midi.de) load with
``--opt data=PATH`` in either of their two formats, ``.mat`` or the original ``.pickle``
(``tasks/_piano_rolls.py``).

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
import math
import pickle
import random
from collections.abc import Mapping
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
    next_step,
    option,
    register_task,
)
from tasks._piano_rolls import KEYS, LOWEST_PITCH, MAT_KEYS, Rolls, load_file


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
    return load_file(data)


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


BAI_2018 = "Bai et al. 2018"
BAI_2018_NLL = {  # test NLL per frame, Table 1 (verified; ../shared/REFERENCES.md)
    "jsb": {"lstm": 8.45, "gru": 8.43, "vanilla": 8.91},
    "nottingham": {"lstm": 3.29, "gru": 3.46, "vanilla": 4.05},
}


@register_task("music")
class Music(SequenceDataset[MusicOptions]):
    """Polyphonic music (Boulanger-Lewandowski 2012): predict the next 88-key piano-roll frame; NLL/frame."""

    input_kind = "features"
    input_size = KEYS
    output_kind = "bernoulli"
    output_size = KEYS
    target_metric = "nll_per_frame"
    target_mode = "min"
    target_value = 0.0
    target_words = "none: an NLL of 0 is never reached, so a run ends on patience or on the step limit"
    # The first plain-loop settings, kept after trying others on the bucketed batches (dropout 0.5,
    # hidden 256/300, lr 1e-3, batch 8, weight decay, --lr-decay: none did better); patience keeps the
    # best-validation weights, which the papers report. bptt stays 0 (whole pieces): on Nottingham
    # they reached a lower NLL than windows of 100 or 300 frames; long-piece sets want --opt bptt=100.
    recommended: ClassVar[dict[str, Any]] = {
        "model.hidden_size": 200, "model.dropout": 0.3, "train.lr": 2e-3, "train.batch_size": 16,
        "train.clip_grad_norm": 1.0, "train.max_steps": 4000, "train.eval_every": 30, "train.patience": 10,
        "train.log_every": 15,
    }

    @classmethod
    def published(cls, options: Mapping[str, Any], arch: str, test_loss: float | None = None) -> list[str]:
        """Bai et al. 2018's test NLL per frame (Table 1), only for a run on their data file."""
        data = str(options.get("data", "")).lower()
        return [f"{table[arch]} ({BAI_2018}, test NLL/frame)" for name, table in BAI_2018_NLL.items()
                if name in data and arch in table]

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

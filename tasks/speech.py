"""Speech waveforms: predict the next frame of raw 16 kHz audio, one Gaussian per sample (Chung et al. 2014).

The waveform is cut into frames of ``frame_size`` = k consecutive samples (default 20, 1.25 ms);
the input at step t is frame t and the target is frame t+1, so an utterance of n whole frames
scores n−1 frames (the last < k samples are left out). The output is a diagonal Gaussian per frame
(output kind ``gaussian``: the head emits k means and k log standard deviations, log σ clamped to
[−7, 7]); the metric ``nll_per_frame`` (= ``loss``) is the NLL summed over the k samples, pooled
over every scored frame of a split, in nats per frame of the *normalised* waveform: samples are
divided by the RMS of the training split (``Speech.scale``, in 16-bit units), so the NLL of the raw
16-bit values is ``nll_per_frame + k·ln(scale)``. ``mse`` is the squared error of the means per
sample, and ``baseline`` the NLL of the per-frame Gaussian fitted on the training frames (a mean
and a standard deviation per position 1..k, maximum likelihood), scored on the same frames.

Data (``--opt data=PATH``): a folder of ``.wav`` files (searched recursively; other files are
ignored), each one utterance, or a single ``.wav`` file. Every file must be 16 kHz, 16-bit PCM,
mono (read with the standard library's ``wave``; nothing is resampled). A folder is split by
utterance: files are ordered by the SHA-256 of their name (path relative to the folder) and cut
80/10/10 into train/val/test, with at least one file in val and in test (so at least 3 files). A
single file is split by time, 80/10/10.

Without ``data`` the default is speech synthesised offline with eSpeak NG through the library that
the ``espeakng-loader`` package bundles (``pip install 'rnnbench[speech]'``): the first 60 Harvard
sentences (IEEE 1969, lists 1–6), each read by one of four English voices in turn, resampled from
eSpeak's 22,050 Hz to 16 kHz and written as WAV files into ``$RNNBENCH_HOME/cache`` once; they then
load like any folder.

Utterances are the examples of a :class:`bench.SequenceDataset`: training batches of utterances of
similar length, in windows of ``bptt`` frames (truncated BPTT) with the state carried from window to
window, so the model sees each utterance whole; evaluation scores every transition of every
utterance once, each utterance from its first frame.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import wave
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from bench import (
    LOG_STD_MIN,
    Batch,
    DatasetOptions,
    Example,
    Metric,
    SequenceDataset,
    Split,
    UsageError,
    bench_home,
    file_key,
    gaussian_nll,
    next_step,
    option,
    register_task,
)
from tasks._wav import EXPECTED, RATE, write_wav

SPLITS = ("train", "val", "test")
FORMAT_HINT = "expected 16 kHz, 16-bit PCM, mono (convert first, e.g. sox IN -r 16000 -b 16 -c 1 OUT.wav)"
Corpus = dict[str, list[tuple[str, np.ndarray]]]
"""Split name → utterances, each ``(name, int16 samples)``."""


@dataclasses.dataclass
class SpeechOptions(DatasetOptions):
    data: str = option(
        "",
        "a folder of 16 kHz 16-bit mono .wav files (split by file 80/10/10) or one .wav file (split by time); "
        "empty: Harvard sentences synthesised with eSpeak NG (pip install 'rnnbench[speech]')",
    )
    frame_size: int = option(20, "samples per frame (k): the model reads frame t and predicts frame t+1", min=1)
    bptt: int = option(100, "frames per training window (truncated backpropagation through time; the state is "
                       "carried from window to window of an utterance); 0: whole utterances", min=0)

    def check(self) -> None:
        """Load (and cache) the audio while the config is resolved: a bad file is one line before any run."""
        prepare(self.data, self.frame_size)


# -- reading WAV files ------------------------------------------------------------------------
def read_wav(path: str) -> np.ndarray:
    """The samples of a 16 kHz 16-bit PCM mono WAV file as int16; a UsageError for anything else."""
    if os.path.getsize(path) == 0:
        raise UsageError(f"speech: {path} is empty; {FORMAT_HINT}")
    with open(path, "rb") as f:
        head = f.read(12)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise UsageError(f"speech: {path} is not a WAV file (no RIFF/WAVE header); {FORMAT_HINT}")
    try:
        with wave.open(path, "rb") as w:
            channels, width, rate, count = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            if (channels, width, rate) != (1, 2, RATE):
                raise UsageError(f"speech: {path} is {rate} Hz, {8 * width}-bit, {channels} channel(s); {FORMAT_HINT}")
            raw = w.readframes(count)
    except UsageError:
        raise
    except Exception as exc:  # wave.Error, EOFError, struct.error...: not a WAV file, or a broken one
        reason = (str(exc).splitlines() or [type(exc).__name__])[0] or type(exc).__name__
        raise UsageError(f"speech: {path} is not a readable PCM WAV file ({reason}); {FORMAT_HINT}") from None
    if len(raw) < 2 * count:
        raise UsageError(f"speech: {path} is truncated: its header announces {count} samples, "
                         f"it holds {len(raw) // 2}; {FORMAT_HINT}")
    return np.frombuffer(raw, dtype="<i2").astype(np.int16)


def load_corpus(data: str) -> Corpus:
    """The train/val/test utterances of ``data`` (a folder, one file, or "" for the default)."""
    if not data:
        from tasks.speech_espeak import espeak_corpus

        data = str(espeak_corpus())
    path = Path(data).expanduser()
    if not path.exists():
        raise UsageError(f"speech: no such file or folder {data}; give {EXPECTED} with --opt data=PATH")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() == ".wav" and p.is_file())
        if not files:
            raise UsageError(f"speech: {data} holds no .wav file; give {EXPECTED} with --opt data=PATH")
        keys = tuple(file_key(str(f), "speech", "a .wav file") for f in files)
        return _split_folder(str(path.resolve()), keys)
    return _split_file(*file_key(data, "speech", "a .wav file"))


def split_order(names: list[str]) -> list[str]:
    """Utterance names in split order: by the SHA-256 of the name, the same on every machine."""
    return sorted(names, key=lambda n: hashlib.sha256(n.encode("utf-8")).hexdigest())


def split_sizes(n: int) -> tuple[int, int, int]:
    """(train, val, test) file counts for n files: 80/10/10, at least one in val and in test."""
    held_out = max(1, round(0.1 * n))
    return n - 2 * held_out, held_out, held_out


@lru_cache(maxsize=4)
def _split_folder(root: str, keys: tuple[tuple[str, int, int], ...]) -> Corpus:
    """Cached by every file's path, modification time and size (the config check and the task both load)."""
    if len(keys) < 3:
        raise UsageError(f"speech: {root} holds {len(keys)} .wav file(s); a folder is split by file into "
                         "train/val/test and needs at least 3 (give one file to split it by time)")
    by_name = {Path(path).relative_to(root).as_posix(): path for path, _, _ in keys}
    ordered = split_order(list(by_name))
    sizes = split_sizes(len(ordered))
    corpus: Corpus = {}
    start = 0
    for split, size in zip(SPLITS, sizes):
        corpus[split] = [(name, read_wav(by_name[name])) for name in ordered[start:start + size]]
        start += size
    return corpus


@lru_cache(maxsize=4)
def _split_file(path: str, mtime_ns: int, size: int) -> Corpus:
    samples = read_wav(path)
    n = len(samples)
    bounds = [0, round(0.8 * n), round(0.9 * n), n]
    name = Path(path).name
    return {split: [(f"{name}[{bounds[i]}:{bounds[i + 1]}]", samples[bounds[i]:bounds[i + 1]])]
            for i, split in enumerate(SPLITS)}


@dataclasses.dataclass
class Prepared:
    """The normalised waveforms of each split and what was fitted on the training split."""

    names: dict[str, list[str]]
    waves: dict[str, list[np.ndarray]]
    """float32 waveforms divided by ``scale``, each at least two frames long."""
    scale: float
    """RMS of the training samples in 16-bit units (the waveforms are divided by it)."""
    baseline_mean: np.ndarray
    baseline_std: np.ndarray
    """Per-position (1..k) mean and standard deviation (maximum likelihood) of the training frames."""


@lru_cache(maxsize=4)
def _prepare(key: Any, data: str, frame_size: int) -> Prepared:
    corpus = load_corpus(data)
    names: dict[str, list[str]] = {}
    raw: dict[str, list[np.ndarray]] = {}
    for split in SPLITS:
        kept = [(n, s) for n, s in corpus[split] if len(s) >= 2 * frame_size]  # one frame predicts nothing
        if not kept:
            raise UsageError(f"speech: {data or 'the default data'}: no {split} utterance holds 2 frames of "
                             f"{frame_size} samples; give longer recordings or a smaller frame_size")
        names[split], raw[split] = [n for n, _ in kept], [s for _, s in kept]
    train = np.concatenate(raw["train"]).astype(np.float64)
    scale = float(np.sqrt(np.mean(train * train)))
    if scale == 0.0:
        raise UsageError(f"speech: {data or 'the default data'}: the training audio is silent (all samples 0)")
    waves = {split: [(s / scale).astype(np.float32) for s in raw[split]] for split in SPLITS}
    frames = np.concatenate([frames_of(w, frame_size) for w in waves["train"]]).astype(np.float64)
    return Prepared(names, waves, scale, frames.mean(0), frames.std(0))


def prepare(data: str, frame_size: int) -> Prepared:
    """Load, split and normalise ``data`` (cached by its files' content keys); UsageError if unusable."""
    return _prepare(_content_key(data), data, frame_size)


def _content_key(data: str) -> Any:
    """What makes a cached load stale: the data's files, their modification times and sizes."""
    if not data:  # the default lives in this home's cache: another home is another load
        return ("default", str(bench_home().resolve()))
    path = Path(data).expanduser()
    try:
        if path.is_dir():
            return tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in sorted(path.rglob("*.[wW][aA][vV]")))
        stat = path.stat()
        return (str(path), stat.st_mtime_ns, stat.st_size)
    except OSError:
        return None  # load_corpus says what is wrong


def frames_of(waveform: np.ndarray, frame_size: int) -> np.ndarray:
    """A waveform → its whole frames ``(n, frame_size)``; the last < frame_size samples are left out."""
    n = len(waveform) // frame_size
    return waveform[:n * frame_size].reshape(n, frame_size)


# -- the task ---------------------------------------------------------------------------------
@register_task("speech")
class Speech(SequenceDataset[SpeechOptions]):
    """Speech waveforms (Chung et al. 2014): predict the next frame of 16 kHz audio, Gaussian per sample; NLL/frame."""

    input_kind = "features"
    output_kind = "gaussian"
    target_metric = "nll_per_frame"
    target_mode = "min"
    recommended: ClassVar[dict[str, Any]] = {
        "model.hidden_size": 128, "train.lr": 2e-3, "train.batch_size": 32, "train.clip_grad_norm": 1.0,
        "train.max_steps": 3000, "train.eval_every": 100, "train.patience": 10, "train.log_every": 25,
    }

    @classmethod
    def example_options(cls, folder: Path) -> dict[str, object]:
        """A folder of three 75 ms utterances of noise (the minimum: one each for train, val and test)."""
        data = folder / "tiny_speech"
        data.mkdir(exist_ok=True)
        rng = np.random.default_rng(0)
        for i in range(3):
            write_wav(data / f"u{i}.wav", rng.normal(0, 1000, 1200).astype("<i2"))
        return {"data": str(data), "bptt": 10}

    def __init__(self, options: SpeechOptions) -> None:
        super().__init__(options)
        k = options.frame_size
        self.input_size = self.output_size = k
        # Below the lowest NLL a clamped Gaussian head can score: never reached, so a run ends on
        # patience or on the step limit.
        self.target_value = k * (0.5 * math.log(2 * math.pi) + LOG_STD_MIN) - 1.0
        self.target_words = ("none: below the lowest NLL a Gaussian head with clamped log σ can score, so a run ends "
                             "on patience or on the step limit")
        self.data = prepare(options.data, k)
        self.scale = self.data.scale
        self.baseline_mean = torch.tensor(self.data.baseline_mean, dtype=torch.float32)
        self.baseline_log_std = torch.tensor(np.log(self.data.baseline_std), dtype=torch.float32)
        self._examples: dict[str, list[Example]] = {}

    def frames(self, split: Split) -> list[np.ndarray]:
        """Each utterance of ``split`` as its whole frames ``(n, k)`` (normalised)."""
        return [frames_of(w, self.options.frame_size) for w in self.data.waves[split]]

    def examples(self, split: Split, batch_size: int) -> list[Example]:
        """Each utterance of ``split``: inputs frames 0..n−2, targets frames 1..n−1."""
        if split not in self._examples:
            self._examples[split] = [next_step(torch.from_numpy(f)) for f in self.frames(split)]
        return self._examples[split]

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, Metric]:
        metrics = super().metrics(outputs, batch)
        metrics["nll_per_frame"] = metrics["loss"]
        mean, log_std = self.baseline_mean.to(batch.targets.device), self.baseline_log_std.to(batch.targets.device)
        weights = batch.mask.to(outputs.dtype)
        metrics["baseline"] = ((gaussian_nll(mean, log_std, batch.targets) * weights).sum(), weights.sum())
        return metrics

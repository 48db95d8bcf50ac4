"""The WAV format the `speech` task reads and its default corpus writes: 16 kHz, 16-bit PCM, mono.

One module for both, so that the reader (:mod:`tasks.speech`) and the writer
(:mod:`tasks.speech_espeak`) cannot disagree and neither imports the other.
"""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE = 16_000
EXPECTED = "a folder of 16 kHz 16-bit PCM mono .wav files (or one .wav file)"


def write_wav(path: Path, samples: np.ndarray) -> None:
    """Write int16 samples as a 16 kHz 16-bit PCM mono WAV file."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())

"""The `speech` task's no-download default: Harvard sentences spoken by eSpeak NG, as WAV files.

The first 60 Harvard sentences (IEEE 1969, lists 1–6), each read by one of four English voices in
turn through the eSpeak NG library that the ``espeakng-loader`` package bundles (optional extra
``rnnbench[speech]``), resampled from eSpeak's 22,050 Hz to 16 kHz and written once into
``$RNNBENCH_HOME/cache``; :mod:`tasks.speech` then loads them like any folder. Kept apart from the
task because it is only the default's data, not how the task reads data.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench import UsageError, cache_dir
from tasks._wav import EXPECTED, RATE, write_wav

# -- the no-download default: Harvard sentences spoken by eSpeak NG ------------------------------
HARVARD = [
    # IEEE Recommended Practice for Speech Quality Measurements (1969), lists 1-6.
    "The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.", "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.", "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.", "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.", "Large size in stockings is hard to sell.",
    "The boy was there when the sun rose.", "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.", "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.", "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.", "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.", "The girl at the booth sold fifty bonds.",
    "The small pup gnawed a hole in the sock.", "The fish twisted and turned on the bent hook.",
    "Press the pants and sew a button on the vest.", "The swan dive was far short of perfect.",
    "The beauty of the view stunned the young boy.", "Two blue fish swam in the tank.",
    "Her purse was full of useless trash.", "The colt reared and threw the tall rider.",
    "It snowed, rained, and hailed the same morning.", "Read verse out loud for pleasure.",
    "Hoist the load to your left shoulder.", "Take the winding path to reach the lake.",
    "Note closely the size of the gas tank.", "Wipe the grease off his dirty face.",
    "Mend the coat before you go out.", "The wrist was badly strained and hung limp.",
    "The stray cat gave birth to kittens.", "The young girl gave no clear response.",
    "The meal was cooked before the bell rang.", "What joy there is in living.",
    "A king ruled the state in the early days.", "The ship was torn apart on the sharp reef.",
    "Sickness kept him home the third week.", "The wide road shimmered in the hot sun.",
    "The lazy cow lay in the cool grass.", "Lift the square stone over the fence.",
    "The rope will bind the seven books at once.", "Hop over the fence and plunge in.",
    "The friendly gang left the drug store.", "Mesh wire keeps chicks inside.",
    "The frosty air passed through the coat.", "The crooked maze failed to fool the mouse.",
    "Adding fast leads to wrong sums.", "The show was a flop from the very start.",
    "A saw is a tool used for making boards.", "The wagon moved on well oiled wheels.",
    "March the soldiers past the next hill.", "A cup of sugar makes sweet fudge.",
    "Place a rosebush near the porch steps.", "Both lost their lives in the raging storm.",
]
VOICES = ["en-us", "en-us+f3", "en+m3", "en-gb-x-rp+f2"]
"""American male, American female, British male, British (RP) female: sentence i gets voice i mod 4."""
DEFAULT_VERSION = "espeak_harvard_v1"


def espeak_corpus() -> Path:
    """The default folder of WAV files, synthesised once into $RNNBENCH_HOME/cache."""
    folder = cache_dir() / f"speech_{DEFAULT_VERSION}"
    if (folder / "DONE").exists():
        return folder
    if importlib.util.find_spec("espeakng_loader") is None:
        raise UsageError("speech: the default data is synthesised with eSpeak NG (pip install 'rnnbench[speech]'); "
                         f"or give {EXPECTED} with --opt data=PATH")
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".speech-"))
    try:
        # A fresh process: eSpeak NG's output depends on what the library synthesised before in the
        # same process, and a crash in the C library must not take the run down with it.
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        done = subprocess.run([sys.executable, "-c", "import sys; from tasks.speech_espeak import synthesise; "
                               "synthesise(sys.argv[1])", str(building)], capture_output=True, text=True, env=env)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise UsageError(f"speech: synthesising the default data with eSpeak NG failed ({last}); "
                             f"give {EXPECTED} with --opt data=PATH")
        (building / "DONE").write_text("".join(f"utt{i:02d}.wav\t{VOICES[i % len(VOICES)]}\t{s}\n"
                                               for i, s in enumerate(HARVARD)))
        if folder.exists() and not (folder / "DONE").exists():
            shutil.rmtree(folder)  # left half-made by hand: build it again
        try:
            os.rename(building, folder)
        except OSError:
            if not (folder / "DONE").exists():  # not another run that built it meanwhile
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return folder


def synthesise(out_dir: str) -> None:
    """Speak :data:`HARVARD` with :data:`VOICES` in turn into ``out_dir`` (run in a fresh process)."""
    import ctypes

    import espeakng_loader

    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                 ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    synchronous = 2  # AUDIO_OUTPUT_SYNCHRONOUS: the callback receives every sample before Synth returns
    rate = lib.espeak_Initialize(synchronous, 0, espeakng_loader.get_data_path().encode(), 0)
    if rate <= 0:
        raise RuntimeError(f"espeak_Initialize failed ({rate})")
    chunks: list[np.ndarray] = []

    @ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
    def collect(samples: ctypes._Pointer[ctypes.c_short], count: int, events: int | None) -> int:  # a C callback
        if count > 0 and samples:
            chunks.append(np.ctypeslib.as_array(samples, shape=(count,)).copy())
        return 0

    lib.espeak_SetSynthCallback(collect)
    for i, sentence in enumerate(HARVARD):
        voice = VOICES[i % len(VOICES)]
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise RuntimeError(f"eSpeak NG has no voice {voice}")
        chunks.clear()
        lib.espeak_ng_SetRandSeed(ctypes.c_long(i))  # the breathy voices add noise; fix it per sentence
        text = sentence.encode() + b"\0"
        if lib.espeak_Synth(text, len(text), 0, 1, 0, 0, None, None) != 0:  # 1: POS_CHARACTER
            raise RuntimeError(f"eSpeak NG could not speak {sentence!r}")
        lib.espeak_Synchronize()
        write_wav(Path(out_dir) / f"utt{i:02d}.wav", to_int16(resample(np.concatenate(chunks), rate, RATE)))
    lib.espeak_Terminate()


def resample(samples: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Band-limited resampling by the FFT (the spectrum cut or zero-padded at the new Nyquist)."""
    n = len(samples)
    m = round(n * new_rate / rate)
    spectrum = np.fft.rfft(samples.astype(np.float64))
    return np.fft.irfft(spectrum[:m // 2 + 1], m) * (m / n)


def to_int16(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.round(samples), -32768, 32767).astype(np.int16)

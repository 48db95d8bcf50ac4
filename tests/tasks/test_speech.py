"""Speech waveforms: frames predict the next frame, a Gaussian per sample scored in nats per frame,
the fitted per-frame Gaussian is the baseline to beat, and a bad file is one line."""
import hashlib
import importlib.util
import itertools
import math
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.core.errors import UsageError
from bench.core.network import build_task
from bench.core.resolve import resolve
from bench.core.task import Draw
from bench.train.run import fit
from tasks.speech import Speech, frames_of, split_order

SHARED_SPEECH = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "speech"
needs_shared_speech = pytest.mark.skipif(
    not SHARED_SPEECH.is_dir(), reason=f"shared test data not found at {SHARED_SPEECH} (../shared/data is absent)")
CPU = torch.device("cpu")


def write_wav(path: Path, samples, rate: int = 16_000, width: int = 2, channels: int = 1) -> Path:
    data = np.asarray(samples)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data.astype({1: np.uint8, 2: "<i2"}[width]).tobytes())
    return path


def voiced(n: int, seed: int) -> np.ndarray:
    """A speech-like test signal: a decaying resonance excited every 100 samples (160 Hz), plus noise."""
    rng = np.random.default_rng(seed)
    excitation = np.zeros(n)
    excitation[::100] = 3000.0
    x = np.zeros(n)
    for t in range(2, n):
        x[t] = 1.6 * x[t - 1] - 0.8 * x[t - 2] + excitation[t]
    return np.round(x + rng.normal(0, 30, n)).astype(np.int16)


def folder(tmp_path: Path, n: int = 5, samples: int = 2_000) -> Path:
    root = tmp_path / "wavs"
    root.mkdir()
    for i in range(n):
        write_wav(root / f"u{i}.wav", voiced(samples + 37 * i, i))
    return root


def speech_task(data: Path, **options) -> Speech:
    return build_task(resolve({"task": {"name": "speech"}}, plugin_options={"data": str(data), **options}))


def test_frames_are_consecutive_samples_and_each_target_is_the_next_frame(tmp_path):
    ramp = np.arange(1_000, dtype=np.int16)  # sample i holds the value i: positions are readable
    write_wav(tmp_path / "ramp.wav", ramp)
    task = speech_task(tmp_path / "ramp.wav", frame_size=20, bptt=7)  # one file: split 80/10/10 by time
    [train] = task.data.waves["train"]
    assert np.allclose(train * task.scale, ramp[:800])  # normalised by the RMS of the training samples
    assert math.isclose(task.scale, math.sqrt(np.mean(ramp[:800].astype(np.float64) ** 2)), rel_tol=1e-9)
    frames = frames_of(train, 20)
    assert frames.shape == (40, 20) and np.allclose(frames[3] * task.scale, np.arange(60, 80))
    batches = task.eval_batches("train", Draw(4))  # 39 transitions in windows of 7, the state carried
    assert [b.inputs.shape[1] for b in batches] == [7, 7, 7, 7, 7, 4]
    assert [b.continues for b in batches] == [False] + [True] * 5
    assert all(b.inputs.shape[-1] == 20 and b.targets.shape[-1] == 20 for b in batches)
    assert sum(int(b.mask.sum()) for b in batches) == 39  # 40 frames: 39 transitions, each scored once
    for batch in batches:
        assert torch.equal(batch.inputs[:, 1:], batch.targets[:, :-1])  # targets = inputs shifted by a frame
        step = (batch.targets[..., 0] - batch.inputs[..., 0]) * task.scale
        assert torch.allclose(step[batch.mask], torch.tensor(20.0), atol=1e-3)  # the ramp, 20 samples on


def test_training_windows_carry_each_utterance_whole(tmp_path):
    task = speech_task(folder(tmp_path), frame_size=10, bptt=16)  # 3 training utterances of ~200 frames
    train = task.frames("train")
    epoch = len(task.eval_batches("train", Draw(4)))
    stream = list(itertools.islice(task.train_batches(Draw(4, batches=10**6)), epoch))  # one epoch's windows
    assert all(b.inputs.shape[1] <= 16 for b in stream) and not stream[0].continues and stream[1].continues
    whole = torch.cat([b.inputs for b in stream], 1)  # the epoch's one batch of all three, window after window
    assert sorted(int(m.sum()) for m in torch.cat([b.mask for b in stream], 1)) == sorted(len(f) - 1 for f in train)
    for row, mask in zip(whole, torch.cat([b.mask for b in stream], 1)):
        assert any(torch.equal(row[mask], torch.from_numpy(f[:-1])) for f in train)


def test_a_folder_is_split_by_file_by_the_hash_of_the_name(tmp_path):
    root = folder(tmp_path, n=10)
    (root / "notes.txt").write_text("not audio: ignored in a folder")
    task = speech_task(root)
    names = task.data.names
    assert [len(names[s]) for s in ("train", "val", "test")] == [8, 1, 1]
    by_hash = sorted((f"u{i}.wav" for i in range(10)), key=lambda n: hashlib.sha256(n.encode()).hexdigest())
    assert names["train"] + names["val"] + names["test"] == by_hash == split_order([f"u{i}.wav" for i in range(10)])


def fitted_gaussian_nll_by_hand(train: list[np.ndarray], test: list[np.ndarray], k: int) -> tuple:
    """Mean and σ per position 1..k over all training frames (maximum likelihood); NLL per test
    frame 2..n of each utterance, summed over the k samples."""
    frames = np.concatenate([frames_of(w, k) for w in train]).astype(np.float64)
    mean, std = frames.mean(0), frames.std(0)
    targets = np.concatenate([frames_of(w, k)[1:] for w in test]).astype(np.float64)
    nll = (0.5 * np.log(2 * np.pi) + np.log(std) + 0.5 * ((targets - mean) / std) ** 2).sum(1)
    return mean, std, nll.mean()


def test_the_fitted_per_frame_gaussian_scores_exactly_the_nll_by_hand(tmp_path):
    task = speech_task(folder(tmp_path, n=6), frame_size=8, bptt=30)
    mean, std, by_hand = fitted_gaussian_nll_by_hand(task.data.waves["train"], task.data.waves["test"], 8)
    outputs = torch.tensor(np.concatenate([mean, np.log(std)]), dtype=torch.float32)  # k means, then k log σ
    totals = {"nll_per_frame": [0.0, 0.0], "baseline": [0.0, 0.0]}
    for batch in task.eval_batches("test", Draw(3)):
        metrics = task.metrics(outputs.expand(*batch.targets.shape[:2], 16), batch)
        for name in totals:
            totals[name][0] += float(metrics[name][0])
            totals[name][1] += float(metrics[name][1])
    assert math.isclose(totals["nll_per_frame"][0] / totals["nll_per_frame"][1], by_hand, rel_tol=1e-5)
    assert math.isclose(totals["baseline"][0] / totals["baseline"][1], by_hand, rel_tol=1e-5)  # the reported baseline


@needs_shared_speech
def test_the_shared_utterances_load_and_split_16_2_2():
    task = speech_task(SHARED_SPEECH)
    assert [len(task.data.names[s]) for s in ("train", "val", "test")] == [16, 2, 2]
    assert task.input_size == task.output_size == 20 and 2_000 < task.scale < 4_000
    _, _, baseline = fitted_gaussian_nll_by_hand(task.data.waves["train"], task.data.waves["test"], 20)
    assert 25 < baseline < 35  # ≈ 20·(½·ln 2πe) = 28.4 for unit-variance samples


@needs_shared_speech
def test_a_gru_learns_far_below_the_fitted_gaussian_on_two_utterances(tmp_path):
    data = tmp_path / "three"
    data.mkdir()
    for name in ("utt00.wav", "utt01.wav", "utt02.wav"):  # split 1/1/1 by file
        shutil.copy(SHARED_SPEECH / name, data / name)
    config = resolve({"task": {"name": "speech"}, "model": {"arch": "gru", "hidden_size": 32}},
                     {"train": {"threads": 1, "max_steps": 200, "eval_every": 200, "batch_size": 16, "lr": 3e-3,
                                "patience": 0}}, {"data": str(data)})
    result = fit(config, progress=False)
    # Measured: test NLL 12.8 nats/frame against the baseline's 32.2 after 200 steps (~4 s).
    assert result.metrics["test/nll_per_frame"] < result.metrics["test/baseline"] - 10


@pytest.mark.skipif(importlib.util.find_spec("espeakng_loader") is None,
                    reason="espeakng-loader is not installed (pip install 'rnnbench[speech]')")
def test_the_default_is_harvard_sentences_synthesised_the_same_way_every_time(isolated_store, monkeypatch):
    task = build_task(resolve({"task": {"name": "speech"}}))
    assert [len(task.data.names[s]) for s in ("train", "val", "test")] == [48, 6, 6]
    folder = next((isolated_store / "cache").glob("speech_*"))
    assert len(list(folder.glob("*.wav"))) == 60 and (folder / "DONE").exists()
    with wave.open(str(folder / "utt00.wav")) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (16_000, 2, 1)
        assert 1.5 < w.getnframes() / 16_000 < 3.5  # "The birch canoe slid on the smooth planks."
    # eSpeak NG's noise is seeded per sentence: another build gives the same bytes.
    monkeypatch.setenv("RNNBENCH_HOME", str(isolated_store.parent / "another"))
    from tasks.speech_espeak import espeak_corpus

    again = espeak_corpus()
    assert again != folder
    assert all(f.read_bytes() == (again / f.name).read_bytes() for f in folder.glob("*.wav"))


def test_default_without_espeak_says_what_to_do(bench_main, usage_error, monkeypatch):
    """Where the optional extra is not installed (simulated here, where it is)."""
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "espeakng_loader" else real_find_spec(name, *args))
    result = bench_main("run", "--task", "speech", "--dry-run")
    usage_error(result, "pip install 'rnnbench[speech]'")
    assert "--opt data=PATH" in result.stderr


def truncated(d: Path) -> Path:
    path = write_wav(d / "cut.wav", voiced(4_000, 0))
    path.write_bytes(path.read_bytes()[:3_000])  # the header still announces 4,000 samples
    return path


BAD_DATA = {
    "not a wav file": (lambda d: (d / "notes.wav").write_text("C E G\n") and d / "notes.wav", "not a WAV file"),
    "truncated wav": (truncated, "is truncated"),
    "empty folder": (lambda d: (d / "none").mkdir() or d / "none", "holds no .wav file"),
    "missing path": (lambda d: d / "nope", "no such file or folder"),
    "8-bit samples": (lambda d: write_wav(d / "u8.wav", np.full(4_000, 128), width=1), "8-bit"),
}


@pytest.mark.fresh_store
@pytest.mark.parametrize("make, message", BAD_DATA.values(), ids=BAD_DATA.keys())
def test_bad_data_is_one_line_exit_2_before_any_run(bench_main, usage_error, tmp_path, isolated_store, make, message):
    result = bench_main("run", "--task", "speech", "--opt", f"data={make(tmp_path)}", "--threads", "1", "--no-progress")
    usage_error(result, message)
    assert not (isolated_store / "mlflow.db").exists()


MORE_BAD_DATA = {
    "empty file": (lambda d: (d / "e.wav").touch() or d / "e.wav", "is empty"),
    "8 kHz": (lambda d: write_wav(d / "r.wav", voiced(4_000, 0), rate=8_000), "8000 Hz"),
    "stereo": (lambda d: write_wav(d / "s.wav", voiced(4_000, 0), channels=2), "2 channel(s)"),
    "RIFF but broken": (lambda d: (d / "b.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEjunk") and d / "b.wav",
                        "not a readable PCM WAV file"),
    "two files only": (lambda d: folder(d, n=2), "needs at least 3"),
    "too short for two frames": (lambda d: write_wav(d / "short.wav", voiced(30, 0)), "no train utterance"),
}


@pytest.mark.parametrize("make, message", MORE_BAD_DATA.values(), ids=MORE_BAD_DATA.keys())
def test_more_bad_data_is_a_usage_error_with_one_line(tmp_path, make, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")) as error:
        resolve({"task": {"name": "speech"}}, plugin_options={"data": str(make(tmp_path))})
    assert "\n" not in str(error.value)

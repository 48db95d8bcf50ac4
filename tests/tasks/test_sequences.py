"""Your own sequences: each format loads the same sequences, the target kind is inferred (or asked),
features are scaled by training statistics, splits come from the file or a hash of the id, every
bad file is one line before any run, and a GRU learns each target kind."""
import numpy as np
import pandas as pd
import pytest
import torch

from bench.core.errors import UsageError
from bench.core.network import build_task
from bench.core.resolve import resolve
from bench.train.run import fit
from tasks.sequences import write_example_csv


def task(path, **options):
    return build_task(resolve({"task": {"name": "sequences"}}, plugin_options={"data": str(path), **options}))


def objects(arrays):
    """An object array of per-sequence arrays (np.array would stack arrays of one shape into one block)."""
    out = np.empty(len(arrays), dtype=object)
    out[:] = list(arrays)
    return out


def long_form(sequences, targets=None, splits=None):
    """Long-form rows of ``sequences`` (each a (T, D) array): sequence, step, f0.., target, split."""
    rows = []
    for s, x in enumerate(sequences):
        row = pd.DataFrame({"sequence": f"q{s}", "step": np.arange(len(x))})
        for d in range(x.shape[1]):
            row[f"f{d}"] = x[:, d]
        if targets is not None:
            row["target"] = targets[s]
        if splits is not None:
            row["split"] = splits[s]
        rows.append(row)
    return pd.concat(rows)


def ts_file(path, cases, labels, regression=False):
    """A UEA/UCR .ts file: header, then one case per line (dimensions split by ':', label last)."""
    head = ["# generated for a test", "@problemName Toy", "@timeStamps false", "@missing false",
            f"@univariate {str(cases[0].shape[1] == 1).lower()}", f"@dimensions {cases[0].shape[1]}",
            "@equalLength false",
            "@targetLabel true" if regression else f"@classLabel true {' '.join(sorted(set(map(str, labels))))}", "@data"]
    body = [":".join(",".join(f"{v:.6g}" for v in case[:, d]) for d in range(case.shape[1])) + f":{label}"
            for case, label in zip(cases, labels)]
    path.write_text("\n".join(head + body) + "\n")
    return path


RNG = np.random.default_rng(0)
WAVES = [RNG.standard_normal((int(RNG.integers(3, 9)), 2)) * 5 + 3 for _ in range(60)]
LABELS = ["up" if x[:, 0].mean() > 3 else "down" for x in WAVES]


def test_csv_parquet_and_npz_of_the_same_sequences_give_the_same_examples(tmp_path):
    frame = long_form(WAVES, LABELS)
    frame.sample(frac=1, random_state=0).to_csv(tmp_path / "a.csv", index=False)  # rows in any order
    frame.to_parquet(tmp_path / "a.parquet")
    np.savez(tmp_path / "a.npz", inputs=objects(WAVES), targets=np.array(LABELS),
             ids=np.array([f"q{s}" for s in range(len(WAVES))]))
    loaded = [task(tmp_path / name) for name in ("a.csv", "a.parquet", "a.npz")]
    for split in ("train", "val", "test"):
        first = loaded[0].examples(split, 8)
        assert first
        for other in loaded[1:]:
            assert all(torch.equal(x, x2) and torch.equal(y, y2) for (x, y), (x2, y2) in zip(first, other.examples(split, 8),
                                                                                         strict=True))
    csv = loaded[0]
    assert (csv.input_kind, csv.input_size, csv.output_kind, csv.output_size) == ("features", 2, "categorical", 2)
    assert csv.prepared.kind == "class" and csv.prepared.classes == ("down", "up")


def test_a_padded_npz_with_lengths_is_cut_to_each_sequences_length(tmp_path):
    padded = np.zeros((len(WAVES), 8, 2))
    for i, x in enumerate(WAVES):
        padded[i, :len(x)] = x
    np.savez(tmp_path / "p.npz", inputs=padded, lengths=[len(x) for x in WAVES], targets=np.array(LABELS))
    np.savez(tmp_path / "o.npz", inputs=objects(WAVES), targets=np.array(LABELS))
    a, b = task(tmp_path / "p.npz"), task(tmp_path / "o.npz")
    assert all(torch.equal(x, x2) for (x, _), (x2, _) in zip(a.examples("train", 8), b.examples("train", 8), strict=True))


def test_real_features_are_scaled_by_the_training_splits_statistics_only(tmp_path):
    long_form(WAVES, LABELS).to_csv(tmp_path / "a.csv", index=False)
    scaled, kept = task(tmp_path / "a.csv"), task(tmp_path / "a.csv", normalise=False)
    train = torch.cat([x for x, _ in scaled.examples("train", 8)]).double()
    assert torch.allclose(train.mean(0), torch.zeros(2, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(train.std(0, correction=0), torch.ones(2, dtype=torch.float64), atol=1e-5)
    raw = torch.cat([x for x, _ in kept.examples("train", 8)]).double()
    for split in ("val", "test"):  # the same affine map, fitted on train
        x, x_raw = scaled.examples(split, 8)[0][0].double(), kept.examples(split, 8)[0][0].double()
        assert torch.allclose(x, (x_raw - raw.mean(0)) / raw.std(0, correction=0), atol=1e-5)


INFERRED = {  # (targets per sequence, expected kind, per sequence, output kind)
    "string labels": (lambda x: str(int(x.sum() > 0)), "class", True, "categorical"),
    "integer labels": (lambda x: int(x.sum() > 0), "class", True, "categorical"),
    "labels per step": (lambda x: (x[:, 0] > 0).astype(int), "per_step", False, "categorical"),
    "real per sequence": (lambda x: float(x.sum()), "real", True, "real"),
    "real per step": (lambda x: np.cumsum(x[:, 0]), "real", False, "real"),
    "no targets": (None, "next", False, "real"),
}


@pytest.mark.parametrize("make, kind, per_sequence, output", INFERRED.values(), ids=INFERRED.keys())
def test_the_target_kind_is_inferred_from_the_file(tmp_path, make, kind, per_sequence, output):
    waves = [x - 3 for x in WAVES]
    long_form(waves, None if make is None else [make(x) for x in waves]).to_csv(tmp_path / "a.csv", index=False)
    loaded = task(tmp_path / "a.csv")
    assert (loaded.prepared.kind, loaded.prepared.per_sequence, loaded.output_kind) == (kind, per_sequence, output)
    x, y = loaded.examples("train", 8)[0]
    assert len(y) == len(x)
    if kind == "next":  # each step's target is the next step's (scaled) input
        assert torch.equal(y[:-1], x[1:])


def test_one_target_per_sequence_is_scored_at_each_sequences_last_step_only(tmp_path):
    long_form(WAVES, LABELS).to_csv(tmp_path / "a.csv", index=False)
    loaded = task(tmp_path / "a.csv")
    examples = loaded.examples("train", 8)[:5]
    batch = loaded.collate(examples)
    assert batch.mask.sum(1).tolist() == [1] * 5
    assert batch.mask.long().argmax(1).tolist() == [len(x) - 1 for x, _ in examples]
    per_step = task(tmp_path / "a.csv", target="per_step")  # asked: every step scored with the label
    assert per_step.collate(per_step.examples("train", 8)[:5]).mask.sum().item() == sum(len(x) for x, _ in examples)


def test_splits_come_from_the_file_else_from_a_hash_of_each_sequences_id(tmp_path):
    splits = ["test" if s % 5 == 0 else "valid" if s % 5 == 1 else "train" for s in range(len(WAVES))]
    long_form(WAVES, LABELS, splits).to_csv(tmp_path / "given.csv", index=False)
    given = task(tmp_path / "given.csv")
    assert [len(given.examples(s, 8)) for s in ("train", "val", "test")] == [36, 12, 12]
    many = [RNG.standard_normal((4, 1)) for _ in range(400)]
    long_form(many, [int(x.sum() > 0) for x in many]).to_csv(tmp_path / "all.csv", index=False)
    long_form(many[:300], [int(x.sum() > 0) for x in many[:300]]).to_csv(tmp_path / "part.csv", index=False)
    whole, part = task(tmp_path / "all.csv", normalise=False), task(tmp_path / "part.csv", normalise=False)
    sizes = [len(whole.examples(s, 8)) for s in ("train", "val", "test")]
    assert 0.75 < sizes[0] / 400 < 0.85 and 0.06 < sizes[1] / 400 < 0.14 and 0.06 < sizes[2] / 400 < 0.14
    for split in ("train", "val", "test"):  # a sequence's split is its id's alone
        held = {tuple(x.flatten().tolist()) for x, _ in whole.examples(split, 8)}
        assert {tuple(x.flatten().tolist()) for x, _ in part.examples(split, 8)} <= held


def test_a_ts_train_test_pair_loads_as_the_archive_splits_it(tmp_path):
    cases = [RNG.standard_normal((int(RNG.integers(5, 12)), 3)) for _ in range(50)]
    labels = [int(c[:, 0].mean() > 0) + 1 for c in cases]
    ts_file(tmp_path / "Toy_TRAIN.ts", cases[:40], labels[:40])
    ts_file(tmp_path / "Toy_TEST.ts", cases[40:], labels[40:])
    loaded = task(tmp_path / "Toy_TRAIN.ts", normalise=False)
    train, val, test = (loaded.examples(s, 8) for s in ("train", "val", "test"))
    assert len(test) == 10 and len(train) + len(val) == 40 and val
    assert torch.allclose(test[0][0], torch.tensor(cases[40], dtype=torch.float32), atol=1e-5)
    assert loaded.prepared.classes == ("1", "2") and int(test[0][1][-1]) == labels[40] - 1
    assert loaded.input_size == 3 and loaded.prepared.kind == "class"


def missing_values(d):
    path = ts_file(d / "Gaps_TRAIN.ts", [RNG.standard_normal((6, 1)) for _ in range(20)], [1, 2] * 10)
    lines = path.read_text().splitlines()
    lines[-3] = lines[-3].replace(",", ",?,", 1)  # as the archive marks a gap
    path.write_text("\n".join(lines) + "\n")
    return path


def npz(name, **arrays):
    def make(d):
        np.savez(d / name, **arrays)
        return d / name
    return make


def csv(name, frame):
    def make(d):
        frame.to_csv(d / name, index=False)
        return d / name
    return make


SHORT = [RNG.standard_normal((5, 2)) for _ in range(40)]
BAD_FILES = {
    "unknown extension": (lambda d: (d / "a.xlsx").write_text("x") and d / "a.xlsx", "unknown file type '.xlsx'"),
    "ragged feature widths": (npz("r.npz", inputs=objects([np.zeros((4, 2)), np.zeros((4, 3))] * 20),
                                  targets=np.arange(40) % 2), "ragged feature widths"),
    "NaN input": (csv("n.csv", long_form([np.where(np.arange(5)[:, None] == 3, np.nan, x) if i == 7 else x for i, x in enumerate(SHORT * 2)],
                                         [i % 2 for i in range(80)])), "NaN or infinite inputs"),
    "infinite target": (npz("i.npz", inputs=objects(SHORT), targets=np.array([1.5] * 39 + [np.inf])),
                        "NaN or infinite targets"),
    "per-step target of another length": (npz("l.npz", inputs=objects(SHORT),
                                              targets=objects([np.zeros(4, dtype=int)] * 40)),
                                          "has 5 steps but 4 targets"),
    "a split with no sequences": (csv("s.csv", long_form(SHORT, [i % 2 for i in range(40)], ["train"] * 30 + ["val"] * 10)),
                                  "split 'test' has no sequences"),
    "a single class": (csv("c.csv", long_form(SHORT, ["cat"] * 40)), "single class"),
    ".ts with missing values": (missing_values, "missing values"),
}


@pytest.mark.fresh_store
@pytest.mark.parametrize("make, message", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_every_bad_file_is_one_line_exit_2_before_any_run(bench_main, usage_error, tmp_path, isolated_store, make, message):
    result = bench_main("run", "--task", "sequences", "--opt", f"data={make(tmp_path)}", "--no-progress")
    usage_error(result, message)
    assert not (isolated_store / "mlflow.db").exists()


def test_asking_for_a_kind_the_file_cannot_give_is_one_line(tmp_path):
    long_form(SHORT, [np.arange(5) % 2 for _ in SHORT]).to_csv(tmp_path / "steps.csv", index=False)
    with pytest.raises(UsageError, match="target=class needs one label per sequence") as error:
        task(tmp_path / "steps.csv", target="class")
    assert "\n" not in str(error.value)
    long_form(SHORT, LABELS[:40]).to_csv(tmp_path / "labels.csv", index=False)
    with pytest.raises(UsageError, match="target=real needs numeric targets"):
        task(tmp_path / "labels.csv", target="real")


# -- each target kind is learnt: a GRU beats what its chance or baseline would score, clearly ------------------
def learn(path, **train):
    config = resolve({"task": {"name": "sequences", "data": str(path)}, "model": {"arch": "gru", "hidden_size": 32}},
                     {"train": {"threads": 1, "eval_every": 100, "early_stop": False, **train}})
    return fit(config, progress=False).metrics


def test_a_gru_tells_the_two_classes_of_waves_apart(tmp_path):
    write_example_csv(tmp_path / "waves.csv", sequences=300, seed=2)
    assert learn(tmp_path / "waves.csv", max_steps=200)["test/acc"] >= 0.9  # chance: 0.5


def test_a_gru_labels_every_step_with_the_token_before_it(tmp_path):
    sequences = [RNG.integers(0, 4, int(RNG.integers(6, 16))) for _ in range(400)]
    delayed = [np.concatenate([[0], s[:-1]]) for s in sequences]
    np.savez(tmp_path / "delay.npz", inputs=objects(sequences), targets=objects(delayed))
    assert task(tmp_path / "delay.npz").prepared.kind == "per_step"
    assert learn(tmp_path / "delay.npz", max_steps=300)["test/acc"] >= 0.95  # chance: about 0.25


def test_a_gru_regresses_each_cases_mean_from_a_ts_file(tmp_path):
    cases = [RNG.standard_normal((int(RNG.integers(4, 10)), 1)) + RNG.standard_normal() for _ in range(400)]
    ts_file(tmp_path / "Mean.ts", cases, [f"{c.mean():.6g}" for c in cases], regression=True)
    assert task(tmp_path / "Mean.ts").prepared.kind == "real"
    assert learn(tmp_path / "Mean.ts", max_steps=300)["test/mse"] <= 0.2  # predicting the training mean: about 1


def test_a_gru_predicts_the_next_token_of_a_cycle_from_parquet(tmp_path):
    cycle = np.array(list("abcd"))
    starts = RNG.integers(0, 4, 300)
    frame = pd.concat([pd.DataFrame({"sequence": s, "step": np.arange(12), "token": cycle[(start + np.arange(12)) % 4]})
                       for s, start in enumerate(starts)])
    frame.to_parquet(tmp_path / "cycle.parquet")
    assert task(tmp_path / "cycle.parquet").prepared.kind == "next"
    assert learn(tmp_path / "cycle.parquet", max_steps=200)["test/acc"] >= 0.95  # chance 0.25; every step follows


def test_bench_list_sequences_documents_every_format_target_kind_and_option(bench_main):
    from tasks.sequences import SequencesOptions

    shown = bench_main("list", "sequences").stdout
    for word in (".npz", ".csv", ".parquet", ".ts", "lengths", "sequence", "step", "token", "split", "@targetLabel",
                 "class", "per_step", "real", "next", "80/10/10"):
        assert word in shown, word
    for name in SequencesOptions.__dataclass_fields__:
        assert f"--opt {name}=" in shown, name

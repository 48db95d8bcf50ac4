"""Readers for the ``sequences`` task: a user's file → :class:`RawSet`, one sequence per entry.

Each reader only says what the file holds (inputs, targets, splits, ids) and refuses what it
cannot read in one line; deciding what the targets mean, checking values and splitting is
``tasks/sequences.py``'s, the same for every format. Formats by extension:

* ``.npz`` (NumPy): ``inputs`` as an object array of ``(T_i,)`` integer or ``(T_i, D)`` float arrays,
  or one padded ``(N, T[, D])`` array with ``lengths``; optional ``targets``, ``split``, ``ids``.
  Object arrays are pickled inside the file, so it is loaded with ``allow_pickle``: read only files
  you trust, as with any pickle.
* ``.csv`` / ``.parquet`` (pandas): long form, one row per step: ``sequence``, ``step``, then either
  feature columns (numbers) or one ``token`` column (integers or strings), and optional ``target``
  and ``split`` columns.
* ``.ts`` (the UEA/UCR time-series archive): ``@`` header lines, then one case per line, its
  dimensions separated by ``:`` and its values by ``,``, the class label (``@classLabel true ...``)
  or the regression value (``@targetLabel true``) last. A ``NAME_TRAIN.ts`` is read with its
  ``NAME_TEST.ts`` beside it, as the archive ships them.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bench import UsageError

if TYPE_CHECKING:  # pandas loads only when a long-form file is read
    import pandas as pd

FORMATS = (".npz", ".csv", ".parquet", ".ts")
SPLIT_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}


@dataclasses.dataclass
class RawSet:
    """What a file holds, before any meaning is given to its targets."""

    ids: list[str]
    inputs: list[np.ndarray]
    """Per sequence: ``(T,)`` integer token ids, or ``(T, D)`` feature values."""
    targets: list[np.ndarray] | None
    """Per sequence: a 0-d array (one target for the sequence) or ``(T,)`` / ``(T, K)`` (one per step); None: none."""
    splits: list[str] | None = None
    """Per sequence: train, val or test, as the file says; None: the file says nothing."""
    tokens: bool = False
    vocabulary: list[str] | None = None
    """Token names when the file spells tokens as strings (their ids are the sorted names' indices)."""
    target_is_real: bool | None = None
    """Whether the file says its targets are real values (a .ts regression file) or labels; None: infer."""
    test_from: str = ""
    """Where the test split came from, when a second file gave it (a .ts archive pair)."""


def read(path: Path) -> RawSet:
    """The sequences of ``path``, by its extension; a UsageError for a file that cannot be read."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"sequences: unknown file type {suffix or '(none)'!r} of {path}; give one of "
                         f"{', '.join(FORMATS)} (see `bench list sequences`)")
    try:
        if suffix == ".npz":
            return _read_npz(path)
        if suffix == ".ts":
            return _read_ts_pair(path)
        import pandas as pd

        frame = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
        return _read_long(frame, path)
    except UsageError:
        raise
    except Exception as exc:  # a corrupt file: whatever numpy, pandas or pyarrow raise
        reason = (str(exc).splitlines() or [""])[0] or type(exc).__name__
        raise UsageError(f"sequences: cannot read {path}: {reason}") from None


# -- .npz ---------------------------------------------------------------------------------------
def _read_npz(path: Path) -> RawSet:
    with np.load(path, allow_pickle=True) as stored:
        arrays = {key: stored[key] for key in stored.files}
    if "inputs" not in arrays:
        raise UsageError(f"sequences: {path} has no 'inputs' array (it has {', '.join(arrays) or 'none'})")
    lengths = arrays.get("lengths")
    inputs = _unpadded(arrays["inputs"], lengths, path, "inputs")
    count = len(inputs)
    targets = None
    if "targets" in arrays:
        stored_targets = arrays["targets"]
        if stored_targets.dtype != object and stored_targets.ndim == 1 and len(stored_targets) == count:
            targets = [np.asarray(value) for value in stored_targets]  # one per sequence
        else:
            targets = _unpadded(stored_targets, lengths, path, "targets")
            if len(targets) != count:
                raise UsageError(f"sequences: {path} has {len(targets)} targets for {count} sequences")
    ids = [str(i) for i in (arrays["ids"] if "ids" in arrays else range(count))]
    splits = [str(s) for s in arrays["split"]] if "split" in arrays else None
    for name, values in (("ids", ids), ("split", splits)):
        if values is not None and len(values) != count:
            raise UsageError(f"sequences: {path} has {len(values)} {name} for {count} sequences")
    tokens = all(np.issubdtype(x.dtype, np.integer) and x.ndim == 1 for x in inputs)
    return RawSet(ids, inputs, targets, splits, tokens)


def _unpadded(array: np.ndarray, lengths: np.ndarray | None, path: Path, name: str) -> list[np.ndarray]:
    """The sequences of an object array of arrays, or of a padded array cut to ``lengths``."""
    if array.dtype == object:
        return [np.asarray(x) for x in array]
    if array.ndim < 2:
        raise UsageError(f"sequences: {path}'s {name!r} is {array.ndim}-D; give an object array of per-sequence "
                         "arrays, or one padded (N, T[, D]) array with 'lengths'")
    if lengths is None:
        return list(array)
    if len(lengths) != len(array) or (np.asarray(lengths) > array.shape[1]).any() or (np.asarray(lengths) < 1).any():
        raise UsageError(f"sequences: {path}'s 'lengths' must give each of the {len(array)} sequences 1 to "
                         f"{array.shape[1]} steps")
    return [row[:int(n)] for row, n in zip(array, lengths)]


# -- long form: CSV and Parquet -----------------------------------------------------------------
def _read_long(frame: pd.DataFrame, path: Path) -> RawSet:
    import pandas as pd
    missing = [c for c in ("sequence", "step") if c not in frame.columns]
    if missing:
        raise UsageError(f"sequences: {path} needs columns 'sequence' and 'step' (long form: one row per step); "
                         f"it has {', '.join(map(str, frame.columns))}")
    if frame.empty:
        raise UsageError(f"sequences: {path} has no rows")
    if frame.duplicated(["sequence", "step"]).any():
        first = frame[frame.duplicated(["sequence", "step"])].iloc[0]
        raise UsageError(f"sequences: {path} has two rows for sequence {first['sequence']!r} step {first['step']!r}")
    features = [str(c) for c in frame.columns if c not in ("sequence", "step", "target", "split", "token")]
    tokens = "token" in frame.columns
    if tokens and features:
        raise UsageError(f"sequences: {path} has a 'token' column and feature columns ({', '.join(features)}); "
                         "give one or the other")
    if not tokens and not features:
        raise UsageError(f"sequences: {path} has no feature columns and no 'token' column")
    for column in features:
        if not pd.api.types.is_numeric_dtype(frame[column]) or pd.api.types.is_bool_dtype(frame[column]):
            raise UsageError(f"sequences: {path}'s column {column!r} is not numeric; features are numbers "
                             "(name a single column of symbols 'token')")
    frame = frame.sort_values(["sequence", "step"], kind="stable")
    vocabulary = None
    if tokens:
        if frame["token"].isna().any():
            raise UsageError(f"sequences: {path}'s 'token' column has missing values")
        if pd.api.types.is_integer_dtype(frame["token"]):
            token_ids = frame["token"].to_numpy()
        else:
            names = frame["token"].astype(str)
            vocabulary = sorted(names.unique())
            token_ids = pd.Categorical(names, categories=vocabulary).codes.astype(np.int64)
    groups = frame.groupby("sequence", sort=False).indices
    ids = [str(key) for key in groups]
    rows = list(groups.values())
    values = token_ids if tokens else frame[features].to_numpy(dtype=np.float64)
    inputs = [values[r] for r in rows]
    targets = None
    if "target" in frame.columns:
        column = frame["target"]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            column = column.astype(str).where(column.notna())
        target_values = column.to_numpy()
        targets = [target_values[r] for r in rows]
    splits = None
    if "split" in frame.columns:
        split_values = frame["split"].astype(str).to_numpy()
        splits = []
        for key, r in zip(ids, rows):
            named = set(split_values[r])
            if len(named) > 1:
                raise UsageError(f"sequences: {path}: sequence {key!r} is in more than one split ({', '.join(sorted(named))})")
            splits.append(named.pop())
    return RawSet(ids, inputs, targets, splits, tokens, vocabulary)


# -- the UEA/UCR archive's .ts files ------------------------------------------------------------
def _read_ts_pair(path: Path) -> RawSet:
    """A ``_TRAIN.ts`` (or ``_TEST.ts``) with its partner as train + test; any other .ts alone."""
    match = re.match(r"(.*)_(TRAIN|TEST)$", path.stem, flags=re.IGNORECASE)
    partner = None
    if match:
        other = "TEST" if match.group(2).upper() == "TRAIN" else "TRAIN"
        candidates = [path.with_name(f"{match.group(1)}_{spelling}{path.suffix}") for spelling in (other, other.lower())]
        partner = next((c for c in candidates if c.exists()), None)
    if partner is None:
        return read_ts(path)
    train_path, test_path = (path, partner) if match and match.group(2).upper() == "TRAIN" else (partner, path)
    train, test = read_ts(train_path), read_ts(test_path)
    if train.target_is_real != test.target_is_real:
        raise UsageError(f"sequences: {train_path} and {test_path} disagree on whether targets are labels or real values")
    assert train.targets is not None and test.targets is not None
    return RawSet([f"TRAIN/{i}" for i in train.ids] + [f"TEST/{i}" for i in test.ids], train.inputs + test.inputs,
                  train.targets + test.targets, ["train"] * len(train.ids) + ["test"] * len(test.ids),
                  target_is_real=train.target_is_real, test_from=test_path.name)


def read_ts(path: Path) -> RawSet:
    """One .ts file: every case's ``(T, D)`` values and its label or target value."""
    header: dict[str, str] = {}
    inputs: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    in_data = False
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if not in_data:
                if not line.startswith("@"):
                    raise UsageError(f"sequences: {path} line {number}: expected an @ header line or @data before the cases")
                key, _, value = line[1:].partition(" ")
                header[key.lower()] = value.strip()
                in_data = key.lower() == "data"
                continue
            values, label = _ts_case(line, path, number, header)
            inputs.append(values)
            targets.append(label)
    if not in_data:
        raise UsageError(f"sequences: {path} has no @data line; is it a UEA/UCR .ts file?")
    if not inputs:
        raise UsageError(f"sequences: {path} has no cases after @data")
    return RawSet([str(i) for i in range(len(inputs))], inputs, targets, target_is_real=_ts_labels(header, path) == "real")


def _ts_labels(header: dict[str, str], path: Path) -> str:
    """Whether the cases end in a class label ("class") or a regression value ("real")."""
    if header.get("classlabel", "false").split()[:1] == ["true"]:
        return "class"
    if header.get("targetlabel", "false").split()[:1] == ["true"]:
        return "real"
    raise UsageError(f"sequences: {path} has neither '@classLabel true' nor '@targetLabel true': "
                     "without labels there is nothing to predict")


def _ts_case(line: str, path: Path, number: int, header: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    if header.get("timestamps", "false").lower() == "true" or line.startswith("("):
        raise UsageError(f"sequences: {path} uses time stamps ((t, value) pairs); give the values alone "
                         "(@timeStamps false)")
    *dimensions, label = line.split(":")
    if not dimensions:
        raise UsageError(f"sequences: {path} line {number}: a case needs its values then ':' and its label")
    columns: list[list[float]] = []
    for d, text in enumerate(dimensions):
        items = [item.strip() for item in text.split(",")]
        if any(item in ("?", "") or item.lower() == "nan" for item in items):
            raise UsageError(f"sequences: {path} line {number}: missing values ('?' or NaN) in dimension {d + 1}; "
                             "the models need every value: fill or drop them first")
        try:
            columns.append([float(item) for item in items])
        except ValueError as exc:
            raise UsageError(f"sequences: {path} line {number}: {exc}") from None
    if len({len(c) for c in columns}) > 1:
        raise UsageError(f"sequences: {path} line {number}: its dimensions have different lengths "
                         f"({', '.join(str(len(c)) for c in columns)}); every dimension of a case needs one value per step")
    if _ts_labels(header, path) == "real":
        try:
            target = np.asarray(float(label))
        except ValueError:
            raise UsageError(f"sequences: {path} line {number}: target {label!r} is not a number") from None
    else:
        target = np.asarray(label.strip())
    return np.asarray(columns, dtype=np.float64).T, target


def split_names(values: Sequence[str], where: str) -> list[str]:
    """The file's split names as train/val/test (valid and validation read as val)."""
    names = []
    for value in values:
        name = SPLIT_NAMES.get(value.strip().lower())
        if name is None:
            raise UsageError(f"sequences: {where} names split {value!r}; use train, val (or valid) and test")
        names.append(name)
    return names

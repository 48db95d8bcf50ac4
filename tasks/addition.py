"""Addition tasks: carry a number across time.

Two variants, chosen with ``--opt variant=``:

* ``binary`` — binary addition (the lecture classic): two n-bit numbers streamed least-significant
  bit first, two input bits per step, the sum bit as the target at each of the n+1 steps. A
  three-state transducer (the carry) solves it. ``length`` is n.
* ``adding`` — the adding problem (Hochreiter & Schmidhuber 1997; Le et al. 2015): a value channel
  of U[0,1] numbers and a marker channel that is 1 at two positions, one in each half; the target
  at the last step is the sum of the two marked values (MSE). Predicting 1 scores 1/6 ≈ 0.167,
  reported as ``baseline``. ``length`` is T.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

import torch
from torch import Tensor

from bench import Batch, Metric, SyntheticOptions, SyntheticTask, UsageError, option, register_task


@dataclasses.dataclass
class AdditionOptions(SyntheticOptions):
    variant: Literal["binary", "adding"] = option(
        "binary", "'binary' (sum bits of two numbers) or 'adding' (Hochreiter's adding problem)")
    length: int = option(8, "binary: bits per number; adding: sequence length T", min=1)

    def check(self) -> None:
        if self.variant == "binary" and self.length < 4:
            raise UsageError("addition: binary variant needs --opt length >= 4 (fewer bits cannot be split "
                             "into train/val/test)")
        if self.variant == "adding" and self.length < 2:
            raise UsageError("addition: adding variant needs --opt length >= 2 (one marker in each half)")


PREDICT_ONE = 1 / 6
"""The adding problem's mean squared error of always answering 1 (the sum of two U(0, 1) draws has
mean 1 and variance 1/6): the score of a model that has learned nothing."""
BAI_2018_T600 = {"lstm": 0.164, "gru": 5.3e-5, "vanilla": 0.177}  # test MSE at T = 600, Bai et al. 2018 Table 1


@register_task("addition")
class Addition(SyntheticTask[AdditionOptions]):
    """Binary addition, LSB first (lecture classic), or the adding problem (Hochreiter 1997; Le et al. 2015)."""

    input_kind = "features"
    input_size = 2

    def __init__(self, options: AdditionOptions) -> None:
        super().__init__(options)
        if options.variant == "binary":
            self.output_kind, self.output_size = "categorical", 2
            self.target_metric, self.target_mode, self.target_value = "seq_acc", "max", 1.0
            self.target_words = "every test sum right"
        else:
            self.output_kind, self.output_size = "real", 1
            self.target_metric, self.target_mode, self.target_value = "mse", "min", 0.01
            self.target_words = f"the task learned: always answering 1 scores about {PREDICT_ONE:.3g}"

    @classmethod
    def published(cls, options: Mapping[str, Any], arch: str, test_loss: float | None = None) -> list[str]:
        """The adding problem: Bai et al. 2018's MSE at T = 600 where the run is at 600; the predict-1
        baseline always."""
        if options.get("variant", AdditionOptions.variant) != "adding":
            return []
        at_600 = [f"{BAI_2018_T600[arch]} (Bai et al. 2018, T=600, MSE)"] if int(options.get("length", 0)) == 600 \
            and arch in BAI_2018_T600 else []
        return [*at_600, f"predict-1 baseline MSE {PREDICT_ONE:.3g}"]

    def generate(self, n: int, length: int, generator: torch.Generator, device: torch.device) -> Batch:
        if self.options.variant == "binary":
            return self._binary(n, length, generator, device)
        return self._adding(n, length, generator, device)

    def _binary(self, n: int, bits: int, generator: torch.Generator, device: torch.device) -> Batch:
        operands = torch.randint(0, 2, (n, bits + 1, 2), generator=generator, device=device)
        operands[:, -1] = 0  # the extra step only flushes the carry
        a, b = operands[..., 0], operands[..., 1]
        generate, propagate = a & b, a ^ b
        # The carry into bit i is the carry out of the last bit before i that does not propagate one
        # (a carry-lookahead without a loop over bits: a Python loop here cost ~5% of a training step).
        position = torch.arange(bits + 1, device=device)
        last = torch.where(propagate == 0, position, -1).cummax(1).values
        carry = torch.zeros_like(a)
        carry[:, 1:] = generate.gather(1, last[:, :-1].clamp_min(0)) * (last[:, :-1] >= 0)
        sums = propagate ^ carry
        mask = torch.ones(n, bits + 1, dtype=torch.bool, device=device)
        return Batch(operands.float(), sums, mask)

    def _adding(self, n: int, steps: int, generator: torch.Generator, device: torch.device) -> Batch:
        values = torch.rand(n, steps, generator=generator, device=device)
        half = steps // 2
        first = torch.randint(0, half, (n,), generator=generator, device=device)
        second = torch.randint(half, steps, (n,), generator=generator, device=device)
        markers = torch.zeros(n, steps, device=device)
        rows = torch.arange(n, device=device)
        # scatter_ with a number writes it on the device; `markers[rows, first] = 1.0` would copy a
        # host scalar to the device, a synchronising call on CUDA at every batch.
        markers.scatter_(1, first[:, None], 1.0)
        markers.scatter_(1, second[:, None], 1.0)
        targets = torch.zeros(n, steps, 1, device=device)
        targets[:, -1, 0] = values[rows, first] + values[rows, second]
        mask = torch.zeros(n, steps, dtype=torch.bool, device=device)
        mask[:, -1] = True
        return Batch(torch.stack([values, markers], -1), targets, mask)

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, Metric]:
        metrics = super().metrics(outputs, batch)
        if self.options.variant == "adding":
            n = torch.tensor(float(len(batch)), device=outputs.device)
            metrics["baseline"] = (n / 6.0, n)  # PREDICT_ONE per sequence, bit for bit as logged before
        return metrics

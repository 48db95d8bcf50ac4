"""The architecture contract: ``(B, T, D) → (B, T, H)`` plus a recurrent state.

An architecture is only the recurrent core. The shared adapters — one-hot or embedding for token
inputs, the linear output head, the loss — live once in :mod:`bench.model`, so an architecture never
knows which task it is running and any task runs with any architecture.

State is whatever the architecture needs (a tensor, a tuple, a dict) and is passed back in: calling
the model on a sequence in two chunks with the state carried over equals one call on the whole
sequence. That is what truncated BPTT and generation rely on.
"""
from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor, nn

from bench.options import NoOptions

State = Any


class Architecture(nn.Module):
    """Base of every architecture; subclasses register themselves with ``@register_architecture``."""

    name: ClassVar[str]
    Options: ClassVar[type] = NoOptions
    supports_bidirectional: ClassVar[bool] = True

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
        options: Any = None,
    ) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.bidirectional = bidirectional
        self.options = options if options is not None else self.Options()

    @classmethod
    def summary(cls) -> str:
        """One line for ``bench list``: the first line of the class docstring."""
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""

    @property
    def output_size(self) -> int:
        """H in ``(B, T, H)``: both directions' features when bidirectional."""
        return self.hidden_size * (2 if self.bidirectional else 1)

    def forward(self, x: Tensor, state: State = None) -> tuple[Tensor, State]:
        raise NotImplementedError


class FusedRecurrent(Architecture):
    """An architecture that is one of PyTorch's fused recurrent layers (cuDNN on GPU, ATen on CPU).

    Subclasses build the layer in :meth:`make_layer` and may re-initialise it in :meth:`initialise`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rnn = self.make_layer(
            input_size=self.input_size,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            # PyTorch applies this dropout between layers only; it warns for one layer.
            dropout=self.dropout if self.num_layers > 1 else 0.0,
            bidirectional=self.bidirectional,
            batch_first=True,
        )
        self.initialise()

    def make_layer(self, **kwargs: Any) -> nn.RNNBase:
        raise NotImplementedError

    def initialise(self) -> None:
        """Change PyTorch's default initialisation where the architecture's paper says so."""

    def forward(self, x: Tensor, state: State = None) -> tuple[Tensor, State]:
        return self.rnn(x, state)

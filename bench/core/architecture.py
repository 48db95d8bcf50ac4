"""The architecture contract: ``(B, T, D) → (B, T, H)`` plus a recurrent state.

An architecture is only the recurrent core. The shared adapters — one-hot or embedding for token
inputs, the linear output head — live once in :mod:`bench.core.network` and the losses in
:mod:`bench.core.metrics`, so an architecture never knows which task it is running and any task runs with
any architecture.

State is whatever the architecture needs (a tensor, a tuple, a dict) and is passed back in: calling
the model on a sequence in two chunks with the state carried over equals one call on the whole
sequence. That is what truncated BPTT and generation rely on.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Generic, Literal, TypeAlias, cast

import torch
from torch import Tensor, nn
from typing_extensions import TypeVar

from bench.core.config import ModelConfig
from bench.core.options import NoOptions, option, options_parameter
from bench.core.registry import Described
from bench.core.scan import ScanMethod, linear_recurrence

State: TypeAlias = Tensor | tuple["State", ...] | list["State"] | None
"""What a recurrent core carries from one chunk of a sequence to the next: a tensor, or tuples and
lists of them (a stack of layers, a memory beside its hidden state); None before the first chunk."""


@dataclasses.dataclass(frozen=True)
class WeightMaps:
    """What a core looked at on one sequence, drawn as heatmaps in the report (as Bahdanau et al.
    2015 Fig. 3 and Graves et al. 2014 Fig. 6 draw theirs)."""

    kind: str
    """In words, for captions ("attention weights")."""
    axis: str
    """What a panel's columns are ("attended step j")."""
    panels: dict[str, Tensor]
    """Panel title → ``(T, columns)`` weights, in the order to draw them."""
    visited_only: bool = False
    """Draw only the columns some step put weight on (the memory locations the heads visited)."""


OptionsT = TypeVar("OptionsT", covariant=True, default=object)
"""An architecture's options dataclass; the harness sees ``Architecture`` (options unknown to it)."""


class Architecture(nn.Module, Described, Generic[OptionsT]):
    """Base of every architecture; subclasses register themselves with ``@register_architecture``."""

    name: ClassVar[str]
    Options: ClassVar[type] = NoOptions
    supports_bidirectional: ClassVar[bool] = True
    max_layers: ClassVar[int | None] = None
    recommended: ClassVar[dict[str, object]] = {}
    """Config defaults this architecture needs, e.g. ``{"model.num_layers": 4}``; they apply below the
    task's recommendations, the YAML file and the command line."""
    search_space: ClassVar[dict[str, dict[str, object]]] = {}
    """What sweeps should search beyond the default space (:mod:`bench.sweep.search_space`), e.g. this
    architecture's own options or a learning-rate range it needs; a task may declare one too."""
    colour: ClassVar[str] = "tab:gray"
    """Its colour in every figure of a report (a matplotlib colour name), the same in each."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
        options: OptionsT | None = None,
    ) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.bidirectional = bidirectional
        self.options: OptionsT = options if options is not None else self.Options()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.Options = options_parameter(cls) or cls.Options

    @classmethod
    def budget_variants(cls, model: ModelConfig) -> Iterator[ModelConfig]:
        """Model configs to try, in order, when matching a parameter budget (:mod:`bench.core.budget`).

        The requested shape comes first; an architecture whose count jumps too far between two
        hidden sizes yields nearby shapes after it (e.g. one block fewer).
        """
        yield model

    @property
    def output_size(self) -> int:
        """H in ``(B, T, H)``: both directions' features when bidirectional."""
        return self.hidden_size * (2 if self.bidirectional else 1)

    def forward(self, x: Tensor, state: State = None) -> tuple[Tensor, State]:
        raise NotImplementedError


def one_block_more_or_fewer(model: ModelConfig) -> Iterator[ModelConfig]:
    """The requested shape, then one layer fewer and one more: budget variants for a deep stack,
    whose count jumps by a whole block's width when every block grows by one unit."""
    yield model
    for depth in (model.num_layers - 1, model.num_layers + 1):
        if depth >= 1:
            yield dataclasses.replace(model, num_layers=depth)


class FusedRecurrent(Architecture[OptionsT]):
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
        output, state = self.rnn(x, state)
        return output, state


StepFunction = Callable[[Tensor, tuple[Tensor, ...]], tuple[Tensor, tuple[Tensor, ...]]]


def _tensors(state: State) -> tuple[Tensor, ...]:
    """A stepped cell's carried state: the flat tuple of tensors its ``step`` returned."""
    return tuple(cast(tuple[Tensor, ...], state))


class SteppedRecurrent(Architecture[OptionsT]):
    """An architecture written as one time step and run by a Python loop over time.

    Custom cells (attention, external memory) have no fused kernel. Writing them as a pure
    ``step(x_t, state) → (h_t, state)`` over a tuple of fixed-shape tensors keeps them simple and
    lets :func:`torch.compile` turn the step into one fused kernel without recompiling per time step
    (``compiled = True``: ``--compile on``, :mod:`bench.train.compiled`).
    """

    supports_bidirectional = False
    max_layers: ClassVar[int | None] = 1

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.compiled = False
        self._compiled_step: StepFunction | None = None
        self.record = False
        self.use_fast_path = True
        """Run :meth:`fast_forward` where the cell has one (tests turn it off to get the reference)."""
        """Keep what :meth:`remember` sees at each step (attention or head weights) in ``recorded``."""
        self.recorded: Tensor | None = None
        self._recording: list[Tensor] = []

    def remember(self, value: Tensor) -> None:
        """Called by ``step`` with an internal worth plotting; kept only while ``record`` is set."""
        if self.record:
            self._recording.append(value.detach())

    def weight_maps(self, recorded: Tensor) -> WeightMaps | None:
        """What :meth:`remember` kept on one sequence (``recorded[0]``, steps first) as heatmap
        panels for the report; None (the default): nothing this cell records is worth drawing."""
        return None

    def initial_state(self, x: Tensor) -> tuple[Tensor, ...]:
        """The state before the first step, for a batch shaped like ``x`` ``(B, T, D)``."""
        raise NotImplementedError

    def prepare(self, x: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        """Adjust a carried state before ``x`` is read (e.g. make room for T more memories)."""
        return state

    def project(self, x: Tensor) -> Tensor:
        """Work on the inputs that does not depend on the state, done once for the whole sequence
        before the loop — e.g. the input half of the gates' matrix product, one large product instead
        of T small ones; ``step`` then receives the projected ``x_t``. Identity by default."""
        return x

    def step(self, x_t: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """One time step: ``x_t (B, D)`` → ``h_t (B, output_size)`` and the next state."""
        raise NotImplementedError

    def fast_forward(self, x: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """The whole sequence at once, computing exactly what stepping through it computes, faster
        (its hot parts in :mod:`bench.core.kernels`). Optional: a cell that has one sets
        ``has_fast_path``; ``step`` stays the readable reference that the tests hold it to, and
        still runs when weights are recorded or the step is compiled."""
        raise NotImplementedError

    has_fast_path: ClassVar[bool] = False

    def forward(self, x: Tensor, state: State = None) -> tuple[Tensor, State]:
        if self.has_fast_path and self.use_fast_path and not self.record and not (self.compiled and self.training):
            self.recorded = None
            return self.fast_forward(x, self.initial_state(x) if state is None else _tensors(state))
        state = self.prepare(x, self.initial_state(x) if state is None else _tensors(state))
        step: StepFunction = self.step
        # Compiled only in training: evaluation shapes vary (and would recompile); recording is a
        # Python side effect.
        if self.compiled and self.training and not self.record:
            if self._compiled_step is None:
                self._compiled_step = torch.compile(self.step, dynamic=False)
            step = self._compiled_step
        self._recording = []
        outputs = []
        # unbind, not x[:, t]: the backward of T slices would write T zero-filled (B, T, D) gradients.
        for x_t in self.project(x).unbind(1):
            h, state = step(x_t, state)
            outputs.append(h)
        self.recorded = torch.stack(self._recording, 1) if self._recording else None
        return torch.stack(outputs, 1), state


@dataclasses.dataclass
class ScanOptions:
    """Options every :class:`ScannedRecurrent` shares; its own Options extend these."""

    scan: ScanMethod = option("auto", "how the linear recurrence runs over time: 'loop' (the CPU default), "
                                      "'log_space' (the parallel scan, the accelerator default), 'auto' (by device)")
    eigenvalues: Literal["positive", "signed"] = option(
        "positive", "range of the state's decays: 'positive' in (0, 1), as the papers have them; 'signed' in (-1, 1), "
                    "a' = 2a - 1 (Grazzi et al. 2025: negative eigenvalues let a linear recurrence flip, e.g. parity)")


class ScanLayer(nn.Module):
    """One block of a :class:`ScannedRecurrent` stack, ``(B, T, H) → (B, T, H)`` plus its state.

    ``forward`` runs the whole sequence at once (its matrix products over all T, its recurrence by
    :func:`bench.core.scan.linear_recurrence`); ``step`` is one time step, the reference the tests
    hold ``forward`` to and the way to run one token at a time. Both take and return the same state.
    """

    def initial_state(self, x: Tensor) -> tuple[Tensor, ...]:
        """The state before the first step, for a batch shaped like ``x`` ``(B, T, H)``."""
        raise NotImplementedError

    def forward(self, x: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        raise NotImplementedError

    def step(self, x_t: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        raise NotImplementedError


class GatedScanLayer(ScanLayer):
    """A block whose state is the recurrence itself, h ← x + h_t with h_t = a_t ⊙ h_{t−1} + b_t, and
    ``a_t``, ``b_t`` from the input alone (:meth:`coefficients`): minGRU and minLSTM differ only there."""

    def __init__(self, size: int, scan: ScanMethod, signed: bool = False) -> None:
        super().__init__()
        self.size, self.scan, self.signed = size, scan, signed

    def coefficients(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The decays ``a`` and the updates ``b`` for inputs ``x`` (``(B, T, H)`` or ``(B, H)``)."""
        raise NotImplementedError

    def initial_state(self, x: Tensor) -> tuple[Tensor, ...]:
        return (x.new_zeros(x.shape[0], self.size),)

    def transition(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The coefficients, with the decays mapped to (−1, 1) when the block is signed."""
        decay, update = self.coefficients(x)
        return (2 * decay - 1 if self.signed else decay), update

    def forward(self, x: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        decay, update = self.transition(x)
        h = linear_recurrence(decay, update, state[0], self.scan)
        return x + h, (h[:, -1],)

    def step(self, x_t: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        decay, update = self.transition(x_t)
        h = decay * state[0] + update
        return x_t + h, (h,)


ScanOptionsT = TypeVar("ScanOptionsT", bound=ScanOptions, covariant=True, default=ScanOptions)


class ScannedRecurrent(Architecture[ScanOptionsT]):
    """A stack of blocks whose recurrences are linear in the state (minGRU, minLSTM, LRU, Mamba).

    The input is projected to the hidden size once, then each of ``num_layers`` blocks
    (:meth:`make_block`) maps ``(B, T, H)`` to ``(B, T, H)``, each with its own residual path and
    normalisation as its paper has it. ``parallel = False`` runs every block step by step instead
    (tests compare the two; generation may use either).
    """

    supports_bidirectional = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.encoder = nn.Linear(self.input_size, self.hidden_size)
        self.blocks = nn.ModuleList(self.make_block() for _ in range(self.num_layers))
        self.between = nn.Dropout(self.dropout)
        self.parallel = True

    def make_block(self) -> ScanLayer:
        raise NotImplementedError

    @classmethod
    def budget_variants(cls, model: ModelConfig) -> Iterator[ModelConfig]:
        """Where one more unit in every block overshoots the budget, one block more or fewer."""
        return one_block_more_or_fewer(model)

    def forward(self, x: Tensor, state: State = None) -> tuple[Tensor, State]:
        h = self.encoder(x)
        blocks = cast(list[ScanLayer], list(self.blocks))
        states = list(state) if state is not None else [block.initial_state(h) for block in blocks]
        new_states = []
        for i, (block, block_state) in enumerate(zip(blocks, states)):
            if i:
                h = self.between(h)
            if self.parallel:
                h, block_state = block(h, tuple(block_state))
            else:
                outputs = []
                for h_t in h.unbind(1):
                    out, block_state = block.step(h_t, tuple(block_state))
                    outputs.append(out)
                h = torch.stack(outputs, 1)
            new_states.append(block_state)
        return h, new_states

"""Linear Recurrent Unit (Orvieto et al. 2023).

A complex diagonal linear recurrence, λ = exp(−exp(ν) + i·exp(θ)), with the ring initialisation
(``--opt r_min= r_max= max_phase=``), γ normalisation of the input, and a GLU after each block
(default 2 blocks; ``--opt state_size=`` sets N). The recurrence runs as a scan (``--opt scan=``).
"""
from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bench import ScanLayer, ScannedRecurrent, ScanOptions, UsageError, linear_recurrence, option, register_architecture


@dataclasses.dataclass
class LRUOptions(ScanOptions):
    state_size: int = option(0, "size N of each block's complex diagonal state (0: the hidden size)", min=0)
    r_min: float = option(0.0, "smallest modulus of the eigenvalues at initialisation (the ring's inner radius)",
                          min=0.0, max=1.0)
    r_max: float = option(1.0, "largest modulus of the eigenvalues at initialisation (outer radius, at most 1)",
                          above=0.0, max=1.0)
    max_phase: float = option(2 * math.pi, "eigenvalue phases are initialised uniformly in [0, max_phase]", min=0.0)

    def check(self) -> None:
        if self.eigenvalues == "signed":
            raise UsageError("lru: its eigenvalues are already complex, with phases in [0, max_phase] (pi is -1): "
                             "'signed' is for the real decays of mamba, mingru and minlstm; drop --opt eigenvalues")
        if self.r_min > self.r_max:
            raise UsageError(f"lru: r_min={self.r_min} is above r_max={self.r_max}; the ring needs r_min <= r_max")


class LRUBlock(ScanLayer):
    """h ← h + GLU(GELU(LRU(LayerNorm(h)))), the LRU being x_t = λ ⊙ x_{t−1} + γ ⊙ (B u_t),
    y_t = Re(C x_t) + D ⊙ u_t (Orvieto et al. 2023, "Resurrecting Recurrent Neural Networks for
    Long Sequences").

    λ is diagonal and complex, parameterised as λ = exp(−exp(ν) + i exp(θ)) so that |λ| < 1 for
    any ν, θ (stable by construction); at initialisation the eigenvalues lie uniformly on the ring
    r_min ≤ |λ| ≤ r_max with phases in [0, max_phase]; γ = sqrt(1 − |λ|²) normalises each
    channel's response to white noise, so eigenvalues near the unit circle do not blow the state
    up. B and C are complex, as in the paper's code, held as real and imaginary parts.
    """

    def __init__(self, size: int, options: LRUOptions) -> None:
        super().__init__()
        n = options.state_size or size
        self.state_size, self.scan = n, options.scan
        u1, u2 = torch.rand(n), torch.rand(n)
        nu = -0.5 * torch.log(u1 * (options.r_max ** 2 - options.r_min ** 2) + options.r_min ** 2)
        self.nu_log = nn.Parameter(nu.clamp_min(1e-8).log())
        self.theta_log = nn.Parameter((options.max_phase * u2).clamp_min(1e-8).log())
        modulus = torch.exp(-nu)
        self.gamma_log = nn.Parameter(torch.sqrt((1 - modulus ** 2).clamp_min(1e-8)).log())
        self.input_real = nn.Parameter(torch.randn(n, size) / math.sqrt(2 * size))
        self.input_imag = nn.Parameter(torch.randn(n, size) / math.sqrt(2 * size))
        self.output_real = nn.Parameter(torch.randn(size, n) / math.sqrt(n))
        self.output_imag = nn.Parameter(torch.randn(size, n) / math.sqrt(n))
        self.skip = nn.Parameter(torch.randn(size))
        self.norm = nn.LayerNorm(size)
        self.glu = nn.Linear(size, 2 * size)

    def initial_state(self, x: Tensor) -> tuple[Tensor, ...]:
        zeros = x.new_zeros(x.shape[0], self.state_size)
        return (torch.complex(zeros, zeros),)

    def eigenvalues(self) -> Tensor:
        return torch.polar(torch.exp(-self.nu_log.exp()), self.theta_log.exp())

    def drive(self, u: Tensor) -> Tensor:
        """γ ⊙ (B u): what each input adds to the state."""
        gamma = self.gamma_log.exp()
        return torch.complex(F.linear(u, self.input_real) * gamma, F.linear(u, self.input_imag) * gamma)

    def read(self, x: Tensor, u: Tensor, states: Tensor) -> Tensor:
        """The block's output from its input ``x``, the normalised input ``u`` and the states."""
        y = F.linear(states.real, self.output_real) - F.linear(states.imag, self.output_imag) + self.skip * u
        return x + F.glu(self.glu(F.gelu(y)), -1)

    def forward(self, x: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        u = self.norm(x)
        states = linear_recurrence(self.eigenvalues(), self.drive(u), state[0], self.scan)
        return self.read(x, u, states), (states[:, -1],)

    def step(self, x_t: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        u = self.norm(x_t)
        h = self.eigenvalues() * state[0] + self.drive(u)
        return self.read(x_t, u, h), (h,)


@register_architecture("lru")
class LRU(ScannedRecurrent[LRUOptions]):
    """Linear Recurrent Unit: complex diagonal linear recurrence, ring init, γ normalisation (Orvieto et al. 2023)."""

    colour = "goldenrod"

    recommended = {"model.num_layers": 2}  # the recurrence is linear: depth (with the GLUs between) adds the nonlinearity

    def make_block(self) -> ScanLayer:
        return LRUBlock(self.hidden_size, self.options)

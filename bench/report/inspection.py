"""Inside the models: how far back the gradient reaches, and where attention and memory heads look.

The central story of RNN training is vanishing and exploding gradients (Bengio et al. 1994; Pascanu
et al. 2013): the signal that tells step t how to change arrives through a product of Jacobians, one
per step between t and the scored step. :func:`gradient_by_distance` measures it directly: the norm
of ∂loss/∂s_t of the recurrent state s_t (every tensor the architecture carries: h, and c for an
LSTM, memory and head weightings for an NTM) against the distance from the scored step, for the
trained weights of a run and for a fresh initialisation of the same config.

How: the architecture contract says that running a sequence in chunks with the state carried equals
one call, so the network is run one step at a time and a zero tensor z_t (requiring grad) is added
to the state after each step. ∂loss/∂z_t = ∂loss/∂s_t, for fused cuDNN-style layers too, without
touching any architecture. The loss is the per-step loss at one scored step (the last step that at
least half of the batch is scored at), summed over the sequences scored there; the norm is the root
mean square over those sequences.

:func:`attention_maps` runs a trained ``attention`` or ``ntm`` run with ``record = True`` and returns
what its ``step`` remembered: attention weights over earlier steps (Bahdanau et al. 2015's alignment
plots) or the read/write weightings over memory locations (Graves et al. 2014, Fig. 6).
"""
from __future__ import annotations

import dataclasses
import os

import pandas as pd
import torch
from mlflow.tracking import MlflowClient
from torch import Tensor

from bench.core.architecture import State, SteppedRecurrent, WeightMaps
from bench.core.config import RunConfig
from bench.core.errors import UsageError
from bench.core.metrics import per_step_loss
from bench.core.network import SequenceNetwork, build_task
from bench.core.task import Batch, Draw, Task
from bench.tracking.logged import logged_config, logged_weights

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one bar per downloaded file otherwise


@dataclasses.dataclass
class LoadedRun:
    run_id: str
    config: RunConfig
    task: Task
    trained: SequenceNetwork
    """With the run's weights."""
    initial: SequenceNetwork
    """Freshly initialised with the run's seed."""


def load_run(client: MlflowClient, run_id: str) -> LoadedRun:
    """A run's config, task, trained network (artifact ``model.pt``) and a same-seed fresh init."""

    try:
        client.get_run(run_id)
    except Exception:
        raise UsageError(f"no run {run_id!r} in this tracking store; see `bench runs --task TASK`") from None
    config, weights = logged_config(client, run_id), logged_weights(client, run_id)
    task = build_task(config)
    torch.manual_seed(config.train.seed)
    initial = SequenceNetwork(task, config.model)
    trained = SequenceNetwork(task, config.model)
    trained.load_state_dict({k.removeprefix("net."): v for k, v in weights.items() if k.startswith("net.")})
    return LoadedRun(run_id, config, task, trained.eval(), initial.eval())


def example_batch(run: LoadedRun, size: int = 32) -> Batch:
    """A fixed batch of the run's test split at its training length (seed 0: the same for every run)."""
    batches = run.task.eval_batches("test", Draw(size, examples=size))
    return batches[0]


def _add_probe(state: State, probes: list[Tensor]) -> State:
    """state + zeros (which require grad) in every floating tensor of a nested state."""
    if isinstance(state, Tensor):
        if not state.is_floating_point():
            return state
        probe = torch.zeros_like(state, requires_grad=True)
        probes.append(probe)
        return state + probe
    if isinstance(state, (tuple, list)):
        return type(state)(_add_probe(s, probes) for s in state)
    if isinstance(state, dict):
        return {k: _add_probe(v, probes) for k, v in state.items()}
    return state


def scored_step(mask: Tensor) -> int:
    """The last step at which at least half the sequences are scored (else the last scored at all)."""
    share = mask.float().mean(0)
    steps = torch.nonzero(share >= 0.5).flatten()
    if len(steps) == 0:
        steps = torch.nonzero(share > 0).flatten()
    return int(steps[-1])


def gradient_by_distance(network: SequenceNetwork, task: Task, batch: Batch) -> dict[int, float]:
    """distance k = s − t ≥ 1 → RMS over the scored sequences of ‖∂loss_s/∂state_t‖, where state_t
    is the state after reading step t and s the scored step (see the module docstring)."""

    network.eval()
    step = scored_step(batch.mask)
    rows = batch.mask[:, step]
    inputs = network.encode(batch.inputs)
    state, per_step_probes, outputs = None, [], []
    with torch.enable_grad():
        for t in range(step + 1):
            features, state = network.core(inputs[:, t:t + 1], state)
            outputs.append(features)
            probes: list[Tensor] = []
            state = _add_probe(state, probes)
            per_step_probes.append(probes)
        logits = network.head(outputs[-1])
        loss = per_step_loss(task.output_kind, logits, batch.targets[:, step:step + 1])[:, 0]
        total = loss[rows].sum()
        all_probes = [p for probes in per_step_probes for p in probes]
        grads = torch.autograd.grad(total, all_probes, allow_unused=True)
    by_probe = dict(zip(map(id, all_probes), grads))
    scored = max(int(rows.sum()), 1)
    result = {}
    for t, probes in enumerate(per_step_probes[:-1]):  # the state after step t feeds steps t+1..s
        squared = sum(float(by_probe[id(p)].pow(2).sum()) for p in probes if by_probe[id(p)] is not None)
        result[step - t] = (squared / scored) ** 0.5
    return result


def gradient_table(run: LoadedRun, arch: str | None = None, batch: Batch | None = None) -> pd.DataFrame:
    """Rows (arch, run_id, weights = initialisation/trained, distance, grad_norm) for one run."""

    batch = batch if batch is not None else example_batch(run)
    rows = []
    for label, network in (("initialisation", run.initial), ("trained", run.trained)):
        for distance, norm in sorted(gradient_by_distance(network, run.task, batch).items()):
            rows.append({"arch": arch or run.config.model.arch, "run_id": run.run_id, "weights": label,
                         "distance": distance, "grad_norm": norm})
    return pd.DataFrame(rows, columns=["arch", "run_id", "weights", "distance", "grad_norm"])


@torch.no_grad()
def attention_maps(run: LoadedRun, batch: Batch | None = None, example: int = 0) -> WeightMaps | None:
    """What a trained core remembered on one test sequence, as its architecture draws it
    (:meth:`~bench.core.architecture.SteppedRecurrent.weight_maps`); None where it records nothing."""
    core = run.trained.core
    if not isinstance(core, SteppedRecurrent):
        return None
    batch = batch if batch is not None else example_batch(run)
    core.record = True
    try:
        run.trained(batch.inputs[example:example + 1])
        recorded = core.recorded
    finally:
        core.record = False
    return None if recorded is None else core.weight_maps(recorded[0].float())

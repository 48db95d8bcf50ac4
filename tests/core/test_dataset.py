"""SequenceDataset: length-bucketed epochs cover every training sequence once, differently each epoch
and seed; truncated-BPTT windows with the state carried compute what one whole-sequence call
computes; evaluation does not depend on ``bptt``. Checked on a generated set of long pieces
(500–4,000 frames, as MuseData and Piano-midi.de have), in the standard ``.mat`` format."""
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

from bench.core.config import ModelConfig
from bench.core.dataset import bucketed_batches, padding_waste, windows
from bench.core.network import SequenceNetwork, build_task
from bench.core.resolve import resolve
from bench.core.task import Draw
from bench.train.data import EvalSet
from bench.train.model import SequenceModel
from bench.train.run import fit
from tasks._piano_rolls import random_rolls, write_mat
from tasks.music import Music

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def long_pieces(tmp_path_factory) -> Path:
    """10 training, 3 validation and 3 test pieces of 500–4,000 frames."""
    path = tmp_path_factory.mktemp("music") / "long_pieces.mat"
    return write_mat(path, {"train": random_rolls(10, 500, 4000, 0), "val": random_rolls(3, 500, 4000, 1),
                            "test": random_rolls(3, 500, 4000, 2)})


def music(data: Path, **options) -> Music:
    return build_task(resolve({"task": {"name": "music"}}, plugin_options={"data": str(data), **options}))


def test_an_epoch_holds_every_sequence_once_in_batches_of_similar_length():
    lengths = torch.randint(20, 2000, (203,), generator=torch.Generator().manual_seed(0)).tolist()
    generator = torch.Generator().manual_seed(1)
    first, second = bucketed_batches(lengths, 16, generator), bucketed_batches(lengths, 16, generator)
    for epoch in (first, second):
        assert sorted(i for batch in epoch for i in batch) == list(range(203))
        assert padding_waste(lengths, epoch) < 1.2  # random batches of these lengths waste ~1.9x
    assert first != second  # other batches, in another order, every epoch...
    assert bucketed_batches(lengths, 16, torch.Generator().manual_seed(1)) == first  # ...the same for the seed
    assert bucketed_batches(lengths, 16, torch.Generator().manual_seed(2)) != first  # another seed, other batches
    assert sorted(map(sorted, first)) != sorted(map(sorted, second))  # not only reordered: regrouped


def test_the_training_stream_is_epochs_of_batches_in_windows_with_each_piece_whole(long_pieces):
    task = music(long_pieces, bptt=300)
    pieces = [x for x, _ in task.examples("train", 4)]
    stream = list(task.train_batches(Draw(4, batches=120)))
    assert len(stream) == 120 and all(b.inputs.shape[1] <= 300 for b in stream)
    starts = [i for i, b in enumerate(stream) if not b.continues] + [len(stream)]
    batches = [stream[a:b] for a, b in zip(starts, starts[1:])]

    def pieces_in(group: list) -> tuple[int, ...]:
        """The pieces a batch's windows hold, each row joined across its windows."""
        inputs, mask = torch.cat([w.inputs for w in group], 1), torch.cat([w.mask for w in group], 1)
        assert len(group) == -(-inputs.shape[1] // 300)  # windows until the batch's longest piece ends
        found = []
        for row, real in zip(inputs, mask):
            [match] = [i for i, p in enumerate(pieces) if len(p) == int(real.sum()) and torch.equal(row[real], p.float())]
            found.append(match)
        return tuple(sorted(found))

    first, second = [pieces_in(g) for g in batches[:3]], [pieces_in(g) for g in batches[3:6]]  # 10 pieces, batch 4
    assert sorted(i for group in first for i in group) == sorted(i for group in second for i in group) == list(range(10))
    assert first != second


@pytest.mark.parametrize("arch", ["lstm", "gru", "vanilla", "attention"])
def test_windows_with_the_state_carried_compute_what_one_whole_call_computes(long_pieces, arch):
    task = music(long_pieces)
    batch = task.collate(sorted(task.examples("val", 3), key=lambda e: len(e[0])))  # rows of unequal length
    batch = batch.select(torch.arange(3))
    batch.inputs, batch.targets, batch.mask = batch.inputs[:, :700], batch.targets[:, :700], batch.mask[:, :700]
    torch.manual_seed(0)
    network = SequenceNetwork(task, ModelConfig(arch=arch, hidden_size=24)).eval()
    with torch.no_grad():
        whole, _ = network(batch.inputs)
        pieces, state = [], None
        for window in windows(batch, 97):
            outputs, state = network(window.inputs, state if window.continues else None)
            pieces.append(outputs)
    assert torch.allclose(torch.cat(pieces, 1), whole, atol=1e-5)


def test_evaluation_is_the_same_with_and_without_bptt(long_pieces):
    def test_nll(bptt: int, weights: dict | None) -> tuple[float, dict]:
        config = resolve({"task": {"name": "music", "data": str(long_pieces), "bptt": bptt},
                          "model": {"arch": "gru", "hidden_size": 32}, "train": {"threads": 1, "batch_size": 2}})
        torch.manual_seed(0)
        model = SequenceModel(build_task(config), config)
        if weights is not None:
            model.load_state_dict(weights)
        batches = model.task.eval_batches("test", Draw(2))
        assert any(b.continues for b in batches) == (bptt > 0)
        trainer = pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
        trainer.test(model, dataloaders=[EvalSet("test", batches)], verbose=False)
        return model.final_metrics["test/nll_per_frame"], model.state_dict()

    whole, weights = test_nll(0, None)
    for bptt in (50, 333):
        assert test_nll(bptt, weights)[0] == pytest.approx(whole, rel=1e-6)


def test_a_run_logs_the_padding_waste_of_its_training_batches(long_pieces):
    config = resolve({"task": {"name": "music", "data": str(long_pieces), "bptt": 200},
                      "model": {"arch": "lstm", "hidden_size": 16},
                      "train": {"threads": 1, "batch_size": 4, "max_steps": 12, "eval_every": 12}})
    statistics = fit(config, progress=False).data_statistics
    lengths = [len(x) for x, _ in music(long_pieces).examples("train", 4)]
    assert 1.0 <= statistics["padding_waste"] < 1.5 and statistics["train_sequences"] == 10
    assert statistics["windows_per_epoch"] >= sum(lengths) / 4 / 200


def test_a_run_resumed_between_two_windows_of_the_same_pieces_ends_as_an_uninterrupted_one(long_pieces, tmp_path):
    from lightning.pytorch.callbacks import Callback

    class SaveAtStep(Callback):
        """Saves a checkpoint at the validation of step 10: inside a batch of ~40 windows of 50 frames."""

        def on_validation_end(self, trainer, pl_module):
            if trainer.global_step == 10:
                assert trainer.model._train_state is not None
                trainer.save_checkpoint(str(tmp_path / "mid.ckpt"), weights_only=False)

    config = resolve({"task": {"name": "music", "data": str(long_pieces), "bptt": 50},
                      "model": {"arch": "lstm", "hidden_size": 16, "dropout": 0.0},  # RNG: the resume tests'
                      "train": {"threads": 1, "batch_size": 4, "max_steps": 20, "eval_every": 10}})
    uninterrupted = fit(config, progress=False, callbacks=[SaveAtStep()])
    resumed = fit(config, progress=False, checkpoint=str(tmp_path / "mid.ckpt"))
    assert resumed.metrics == pytest.approx(uninterrupted.metrics, rel=1e-6)


def test_max_epochs_stops_a_dataset_run_after_that_many_passes(long_pieces):
    config = resolve({"task": {"name": "music", "data": str(long_pieces), "bptt": 1000},
                      "model": {"arch": "gru", "hidden_size": 8},
                      "train": {"threads": 1, "batch_size": 4, "max_steps": 10_000, "max_epochs": 2, "eval_every": 50}})
    task = build_task(config)
    windows_of = [len(task.train_batches(Draw(4, batches=10_000, max_epochs=n))) for n in (1, 2)]
    assert 3 * 1 <= windows_of[0] < windows_of[1] <= 3 * 4 * 2  # 3 batches an epoch, 1-4 windows each
    result = fit(config, progress=False)
    assert result.steps == windows_of[1] and result.stop_reason == "epoch limit (2)"

"""rnnbench: which recurrent architecture is best for this kind of sequence, and how sure are we?

Flow of one run: CLI (bench.cli) → RunConfig (bench.config) → registry (bench.registry) →
Task (tasks/) and Architecture (architectures/) → SequenceModel / SequenceDataModule
(bench.model, bench.data) → Lightning Trainer (bench.train) → MLflow (bench.tracking).
"""

__version__ = "0.1.0"

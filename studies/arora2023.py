"""Arora et al. 2023 (Zoology): attention recalls by content at any number of pairs, a fixed-size state falls behind.

Their Figure 2 (the repository's README calls it the main synthetic result; Section 3 of the paper):
multi-query associative recall (MQAR), accuracy against model dimension at sequence lengths 64 to
512 (4 to 64 key-value pairs), each point the best of four learning rates. Attention solves it at
every length from the smallest dimension; the gated convolutions (H3, Hyena, RWKV, BaseConv) need
more dimension as the sequence grows, and fall further behind the longer it is.

Here: the ``recall`` task at 4 and 16 pairs (vocabulary 64: 32 keys, so 16 pairs are tested at 32
at most), at an equal budget and tuning effort:
``attention`` (a recurrent core attending over its own past states, Bahdanau-style — not the
paper's Transformer) against two fixed-size states, an LSTM and Mamba (not in the paper's figure;
Mamba postdates its experiments).
"""
from bench import Arm, Beats, Experiment, Margin, Scale, Study, register_study

SOURCE = "Arora et al. 2023, Section 3 and Figure 2"
MARGIN = Margin(0.05, "5 points of query accuracy: well below the gap between recalling and remembering only the "
                      "last pair (about 0.27 at 4 pairs), about the spread of one arm's seeds")

QUICK = {"max_steps": 20, "eval_every": 10, "eval_size": 64, "patience": 0, "early_stop": False}


@register_study("arora2023")
class Arora2023(Study):
    """Arora et al. 2023 (Zoology): attention vs LSTM and Mamba on multi-query associative recall, 4 and 16 pairs."""

    paper = ("Arora, Eyuboglu, Timalsina, Johnson, Poli, Zou, Rudra & Ré 2023, Zoology: Measuring and Improving "
             "Recall in Efficient Language Models (arXiv:2312.04927)")
    experiments = (Experiment("pairs4", "recall", {"length": 4}), Experiment("pairs16", "recall", {"length": 16, "eval_lengths": [32]}))
    arms = (Arm("attention", "attention"), Arm("lstm", "lstm"), Arm("mamba", "mamba"))
    params = 20_000
    train = {"optimizer": "adam", "batch_size": 32}
    space = {"model.hidden_size": None, "train.optimizer": None, "train.clip_grad_norm": None,
             "model.forget_bias": None, "train.lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}}
    scales = {
        "smoke": Scale(trials=1, seeds=2, train=QUICK, experiments=("pairs16",), options={"pairs16": {"length": 4}},
                       cost="about 30 s", differs="4 pairs, 20 updates: checks the machinery."),
        "laptop": Scale(trials=3, seeds=3, max_seeds=12,
                        train={"max_steps": 2000, "early_stop": False, "eval_every": 250, "eval_size": 500},
                        cost="measured: 43 min of compute on a 2-core CPU, 2 workers (42 runs, seeds to 6)",
                        differs="4 and 16 pairs of a 64-token vocabulary (the paper: 4 to 64 pairs of 8,192 tokens); "
                                "one budget of 20k parameters (the paper: dimensions 64 to 512); a recurrent core with "
                                "attention over its states (the paper: a Transformer) and LSTM and Mamba (the paper: "
                                "gated convolutions); 2,000 updates of 32; 3 trials per arm (the paper: 4 learning rates); "
                                "3 to 12 seeds."),
        "paper": Scale(trials=4, seeds=3, train={"max_steps": 20_000, "early_stop": False}, cost="GPU hours (not run here)",
                       differs="the paper's updates and learning-rate count; still 64 tokens (8,192 one-hot inputs "
                               "would not fit the budget)."),
    }
    claims = (
        Beats("attention", "lstm", ("pairs16",), MARGIN, "test/acc", f"{SOURCE}: attention recalls at every length"),
        Beats("attention", "mamba", ("pairs16",), MARGIN, "test/acc",
              f"{SOURCE}: a fixed-size state falls behind attention as the pairs grow"),
    )

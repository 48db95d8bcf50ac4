"""Merrill, Petty & Sabharwal 2024: a nonlinear RNN tracks permutations, linear recurrences of fixed depth do not.

Their Section 4 (Corollary 4.7): no log-precision S4 or Mamba-style model of fixed depth can solve
the S5 word problem at every length, while one layer of a nonlinear RNN can (Section 5). Section 6
(Figure 3) trains on word problems (the prefix product as the label at each step): a single-layer
RNN learns them at every length tried, while the depth Mamba and S4 need grows with the length on
the non-commutative groups (A5, and the solvable A4 × Z5 too). Grazzi et al. 2025 (Theorem 1) add that
a recurrence whose transitions have only non-negative real eigenvalues — DeltaNet with β in (0, 1)
among them — cannot even solve parity, which every S3 word problem contains (the sign of the product).

Here: the S3 word problem (the smallest non-commutative group: our 20k-parameter models learnt none
of A5 in a pilot), trained and tested at length 12, at an equal budget and tuning effort: LSTM and
a tanh RNN (one layer each) against Mamba, minGRU, LRU and DeltaNet (two blocks each, their default).
"""
from bench import Arm, Beats, Experiment, Margin, Scale, Study, register_study

SOURCE = "Merrill et al. 2024, Section 6 and Figure 3"
MARGIN = Margin(0.05, "5 points of per-step accuracy: far below the gap between tracking the state and not "
                      "(chance is 1/6), about the spread of one arm's seeds")

QUICK = {"max_steps": 20, "eval_every": 10, "eval_size": 64, "patience": 0, "early_stop": False}


@register_study("merrill2024")
class Merrill2024(Study):
    """Merrill et al. 2024: LSTM and tanh RNN vs Mamba, minGRU, LRU, DeltaNet on the S3 word problem."""

    paper = "Merrill, Petty & Sabharwal 2024, The Illusion of State in State-Space Models (ICML; arXiv:2404.08819)"
    experiments = (Experiment("s3", "state_tracking", {"group": "S3", "length": 12}),)
    arms = (Arm("lstm", "lstm", {"num_layers": 1}), Arm("rnn", "vanilla", {"num_layers": 1}), Arm("mamba", "mamba"),
            Arm("mingru", "mingru"), Arm("lru", "lru"), Arm("deltanet", "deltanet"))
    params = 20_000
    train = {"optimizer": "adam", "batch_size": 32}
    space = {"model.hidden_size": None, "train.optimizer": None, "train.clip_grad_norm": None,
             "model.forget_bias": None, "train.lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}}
    scales = {
        "smoke": Scale(trials=1, seeds=2, train=QUICK, cost="about a minute", differs="20 updates: checks the machinery."),
        # Chosen by a pilot (one run each, 1,500 updates, 20k parameters): on A5 at length 10 neither LSTM nor
        # Mamba passed 20% per-step accuracy; on S3 at length 12 the LSTM reached 100% (also at 48) and Mamba 72%.
        "laptop": Scale(trials=3, seeds=3, max_seeds=12,
                        train={"max_steps": 1500, "early_stop": False, "eval_every": 250, "eval_size": 500},
                        cost="measured: 13 min of compute on a 2-core CPU, 2 workers (54 runs, seeds to 6)",
                        differs="S3 at length 12 (the paper: A5, A4 x Z5 and Z60, lengths up to 20, and the depth "
                                "each model needs, not a fixed depth); 1,500 updates of 32 at 20k parameters; "
                                "3 trials per arm; 3 to 12 seeds."),
        "paper": Scale(trials=10, seeds=3, train={"max_steps": 50_000, "early_stop": False},
                       options={"s3": {"group": "A5", "length": 16}}, cost="GPU hours (not run here)",
                       differs="A5 at length 16; a fixed depth (the paper searches the depth each model needs)."),
    }
    claims = tuple(
        Beats(winner, loser, ("s3",), MARGIN, "test/acc", f"{SOURCE}{extra}")
        for winner, loser, extra in (
            ("lstm", "mamba", ": a one-layer RNN learns the word problems, Mamba of fixed depth does not"),
            ("rnn", "mamba", ": the paper's RNN"),
            ("lstm", "mingru", "; minGRU is a diagonal linear recurrence as Mamba is (Section 4)"),
            ("lstm", "lru", "; LRU is a diagonal linear recurrence as S4 is (Section 4)"),
            ("lstm", "deltanet", "; Grazzi et al. 2025, Theorem 1: positive eigenvalues cannot hold the sign of S3"),
        )
    )

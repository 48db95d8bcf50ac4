"""Zaremba & Sutskever 2014: the four curricula of Learning to Execute, on program evaluation.

Section 5 trains an LSTM to print the output of generated Python programs under four curricula —
baseline (always the target difficulty), naive (easy to hard), mix (random difficulties) and
combined (naive and mix) — and finds combined best in most settings and naive sometimes worse than
baseline (Table 1, Figures 4–6). Here all four arms are one LSTM whose curriculum is the only
difference, with the same tuning budget each.
"""
from bench import Arm, Beats, Experiment, Margin, Scale, Study, register_study

SECTION = "Zaremba & Sutskever 2014, Section 5, Table 1"
CURRICULA = ("baseline", "naive", "mix", "combined")

MARGIN = Margin(0.02, "two points of per-character accuracy: below the gaps between curricula the paper discusses "
                      "(several points), above the noise of a 500-program test set")

@register_study("zaremba2014")
class Zaremba2014(Study):
    """Zaremba & Sutskever 2014: baseline vs naive vs mix vs combined curricula on program execution."""

    paper = "Zaremba & Sutskever 2014, Learning to Execute (arXiv:1410.4615)"
    experiments = (Experiment("programs", "program", {"length": 2, "nesting": 2}),)
    arms = tuple(Arm(name, "lstm", task={"curriculum": name}) for name in CURRICULA)
    model = {"hidden_size": 128}
    train = {"optimizer": "adam", "batch_size": 64, "eval_every": 100}
    space = {"model.forget_bias": None, "train.lr": {"type": "float", "low": 1e-3, "high": 2e-2, "log": True}}
    scales = {
        "smoke": Scale(trials=1, seeds=2, train={"max_steps": 20, "eval_every": 10, "eval_size": 64, "patience": 0,
                                                 "batch_size": 16},
                       options={"programs": {"length": 1, "nesting": 1}}, cost="about 40 s",
                       differs="length 1, nesting 1, 20 updates: checks the machinery."),
        "laptop": Scale(trials=2, seeds=3, max_seeds=12, train={"max_steps": 2000, "eval_size": 500},
                        cost="measured: 38 min with 2 workers on a 2-core CPU (38 runs, seeds to 9)",
                        differs="target length 2, nesting 2 (the paper: up to 9 and 4), one LSTM layer of 128 (the "
                                "paper: two of 400), Adam, at most 2,000 updates, 2 trials per arm."),
        "paper": Scale(trials=10, seeds=5, train={"max_steps": 100_000}, options={"programs": {"length": 6, "nesting": 3}},
                       cost="GPU days (not run here)"),
    }
    # The paper's metric: per-character accuracy of the printed output under teacher forcing (`acc`).
    claims = (
        Beats("combined", "baseline", ("programs",), MARGIN, "test/acc", f"{SECTION}: combined is best"),
        Beats("combined", "naive", ("programs",), MARGIN, "test/acc", SECTION),
        Beats("combined", "mix", ("programs",), MARGIN, "test/acc", SECTION),
        Beats("baseline", "naive", ("programs",), MARGIN, "test/acc",
              f"{SECTION}: naive is often worse than baseline (one setting that contradicts this does not refute "
              "'often')"),
    )

"""Bahdanau, Cho & Bengio 2015: attention keeps a read-then-write model accurate as sequences grow.

Their Section 5.2.1 and Figure 2: BLEU against sentence length. The plain encoder–decoder
(RNNencdec), which must squeeze the whole source into one fixed-length vector, degrades quickly as
sentences get longer; the model that attends over the encoder's states (RNNsearch) does not, even
past 50 words. Here the read-then-write task is the NTM copy task (a sequence of random 8-bit
vectors, a delimiter, then the sequence back), at lengths up to 5 (short) and up to 20 (long), at an
equal budget and tuning effort: ``attention`` (a recurrent core attending over its own past states)
against ``gru`` (the paper's recurrent unit, with no attention).
"""
from bench import Arm, Beats, Experiment, Margin, Scale, Study, register_study

SOURCE = "Bahdanau et al. 2015, Section 5.2.1 and Figure 2"

QUICK = {"max_steps": 20, "eval_every": 10, "eval_size": 64, "patience": 0, "early_stop": False}


@register_study("bahdanau2015")
class Bahdanau2015(Study):
    """Bahdanau et al. 2015: attention vs GRU on a read-then-write (copy) task, short and long sequences."""

    paper = ("Bahdanau, Cho & Bengio 2015, Neural Machine Translation by Jointly Learning to Align and Translate "
             "(ICLR; arXiv:1409.0473)")
    experiments = (Experiment("short", "copy", {"variant": "ntm", "length": 5}),
                   Experiment("long", "copy", {"variant": "ntm", "length": 20}))
    arms = (Arm("attention", "attention"), Arm("gru", "gru"))
    params = 20_000
    train = {"optimizer": "adam", "batch_size": 32}
    space = {"model.hidden_size": None, "train.optimizer": None, "train.clip_grad_norm": None,
             "train.lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}}
    scales = {
        "smoke": Scale(trials=1, seeds=2, train=QUICK, experiments=("long",), options={"long": {"length": 4}},
                       cost="about 20 s", differs="lengths 1-4, 20 updates: checks the machinery."),
        "laptop": Scale(trials=3, seeds=3, max_seeds=12,
                        train={"max_steps": 2000, "early_stop": False, "eval_every": 250, "eval_size": 500},
                        cost="measured: 21 min of compute on a 2-core CPU, 2 workers (30 runs, seeds to 6)",
                        differs="copying sequences of random 8-bit vectors (the paper: English-French translation, "
                                "BLEU), up to 5 and up to 20 vectors (the paper: sentences of up to 80 words); a "
                                "recurrent core with attention over its own states (the paper: a bidirectional "
                                "encoder and an attending decoder); 20k parameters, 2,000 updates of 32; 3 trials per "
                                "arm; 3 to 12 seeds."),
        "paper": Scale(trials=10, seeds=3, train={"max_steps": 50_000, "early_stop": False},
                       options={"long": {"length": 50}}, cost="GPU hours (not run here)"),
    }
    claims = (
        Beats("attention", "gru", ("long",), Margin(8.0, "8 bits per sequence: one 8-bit vector of the copy wrong"),
              "test/bits_per_seq", f"{SOURCE}: attention does not deteriorate on long sequences, the encoder-decoder does"),
    )

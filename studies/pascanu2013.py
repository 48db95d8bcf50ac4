"""Pascanu, Mikolov & Bengio 2013: clipping the gradient's norm lets SGD train a tanh RNN on long sequences.

Their Section 3.2 (Algorithm 1) rescales the gradient whenever its norm passes a threshold, against
the exploding gradients of Section 2. Section 4.1.1 and Figure 7: on the temporal order problem, a
50-unit RNN trained by SGD with and without clipping (threshold 1, learning rate 0.01, minibatches of
20, up to 5M updates; success = under 1% of 10,000 fresh sequences wrong, over 5 runs): "As the
length of the sequence increases, using clipping becomes more important to achieve a better success
rate." Section 4.1.2 runs the other pathological problems (the adding problem among them) with
clipping and their regulariser only.

Here: a 50-unit tanh RNN (the paper's size; a budget of 2,701 parameters picks it) with plain SGD,
clipped at norm 1 or not clipped, at an equal tuning effort over the learning rate, on the adding
problem at T = 50 and T = 100.
"""
from bench import Arm, Beats, Experiment, Margin, Scale, Study, register_study

SOURCE = "Pascanu et al. 2013, Section 4.1.1 and Figure 7"
MARGIN = Margin(0.0167, "a tenth of the predict-1 baseline's MSE (0.167), far below the gap between solving and not")

QUICK = {"max_steps": 20, "eval_every": 10, "eval_size": 64, "patience": 0, "early_stop": False}


@register_study("pascanu2013")
class Pascanu2013(Study):
    """Pascanu et al. 2013: a tanh RNN trained by SGD with and without gradient-norm clipping, adding problem."""

    paper = "Pascanu, Mikolov & Bengio 2013, On the difficulty of training recurrent neural networks (ICML)"
    experiments = (Experiment("adding50", "addition", {"variant": "adding", "length": 50}),
                   Experiment("adding100", "addition", {"variant": "adding", "length": 100}))
    arms = (Arm("clipped", "vanilla", train={"clip_grad_norm": 1.0}),
            Arm("unclipped", "vanilla", train={"clip_grad_norm": 0.0}))
    params = 2_701
    train = {"optimizer": "sgd", "momentum": 0.0, "batch_size": 20}
    space = {"model.hidden_size": None, "train.optimizer": None,
             "train.lr": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True}}
    scales = {
        "smoke": Scale(trials=1, seeds=2, train=QUICK, experiments=("adding100",), options={"adding100": {"length": 10}},
                       cost="about 15 s", differs="T = 10, 20 updates: checks the machinery."),
        "laptop": Scale(trials=3, seeds=3, max_seeds=12,
                        train={"max_steps": 10_000, "early_stop": False, "eval_every": 500, "eval_size": 500},
                        cost="measured: 24 min of compute on a 2-core CPU, 2 workers (30 runs, seeds to 6)",
                        differs="the adding problem (the paper's Figure 7: the temporal order problem) at T = 50 and "
                                "100 (the paper: 50 to 200); 10,000 updates of 20 (the paper: up to 5M); mean squared "
                                "error of 3 to 12 seeds (the paper: success rates of 5); the learning rate tuned over 3 "
                                "trials per arm (the paper: 0.01)."),
        "paper": Scale(trials=3, seeds=5, train={"max_steps": 5_000_000, "early_stop": True},
                       options={"adding100": {"length": 200}}, cost="CPU days (not run here)"),
    }
    claims = (
        Beats("clipped", "unclipped", ("adding100",), MARGIN, "test/mse",
              f"{SOURCE}: clipping matters more as sequences grow"),
    )

"""Greff, Srivastava, Koutník, Steunebrink & Schmidhuber 2017: random search over an LSTM's
hyperparameters, analysed with fANOVA — the learning rate matters most.

Section 5: ~200 random-search trials per LSTM variant and data set (TIMIT, IAM Online, JSB
Chorales) over learning rate, hidden size, momentum and input noise; fANOVA attributes most of the
variance of the validation error to the learning rate, then the network size; momentum matters
little. Here: the vanilla LSTM on JSB Chorales, random search over learning rate, hidden size,
momentum (SGD) and dropout (in place of input noise).
"""
from bench import Arm, Data, Experiment, MostImportant, Scale, Study, register_study


@register_study("greff2017")
class Greff2017(Study):
    """Greff et al. 2017: random search over LSTM hyperparameters on JSB; fANOVA says learning rate matters most."""

    paper = "Greff, Srivastava, Koutník, Steunebrink & Schmidhuber 2017, LSTM: A Search Space Odyssey (IEEE TNNLS)"
    experiments = (Experiment("jsb", "music", data=Data("jsb", "music/JSB_Chorales.mat")),)
    arms = (Arm("lstm", "lstm"),)
    train = {"optimizer": "sgd"}
    sampler = "random"
    space = {
        "train.lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
        "model.hidden_size": {"type": "int", "low": 20, "high": 200, "log": True},
        "train.momentum": {"type": "float", "low": 0.0, "high": 0.99},
        "model.dropout": {"type": "float", "low": 0.0, "high": 0.5},
        "train.clip_grad_norm": None, "model.forget_bias": None,
    }
    scales = {
        "smoke": Scale(trials=5, seeds=0, train={"max_steps": 20, "eval_every": 10, "patience": 0, "batch_size": 16},
                       cost="about 20 s", differs="5 trials of 20 updates: checks the machinery."),
        "laptop": Scale(trials=40, seeds=0, train={"max_steps": 600, "patience": 6, "eval_every": 30},
                        cost="measured: 1.5 min with 2 workers on a 2-core CPU (40 trials)",
                        differs="40 trials (the paper: ~200), at most 600 updates each; JSB only."),
        "paper": Scale(trials=200, seeds=0, train={"max_steps": 10_000, "patience": 20}, cost="GPU hours (not run here)"),
    }
    claims = (MostImportant("train.lr", ("lstm",), ("jsb",), source="Greff et al. 2017, Section 5 (fANOVA)"),)

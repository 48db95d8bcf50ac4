"""The published column shows a paper's number only where our run measured the same thing."""
from bench.report.tables import published_note


def test_sequential_mnist_numbers_appear_for_mnist_not_for_the_bundled_digits():
    assert published_note("seqmnist", {}, "lstm") == "—"
    note = published_note("seqmnist", {"data": "/data/mnist"}, "lstm")
    assert note == "87.2% (Bai et al. 2018, MNIST, test acc); 98.9% (Cooijmans et al. 2016, MNIST, test acc)"
    permuted = published_note("seqmnist", {"data": "/data/mnist.npz", "permuted": True}, "irnn")
    assert permuted == "82.0% (Cooijmans et al. 2016, permuted MNIST, test acc)"
    assert published_note("seqmnist", {"data": "/data/mnist"}, "mamba") == "—"


def test_a_study_arm_named_otherwise_gets_the_published_number_of_the_architecture_it_ran():
    """chung2014's "tanh" arm runs ``vanilla``: Bai et al.'s RNN 8.91 on JSB belongs in its row."""
    import pandas as pd

    from bench.report.runs import ArchRuns
    from bench.report.tables import TaskRuns, main_table

    runs = pd.DataFrame({"params.model.arch": ["vanilla"] * 2, "metrics.test/nll_per_frame": [8.8, 8.9],
                         "metrics.num_parameters": [1000, 1000], "run_id": ["a", "b"]})
    report = TaskRuns("music", "jsb", "nll_per_frame", "min", 0.0, {"data": "JSB_Chorales.mat"},
                      {"tanh": ArchRuns("tanh", runs, "")})
    assert main_table(report, {}).set_index("arch").loc["tanh", "published"] == "8.91 (Bai et al. 2018, test NLL/frame)"


def test_each_task_says_its_published_numbers_and_baselines_for_the_setting_the_run_measured():
    assert published_note("music", {"data": "music/JSB_Chorales.mat"}, "gru") == "8.43 (Bai et al. 2018, test NLL/frame)"
    assert published_note("music", {"data": "my_own_rolls.pickle"}, "gru") == "—"  # not their data: no number
    assert published_note("addition", {"variant": "adding", "length": 600}, "lstm") == \
        "0.164 (Bai et al. 2018, T=600, MSE); predict-1 baseline MSE 0.167"
    assert published_note("addition", {"variant": "adding", "length": 200}, "lstm") == "predict-1 baseline MSE 0.167"
    assert published_note("addition", {}, "lstm") == "—"  # the binary variant
    # Copy memory at the defaults (T = 10, R = 10, S = 8): 10 ln 8 / 30, beside our test loss.
    assert published_note("copy", {}, "gru", 0.5) == "memoryless baseline CE 0.6931; ours: test loss 0.5"
    assert published_note("copy", {"variant": "ntm"}, "gru") == "—"
    assert published_note("charlm", {"data": "ptb.char.train.txt"}, "vanilla") == "1.48 (Bai et al. 2018, char PTB, bpc)"
    assert published_note("parity", {}, "gru") == "—"

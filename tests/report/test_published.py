"""The published column shows a paper's number only where our run measured the same thing."""
from bench.report.published import published_note


def test_sequential_mnist_numbers_appear_for_mnist_not_for_the_bundled_digits():
    assert published_note("seqmnist", {}, "lstm", "acc") == "—"
    note = published_note("seqmnist", {"data": "/data/mnist"}, "lstm", "acc")
    assert note == "87.2% (Bai et al. 2018, MNIST, test acc); 98.9% (Cooijmans et al. 2016, MNIST, test acc)"
    permuted = published_note("seqmnist", {"data": "/data/mnist.npz", "permuted": True}, "irnn", "acc")
    assert permuted == "82.0% (Cooijmans et al. 2016, permuted MNIST, test acc)"
    assert published_note("seqmnist", {"data": "/data/mnist"}, "mamba", "acc") == "—"


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

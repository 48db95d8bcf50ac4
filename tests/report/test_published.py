"""The published column shows a paper's number only where our run measured the same thing."""
from bench.report.published import published_note


def test_sequential_mnist_numbers_appear_for_mnist_not_for_the_bundled_digits():
    assert published_note("seqmnist", {}, "lstm", "acc") == "—"
    note = published_note("seqmnist", {"data": "/data/mnist"}, "lstm", "acc")
    assert note == "87.2% (Bai et al. 2018, MNIST, test acc); 98.9% (Cooijmans et al. 2016, MNIST, test acc)"
    permuted = published_note("seqmnist", {"data": "/data/mnist.npz", "permuted": True}, "irnn", "acc")
    assert permuted == "82.0% (Cooijmans et al. 2016, permuted MNIST, test acc)"
    assert published_note("seqmnist", {"data": "/data/mnist"}, "mamba", "acc") == "—"

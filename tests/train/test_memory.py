"""A run that asks for more memory than there is says so in one line, and is recorded FAILED."""
import pytest
from mlflow.tracking import MlflowClient

from bench.train.memory import asked_bytes, is_out_of_memory, readable


def test_a_size_that_cannot_be_allocated_is_one_line_exit_2_and_a_failed_run(bench_main, usage_error, isolated_store):
    result = bench_main("run", "--task", "parity", "--opt", "length=100000000", "--threads", "1", "--no-progress")
    usage_error(result, "out of memory: the run asked for one allocation of 1.6 TB on cpu")
    assert "length=100000000" in result.stderr and "--batch-size (64)" in result.stderr
    client = MlflowClient(f"sqlite:///{isolated_store / 'mlflow.db'}")
    [run] = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert run.info.status == "FAILED"
    assert run.data.tags["failure_reason"].startswith("out of memory")


@pytest.mark.parametrize("message, size", [
    ("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: you tried to "
     "allocate 1600000000000 bytes. Error code 12 (Cannot allocate memory)", 1_600_000_000_000),
    ("CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; 79.19 GiB total capacity)", 20 * 2**30),
    ("CUDA out of memory.", None),
])
def test_the_asked_size_is_read_from_pytorchs_messages(message, size):
    assert is_out_of_memory(RuntimeError(message))
    assert asked_bytes(message) == size


def test_other_errors_are_not_out_of_memory():
    assert not is_out_of_memory(RuntimeError("Expected all tensors to be on the same device"))
    assert not is_out_of_memory(ValueError("out of memory"))


def test_sizes_read_as_people_write_them():
    assert readable(1_600_000_000_000) == "1.6 TB"
    assert readable(20 * 2**30) == "21.5 GB"
    assert readable(512) == "512 bytes"

"""Progress output fits where it goes: plain lines in a file or pipe, a live bar only on a terminal."""
import io

from bench.train.progress import progress_callbacks, progress_mode

RUN = ["run", "--opt", "length=6", "--opt", "score=all", "--max-steps", "40", "--eval-every", "20",
       "--eval-size", "100", "--threads", "1", "--no-early-stop"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_the_bar_and_a_file_gets_lines():
    assert progress_mode(True, Terminal()) == "bar"
    assert progress_mode(True, io.StringIO()) == "lines"
    assert progress_mode(False, Terminal()) == "none"
    assert [type(c).__name__ for c in progress_callbacks("lines")] == ["LineProgress"]
    assert progress_callbacks("none") == []


def test_bench_run_into_a_file_writes_one_plain_line_per_validation(bench_main):
    result = bench_main(*RUN)  # its stdout is a StringIO: not a terminal, as a file or a pipe
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in lines] == ["20/40", "40/40"], result.stdout
    assert all("val/seq_acc" in line for line in lines)


def test_no_progress_prints_no_progress_lines(bench_main):
    result = bench_main(*RUN, "--no-progress")
    assert result.returncode == 0, result.stderr
    assert not [line for line in result.stdout.splitlines() if line.startswith("step ")]
    assert "\r" not in result.stdout + result.stderr

"""The layers written in pyproject.toml hold, and the check would catch a back-arrow."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the code in ``cwd`` (its own console script, run by this Python)."""
    command = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run([sys.executable, "-c", command, "--no-cache"], cwd=cwd, capture_output=True,
                          text=True, env={"PYTHONPATH": str(cwd)}, timeout=120)


def copy_of_the_code(folder: Path) -> Path:
    for package in ("bench", "tasks", "architectures"):
        shutil.copytree(ROOT / package, folder / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    return folder


def test_the_layers_hold(tmp_path):
    result = lint_imports(copy_of_the_code(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken" in result.stdout


def test_the_core_importing_the_cli_breaks_the_layers(tmp_path):
    folder = copy_of_the_code(tmp_path)
    errors = folder / "bench" / "core" / "errors.py"
    errors.write_text(errors.read_text() + "\nfrom bench.cli import main  # a back-arrow\n")
    result = lint_imports(folder)
    assert result.returncode != 0
    assert "bench.core is not allowed to import bench.cli" in result.stdout


def test_a_plugin_importing_the_harness_internals_breaks_the_contract(tmp_path):
    folder = copy_of_the_code(tmp_path)
    parity = folder / "tasks" / "parity.py"
    parity.write_text(parity.read_text() + "\nfrom bench.train.model import SequenceModel  # past the public surface\n")
    result = lint_imports(folder)
    assert result.returncode != 0
    assert "tasks is not allowed to import bench.train" in result.stdout

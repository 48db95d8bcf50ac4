"""The sweep tests' search space: the learning rate alone, so that a tiny trial stays tiny."""
import pytest

from tests.sweep.sweeps import LR_ONLY


@pytest.fixture
def space_file(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text(LR_ONLY)
    return str(path)

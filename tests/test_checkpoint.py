import h5py
import numpy as np
import pytest

from layersweep import checkpoint
from layersweep import data as datasets
from layersweep.estimator import LayerSweepClassifier
from layersweep.exceptions import CheckpointError


@pytest.fixture
def trained():
    d = datasets.synthetic(n=60, features=10, classes=2, seed=1)
    model = LayerSweepClassifier(hidden_layer_sizes=(6,), redundancy=2, epochs=2, reads=3,
                                 sweeps=8, random_state=3)
    return model.fit(d.X, d.y)


def test_round_trip_keeps_parameters_state_and_history(trained, tmp_path):
    path = tmp_path / "run.h5"
    checkpoint.save(path, trained.trainer_, {"layers": [10, 6, 4], "note": "x"})
    saved = checkpoint.load(path)
    for name, value in trained.network_.parameters().items():
        assert np.array_equal(saved["network"].parameters()[name], value)
    assert saved["config"] == {"layers": [10, 6, 4], "note": "x"}
    assert saved["history"] == trained.history_
    assert saved["state"]["epoch"] == 2
    assert saved["state"]["rng"] == trained.trainer_.rng.bit_generator.state
    assert saved["meta"]["format_version"] == checkpoint.FORMAT_VERSION


def test_layout_is_readable_with_plain_h5py(trained, tmp_path):
    path = tmp_path / "run.h5"
    checkpoint.save(path, trained.trainer_, {})
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "layersweep-run"
        assert f["parameters/W1"].shape == (6, 10)
        assert len(f["history/train_error"]) == 2


def test_writes_leave_no_temporary_files(trained, tmp_path):
    checkpoint.save(tmp_path / "run.h5", trained.trainer_, {})
    checkpoint.save(tmp_path / "run.h5", trained.trainer_, {})
    assert [p.name for p in tmp_path.iterdir()] == ["run.h5"]


def test_refusals(trained, tmp_path):
    with pytest.raises(CheckpointError, match="no run file"):
        checkpoint.load(tmp_path / "absent.h5")
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"\x89HDF\r\n\x1a\n" + b"garbage" * 100)
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        checkpoint.load(junk)
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    with pytest.raises(CheckpointError, match="not a layersweep run file"):
        checkpoint.load(tmp_path / "other.h5")
    good = tmp_path / "good.h5"
    checkpoint.save(good, trained.trainer_, {})
    with h5py.File(good, "a") as f:
        f.attrs["format_version"] = 99
    with pytest.raises(CheckpointError, match="format version 99"):
        checkpoint.load(good)
    truncated = tmp_path / "cut.h5"
    checkpoint.save(truncated, trained.trainer_, {})
    truncated.write_bytes(truncated.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        checkpoint.load(truncated)
    with pytest.raises(CheckpointError, match="does not exist"):
        checkpoint.save(tmp_path / "no" / "such" / "dir.h5", trained.trainer_, {})

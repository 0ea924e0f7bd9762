import numpy as np
import pytest

from layersweep import data as datasets
from layersweep.exceptions import DataError


@pytest.fixture(scope="module")
def mnist():
    return datasets.load_mnist5k()


def test_bundled_mnist_is_real_and_scaled(mnist):
    assert mnist.X.shape == (5000, 784) and mnist.X.dtype == np.float32
    assert 0 <= mnist.X.min() and mnist.X.max() == 1
    assert np.bincount(mnist.y).tolist() == [500] * 10


def test_split_is_balanced_deterministic_and_disjoint(mnist):
    parts = datasets.split(mnist, 1000, 100)
    again = datasets.split(mnist, 1000, 100)
    assert np.array_equal(parts["train"].X, again["train"].X)
    assert np.bincount(parts["train"].y).tolist() == [100] * 10
    assert np.bincount(parts["test"].y).tolist() == [10] * 10
    assert len(parts["heldout"]) == 3900
    rows = lambda d: {r.tobytes() for r in d.X}  # noqa: E731
    assert not rows(parts["train"]) & rows(parts["heldout"])
    smaller = datasets.split(mnist, 200, 100)
    assert rows(smaller["train"]) <= rows(parts["train"])


def test_split_too_large_is_refused(mnist):
    with pytest.raises(DataError, match="lower --train-size"):
        datasets.split(mnist, 4990, 100)


def test_npz_round_trip(tmp_path):
    X = (np.arange(40, dtype=np.uint8).reshape(4, 10) * 6)
    np.savez(tmp_path / "d.npz", X=X, y=np.array([0, 1, 1, 0]))
    loaded = datasets.load(str(tmp_path / "d.npz"))
    assert np.allclose(loaded.X * 255, X) and loaded.y.tolist() == [0, 1, 1, 0]


@pytest.mark.parametrize("X, y, message", [
    (np.full((3, 4), np.nan), [0, 1, 0], "NaN"),
    (np.ones((3, 4)) * 2.0, [0, 1, 0], "scaled to \\[0, 1\\]"),
    (np.ones((3, 4, 1)) * 0.5, [0, 1, 0], "shape \\(n_samples, n_features\\)"),
    (np.ones((3, 4)) * 0.5, [0, 1], "must have shape \\(3,\\)"),
    (np.ones((3, 4)) * 0.5, [0, 1, 12], "labels must lie in 0..9"),
    (np.ones((3, 4)) * 0.5, [0, -1, 1], "labels must lie"),
    (np.ones((3, 4)) * 0.5, [0.5, 1, 1], "integer class labels"),
])
def test_bad_data_is_refused(X, y, message):
    with pytest.raises(DataError, match=message):
        datasets.check_data(X, y, classes=10)


def test_missing_classes_are_refused():
    with pytest.raises(DataError, match="lack class"):
        datasets.check_data(np.zeros((3, 2)), [0, 1, 1], classes=3, all_classes=True)


def test_bad_files_are_refused(tmp_path):
    with pytest.raises(DataError, match="no data file"):
        datasets.load(str(tmp_path / "absent.npz"))
    np.savez(tmp_path / "noy.npz", X=np.zeros((2, 2)))
    with pytest.raises(DataError, match="lacks array"):
        datasets.load(str(tmp_path / "noy.npz"))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="cannot read"):
        datasets.load(str(tmp_path / "junk.npz"))
    with pytest.raises(DataError, match="mnist5k"):
        datasets.load("digits.csv")


def test_synthetic_is_learnable_shape():
    d = datasets.synthetic(n=50, features=8, classes=3)
    assert d.X.shape == (50, 8) and set(d.y.tolist()) == {0, 1, 2}

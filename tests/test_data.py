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


def write_idx(path, array):
    """An IDX file as MNIST ships it: big-endian header (type 0x08 = uint8, dims), values."""
    import gzip
    import struct

    header = b"\0\0\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def small_mnist():
    """A stand-in for full MNIST in its own formats: 60 + 30 digits of 28 x 28, 10 classes."""
    rng = np.random.default_rng(3)
    parts = {"x_train": rng.integers(0, 256, (60, 28, 28)), "y_train": np.arange(60) % 10,
             "x_test": rng.integers(0, 256, (30, 28, 28)), "y_test": (np.arange(30) * 7) % 10}
    return {k: v.astype(np.uint8) for k, v in parts.items()}


def idx_folder(folder, parts, gz=True):
    folder.mkdir()
    suffix = ".gz" if gz else ""
    write_idx(folder / f"train-images-idx3-ubyte{suffix}", parts["x_train"])
    write_idx(folder / f"train-labels-idx1-ubyte{suffix}", parts["y_train"])
    write_idx(folder / f"t10k-images.idx3-ubyte{suffix}", parts["x_test"])
    write_idx(folder / f"t10k-labels.idx1-ubyte{suffix}", parts["y_test"])
    return folder


@pytest.mark.parametrize("gz", [True, False])
def test_full_mnist_reads_the_idx_files_training_part_first(tmp_path, small_mnist, gz):
    d = datasets.load(f"mnist:{idx_folder(tmp_path / 'm', small_mnist, gz)}")
    assert d.X.shape == (90, 784) and d.X.dtype == np.float32 and d.test_start == 60
    np.testing.assert_array_equal(d.X[61], small_mnist["x_test"][1].ravel() / np.float32(255))
    np.testing.assert_array_equal(d.y, np.concatenate([small_mnist["y_train"],
                                                       small_mnist["y_test"]]))


def test_full_mnist_reads_a_mnist_npz_as_file_or_folder(tmp_path, small_mnist):
    np.savez(tmp_path / "mnist.npz", **small_mnist)
    by_idx = datasets.load(f"mnist:{idx_folder(tmp_path / 'm', small_mnist)}")
    for source in (tmp_path / "mnist.npz", tmp_path):
        d = datasets.load(f"mnist:{source}")
        np.testing.assert_array_equal(d.X, by_idx.X)
        assert d.test_start == 60


def test_full_mnist_never_trains_on_its_test_part(tmp_path, small_mnist):
    d = datasets.load(f"mnist:{idx_folder(tmp_path / 'm', small_mnist)}")
    parts = datasets.split(d, 20, 10)
    assert len(parts["train"]) == 20 and np.bincount(parts["train"].y).tolist() == [2] * 10
    assert len(parts["test"]) == 10 and len(parts["heldout"]) == 20  # all from the 30 test digits
    rows = {name: {p.tobytes() for p in part.X} for name, part in parts.items()}
    official_test = {x.ravel().astype(np.float32).tobytes() for x in small_mnist["x_test"] / 255}
    assert not rows["train"] & official_test
    assert len(datasets.split(d, 60, 0)["train"]) == 60  # the whole training part


@pytest.mark.parametrize("damage, message", [
    ("missing", "lacks the MNIST file"), ("truncated", "truncated"), ("magic", "not an IDX")])
def test_broken_mnist_files_are_named(tmp_path, small_mnist, damage, message):
    folder = idx_folder(tmp_path / "m", small_mnist, gz=False)
    victim = folder / "train-labels-idx1-ubyte"
    if damage == "missing":
        victim.unlink()
    elif damage == "truncated":
        victim.write_bytes(victim.read_bytes()[:-5])
    else:
        victim.write_bytes(b"PK\3\4" + victim.read_bytes()[4:])
    with pytest.raises(DataError, match=message):
        datasets.load(f"mnist:{folder}")


def test_mnist_from_openml_uses_scikit_learn_and_says_what_to_do_offline(monkeypatch,
                                                                         small_mnist):
    import sklearn.datasets

    X = np.concatenate([small_mnist["x_train"], small_mnist["x_test"]]).reshape(90, -1)
    y = np.concatenate([small_mnist["y_train"], small_mnist["y_test"]]).astype(str)
    X_big, y_big = np.resize(X, (70000, 784)).astype(np.float64), np.resize(y, 70000)
    monkeypatch.setattr(sklearn.datasets, "fetch_openml", lambda *a, **k: (X_big, y_big))
    d = datasets.load("mnist")
    assert d.X.shape == (70000, 784) and d.test_start == 60000 and d.y.dtype == np.int64

    def offline(*a, **k):
        raise OSError("no network")

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", offline)
    with pytest.raises(DataError, match="mnist:PATH"):
        datasets.load("mnist")


def test_cli_trains_on_full_mnist_files(tmp_path, small_mnist, capsys):
    from layersweep.cli import main

    folder = idx_folder(tmp_path / "m", small_mnist)
    assert main(["train", "--data", f"mnist:{folder}", "--train-size", "60", "--test-size",
                 "10", "--layers", "784,12,20", "--redundancy", "2", "--epochs", "1",
                 "--reads", "3", "--out", str(tmp_path / "r.h5"), "--no-progress"]) == 0
    assert "heldout accuracy" in capsys.readouterr().out

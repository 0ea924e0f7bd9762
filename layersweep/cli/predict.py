"""``layersweep predict RUN.h5 --data X.npz --out predictions.csv``: classify new images.

One CSV row per image: its name (the row number of ``X``, or the image file), ``class``, the
class of the ground state the paper's inference finds (what ``evaluate`` scores; empty where
two output groups tie), and ``p_<class>`` for every class, the probabilities of
:meth:`~layersweep.estimator.LayerSweepClassifier.predict_proba` (Boltzmann weights of the
class-clamped minima). ``X`` is an ``.npz`` with an array ``X`` (n, features) (labels, if any,
are ignored), or a folder of PNG images, turned grey and resized to the run's input when that
is a square (784 -> 28 x 28; MNIST digits are white on black).
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np

from .. import checkpoint, run
from ..data import check_data
from ..exceptions import CheckpointError, DataError
from ..train import predict as ground_state_class
from .common import emit_json


def add_parser(subparsers):
    p = subparsers.add_parser(
        "predict", help="classify new images with a run file's network (CSV out)",
        description="Classify the images of an .npz (array X) or a folder of PNG images with "
                    "a trained run and write one CSV row per image: the predicted class and "
                    "the probability of each class.")
    p.add_argument("run_file", metavar="RUN.h5", help="a run file written by layersweep train")
    p.add_argument("--data", required=True, metavar="X.npz|FOLDER",
                   help="an .npz with an array X (n, features) in the run's feature count, or "
                        "a folder of PNG images")
    p.add_argument("--out", default="predictions.csv",
                   help="the CSV to write (default %(default)s); never replaced without "
                        "--overwrite")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=run_predict)
    return p


def read_images(source: str, features: int) -> tuple[np.ndarray, list]:
    """``(X (n, features) float32 in [0, 1], names)`` from an ``.npz`` or a PNG folder."""
    path = Path(source)
    if path.is_dir():
        return _pngs(path, features)
    if not path.is_file():
        raise DataError(f"no data at {source!r}: give an .npz file with an array X or a folder "
                        f"of PNG images")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "X" not in archive.files:
                raise DataError(f"{source!r} has no array X (it has {sorted(archive.files)})")
            X = archive["X"]
    except (OSError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"cannot read {source!r} as an .npz file of numeric arrays") from None
    if np.issubdtype(X.dtype, np.integer):
        X = X.astype(np.float32) / np.float32(255)
    if X.ndim != 2 or X.shape[1] != features:
        raise DataError(f"{source!r}: X has shape {X.shape}; the run's network takes "
                        f"(n, {features})")
    return check_data(X), [str(i) for i in range(len(X))]


def _pngs(folder: Path, features: int) -> tuple[np.ndarray, list]:
    from PIL import Image, UnidentifiedImageError

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".png")
    if not files:
        raise DataError(f"{str(folder)!r} holds no .png images")
    side = math.isqrt(features)
    rows = []
    for file in files:
        try:
            with Image.open(file) as image:
                grey = image.convert("L")
                if side * side == features:
                    grey = grey.resize((side, side), Image.Resampling.LANCZOS)
                pixels = np.asarray(grey, np.float32).reshape(-1) / np.float32(255)
        except (OSError, UnidentifiedImageError) as exc:
            raise DataError(f"cannot read image {str(file)!r}: {exc}") from None
        if pixels.size != features:
            raise DataError(f"image {str(file)!r} has {pixels.size} pixels; the run's network "
                            f"takes {features} (a square input is resized, this one is not)")
        rows.append(pixels)
    return np.stack(rows), [p.name for p in files]


def run_predict(args) -> int:
    out = Path(args.out)
    if not str(args.out):
        raise CheckpointError("--out is empty: give a file name such as predictions.csv")
    if out.exists() and not args.overwrite:
        raise CheckpointError(f"{args.out!r} exists: pass --overwrite to replace it, or choose "
                              f"another --out")
    if out.is_dir() or not out.parent.resolve().is_dir():
        raise CheckpointError(f"cannot write {args.out!r}: give a file in an existing folder")
    saved = checkpoint.load(args.run_file)
    features = saved["network"].sizes[0]
    X, names = read_images(args.data, features)
    model = run.estimator(run.migrate(saved["config"], args.run_file), sampler="numpy")
    model.restore_checkpoint(saved)
    proba = model.predict_proba(X)
    found = ground_state_class(model.network_, X)
    labels = model.classes_
    tmp = out.with_name(f".{out.name}.tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "class", *[f"p_{c}" for c in labels]])
        for name, k, p in zip(names, found, proba):
            writer.writerow([name, "" if k < 0 else labels[k], *[f"{v:.6g}" for v in p]])
    os.replace(tmp, out)
    counts = {str(labels[k]): int(n) for k, n in zip(*np.unique(found[found >= 0],
                                                              return_counts=True))}
    summary = {"out": str(out), "images": len(X), "ties": int((found < 0).sum()),
               "classes": counts}
    if args.json:
        emit_json(summary)
    else:
        print(f"wrote {len(X)} predictions to {out} ({summary['ties']} ties between output "
              f"groups, class left empty); per class: "
              + ", ".join(f"{c}: {n}" for c, n in counts.items()))
    return 0

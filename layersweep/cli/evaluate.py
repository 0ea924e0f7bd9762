"""``layersweep evaluate RUN.h5``: accuracy of a trained network on a split."""

from __future__ import annotations

import warnings

from .. import checkpoint
from ..data import check_data
from ..exceptions import DataError
from ..run import data_fingerprint
from ..train import predict
from .common import add_data_options, emit_json, load_splits


def add_parser(subparsers):
    p = subparsers.add_parser(
        "evaluate", help="accuracy of a run file's network on a data split",
        description="Accuracy on the data and split recorded in the run file, or on other "
                    "data given with the same flags as train.")
    p.add_argument("run_file", metavar="RUN.h5", help="a run file written by layersweep train")
    p.add_argument("--split", choices=("train", "test", "heldout"), default="heldout",
                   help="which split to score (default heldout)")
    add_data_options(p, defaults=False)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    saved = checkpoint.load(args.run_file)
    config, net = saved["config"], checkpoint.predictor(saved)
    source = args.data or config["data"]
    train_size = config["train_size"] if args.train_size is None else args.train_size
    test_size = config["test_size"] if args.test_size is None else args.test_size
    splits = load_splits(source, train_size, test_size, net.classes)
    split = splits[args.split]
    if not len(split):
        raise DataError(f"the {args.split} split of {source!r} is empty (train size "
                        f"{train_size}, test size {test_size}): choose another --split or "
                        f"smaller sizes")
    recorded = config.get("data_sha256")
    if recorded and source == config["data"] and recorded != data_fingerprint(
            splits["train"].X, splits["train"].y):
        warnings.warn(f"the training data of {source!r} differ from those {args.run_file} was "
                      f"trained on: the splits, and so this score, may not be the run's")
    X, y = check_data(split.X, split.y, features=net.sizes[0], classes=net.classes)
    predicted = predict(net, X)
    result = {"accuracy": float((predicted == y).mean()) if len(y) else None, "n": len(y),
              "split": args.split, "data": source, "epoch": saved["state"]["epoch"],
              "undecided": int((predicted == -1).sum())}
    if args.json:
        emit_json(result)
    else:
        acc = "n/a" if result["accuracy"] is None else f"{result['accuracy']:.4f}"
        print(f"{args.split} accuracy {acc} on {result['n']} images of {source} "
              f"(epoch {result['epoch']}; {result['undecided']} images predicted no class: a "
              f"tie between output groups, counted as wrong)")
    return 0

"""``layersweep train``: train a network and write its run file."""

from __future__ import annotations

import time

from .. import checkpoint
from ..estimator import LayerSweepClassifier
from ..exceptions import ArchitectureError
from ..network import check_layers, parse_layers
from .common import add_data_options, emit_json, load_splits, table


def add_parser(subparsers):
    p = subparsers.add_parser(
        "train", help="train a network (defaults reproduce the paper: 784-120-40, QP, m=20)",
        description="Train an Ising-spin network by active-layer sweeps and write a run file.")
    p.add_argument("--layers", default="784,120,40", type=parse_layers,
                   help="layer sizes, input first, output = classes x redundancy (default 784,120,40)")
    p.add_argument("--redundancy", type=int, default=4, help="output units per class (default 4)")
    add_data_options(p)
    p.add_argument("--rule", choices=("qp", "ep"), default="qp",
                   help="quantum propagation (m samples) or equilibrium propagation (default qp)")
    p.add_argument("--reads", type=int, default=None,
                   help="m, free samples per image and block (default 20 for qp)")
    p.add_argument("--start", choices=("reference", "random"), default="reference",
                   help="where free samples' anneals start (default reference states)")
    p.add_argument("--cycles", type=int, default=1, help="cyclic-annealing cycles (default 1)")
    p.add_argument("--sampler", choices=("numpy", "neal"), default="numpy",
                   help="block sampler (default numpy, the fast CPU annealer)")
    p.add_argument("--sweeps", type=int, default=32, help="annealing sweeps per read (default 32)")
    p.add_argument("--epochs", type=int, default=13, help="epochs (default 13)")
    p.add_argument("--batch-size", type=int, default=1,
                   help="images per update (default 1, the paper's online training)")
    p.add_argument("--lr-w", default="0.001,0.0003",
                   help="coupling learning rates, one or one per layer (default 0.001,0.0003)")
    p.add_argument("--lr-b", default="0.001,0.0003",
                   help="bias learning rates, one or one per layer (default 0.001,0.0003)")
    p.add_argument("--seed", type=int, default=0, help="the run's one seed (default 0)")
    p.add_argument("--out", default="run.h5", help="run file to write (default run.h5)")
    p.add_argument("--json", action="store_true", help="one JSON object per line, no bars")
    p.add_argument("--progress", action=__import__("argparse").BooleanOptionalAction,
                   default=True, help="progress bar per epoch (default on)")
    p.set_defaults(func=run)
    return p


def _rates(text: str, name: str) -> list:
    try:
        return [float(v) for v in str(text).split(",") if v]
    except ValueError:
        raise ArchitectureError(f"{name} must be comma-separated numbers; got {text!r}") from None


def config_from_args(args) -> dict:
    """The run's configuration as recorded in its run file."""
    return {"layers": args.layers, "redundancy": args.redundancy, "data": args.data,
            "train_size": args.train_size, "test_size": args.test_size, "rule": args.rule,
            "reads": args.reads, "start": args.start, "cycles": args.cycles,
            "sampler": args.sampler, "sweeps": args.sweeps, "epochs": args.epochs,
            "batch_size": args.batch_size, "lr_W": _rates(args.lr_w, "--lr-w"),
            "lr_b": _rates(args.lr_b, "--lr-b"), "seed": args.seed}


def model_from_config(config: dict, verbose: bool) -> LayerSweepClassifier:
    return LayerSweepClassifier(
        hidden_layer_sizes=tuple(config["layers"][1:-1]), redundancy=config["redundancy"],
        rule=config["rule"], reads=config["reads"], start=config["start"],
        cycles=config["cycles"], sampler=config["sampler"], sweeps=config["sweeps"],
        epochs=config["epochs"], batch_size=config["batch_size"], lr_W=config["lr_W"],
        lr_b=config["lr_b"], random_state=config["seed"], verbose=verbose)


COLUMNS = [("epoch", "epoch", "{:d}"), ("train_error", "train err", "{:.3f}"),
           ("test_error", "test err", "{:.3f}"), ("free_correct", "free ok", "{:.2f}"),
           ("seconds", "seconds", "{:.1f}")]


def run(args) -> int:
    config = config_from_args(args)
    sizes = args.layers
    if len(sizes) >= 1 and sizes[-1] % max(args.redundancy, 1):
        raise ArchitectureError(f"the output layer ({sizes[-1]} units) must be a multiple of "
                                f"--redundancy {args.redundancy}")
    classes = sizes[-1] // max(args.redundancy, 1)
    check_layers(sizes, classes, args.redundancy)
    splits = load_splits(args.data, args.train_size, args.test_size, classes)
    train, test = splits["train"], splits["test"]
    if train.X.shape[1] != sizes[0]:
        raise ArchitectureError(f"the input layer has {sizes[0]} units but the data has "
                                f"{train.X.shape[1]} features: change --layers")
    model = model_from_config(config, verbose=args.progress and not args.json)
    started = time.perf_counter()

    def on_epoch(row, model):
        checkpoint.save(args.out, model.trainer_, config)
        if args.json:
            emit_json(row)
        else:
            print(f"epoch {row['epoch']:3d}  train error {row['train_error']:.3f}  "
                  f"test error {row['test_error']:.3f}  {row['seconds']:.1f} s", flush=True)

    eval_sets = {"test": (test.X, test.y)} if len(test) else {}
    model.fit(train.X, train.y, eval_sets=eval_sets, on_epoch=on_epoch)
    heldout = splits["heldout"]
    summary = {"summary": True, "epochs": model.trainer_.epoch, "out": args.out,
               "train_accuracy": 1 - model.history_[-1]["train_error"],
               "test_accuracy": (1 - model.history_[-1]["test_error"]) if eval_sets else None,
               "heldout_accuracy": model.score(heldout.X, heldout.y) if len(heldout) else None,
               "heldout_n": len(heldout), "seconds": time.perf_counter() - started}
    if args.json:
        emit_json(summary)
    else:
        print()
        table(model.history_, COLUMNS)
        print(f"\nheldout accuracy {summary['heldout_accuracy']:.3f} on {len(heldout)} images; "
              f"test {summary['test_accuracy']:.3f}; {summary['seconds']:.0f} s in all; "
              f"run file {args.out}")
    return 0

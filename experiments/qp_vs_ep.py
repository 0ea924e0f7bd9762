"""The core result: QP vs EP on the paper's network and data, error per epoch, several seeds.

784-120-40 on the 1000 bundled MNIST training digits (100 per class), 13 epochs, evaluated
after every epoch on the 100-image test split (the paper's) and on the 3900 held-out digits.
Writes experiments/results/qp_vs_ep/curves.csv and curves.png and prints a summary table.

    python experiments/qp_vs_ep.py [--seeds 0,1,2] [--epochs 13] [--batch-size 10] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import os
import time

import numpy as np

from layersweep import data as datasets
from layersweep.estimator import LayerSweepClassifier
from layersweep.recipe import Recipe

HERE = os.path.dirname(os.path.abspath(__file__))


def run(rule, seed, splits, epochs, batch_size, lr):
    """One training run; returns its history rows with the held-out error added."""
    heldout = splits["heldout"]
    model = LayerSweepClassifier(epochs=epochs, batch_size=batch_size, random_state=seed,
                                 recipe=dict(rule=rule, lr_W=lr, lr_b=lr))
    eval_sets = {"test": (splits["test"].X, splits["test"].y),
                 "heldout": (heldout.X, heldout.y)}
    model.fit(splits["train"].X, splits["train"].y, eval_sets=eval_sets)
    return [dict(row, rule=rule, seed=seed) for row in model.history_]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=13)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="images per update (default: the package default)")
    parser.add_argument("--lr", default=None,
                        help="learning rates W1,W2 for couplings and biases (default: package's)")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "qp_vs_ep"))
    parser.add_argument("--quick", action="store_true",
                        help="2 epochs, 1 seed, 200 training images, every 10th held-out image")
    args = parser.parse_args(argv)
    defaults = LayerSweepClassifier().get_params()
    batch = args.batch_size or defaults["batch_size"]
    lr = [float(v) for v in args.lr.split(",")] if args.lr else list(Recipe().lr_W)
    seeds = [int(s) for s in args.seeds.split(",")]
    train_size = 1000
    if args.quick:
        args.epochs, seeds, train_size = 2, seeds[:1], 200
    os.makedirs(args.out, exist_ok=True)
    splits = datasets.split(datasets.load("mnist5k"), train_size, 100)
    if args.quick:
        heldout = splits["heldout"]
        splits["heldout"] = datasets.Dataset(heldout.X[::10], heldout.y[::10], heldout.name)
    rows = []
    started = time.perf_counter()
    for rule in ("qp", "ep"):
        for seed in seeds:
            rows += run(rule, seed, splits, args.epochs, batch, lr)
            last = rows[-1]
            print(f"{rule} seed {seed}: heldout error {last['heldout_error']:.4f} after "
                  f"{last['epoch']} epochs ({sum(r['seconds'] for r in rows if r['rule'] == rule and r['seed'] == seed):.1f} s training)",
                  flush=True)
    keys = ["rule", "seed", "epoch", "train_error", "test_error", "heldout_error", "seconds",
            "free_correct", "gap_1-2"]
    with open(os.path.join(args.out, "curves.csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    summary = summarize(rows, args.epochs)
    plot(rows, args.out, batch)
    print(f"\n{len(seeds)} seeds, batch size {batch}, learning rates {lr}; "
          f"{time.perf_counter() - started:.0f} s in all")
    print(f"{'rule':4s}  {'epoch':>5s}  {'train err':>14s}  {'test err':>14s}  {'heldout err':>14s}")
    for row in summary:
        print(f"{row['rule']:4s}  {row['epoch']:5d}  {fmt(row, 'train')}  {fmt(row, 'test')}  "
              f"{fmt(row, 'heldout')}")


def summarize(rows, epochs):
    out = []
    for rule in ("qp", "ep"):
        for epoch in sorted({1, 2, 5, 10, epochs} & set(range(1, epochs + 1))):
            sub = [r for r in rows if r["rule"] == rule and r["epoch"] == epoch]
            row = {"rule": rule, "epoch": epoch}
            for split in ("train", "test", "heldout"):
                values = np.array([r[f"{split}_error"] for r in sub])
                row[split] = (values.mean(), values.std(ddof=1) if len(values) > 1 else 0.0)
            out.append(row)
    return out


def fmt(row, split):
    mean, std = row[split]
    return f"{mean:.3f} ± {std:.3f}".rjust(14)


def plot(rows, out, batch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharey=False)
    colours = {"qp": "tab:red", "ep": "tab:blue"}
    for ax, split in zip(axes, ("train", "test", "heldout")):
        for rule in ("qp", "ep"):
            seeds = sorted({r["seed"] for r in rows if r["rule"] == rule})
            curves = np.array([[r[f"{split}_error"] for r in rows
                                if r["rule"] == rule and r["seed"] == s] for s in seeds])
            epochs = np.arange(1, curves.shape[1] + 1)
            ax.plot(epochs, curves.mean(axis=0), marker="o", color=colours[rule],
                    label=f"{rule.upper()} (mean of {len(seeds)})")
            for curve in curves:
                ax.plot(epochs, curve, color=colours[rule], alpha=0.25, lw=0.8)
        ax.set(xlabel="epoch", ylabel="error", title=f"{split} error", yscale="log")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"784-120-40 on 1000 MNIST digits, batch size {batch}")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "curves.png"), dpi=120)


if __name__ == "__main__":
    main()

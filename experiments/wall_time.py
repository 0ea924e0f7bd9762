"""Wall time and epochs to reach 85% and 88% held-out accuracy: QP, EP and backpropagation.

All three train on the 1000 bundled MNIST training digits and are scored on the 3900 held-out
digits after every epoch; the clock counts training only (not evaluation). QP and EP are
layersweep's defaults (784-120-40 Ising network, minibatches of 10). Backpropagation is
scikit-learn's MLPClassifier with the same architecture (784-120 ReLU-10, softmax output),
plain SGD (no momentum, constant rate, minibatches of 10), its rate picked by a scan on the
100-image test split (never on the held-out digits). Writes
experiments/results/wall_time/wall_time.csv and wall_time.png and prints a summary table.

    python experiments/wall_time.py [--seeds 0,1,2] [--epochs 30] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import os
import time
import warnings

import numpy as np

from layersweep import data as datasets
from layersweep.estimator import LayerSweepClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = (0.85, 0.88)


def run_layersweep(rule, seed, splits, epochs):
    """Per-epoch (cumulative training seconds, held-out accuracy) of a QP or EP run."""
    heldout = splits["heldout"]
    model = LayerSweepClassifier(epochs=epochs, random_state=seed, recipe=dict(rule=rule))
    model.fit(splits["train"].X, splits["train"].y,
              eval_sets={"heldout": (heldout.X, heldout.y)})
    seconds = np.cumsum([r["seconds"] for r in model.history_])
    return [(s, 1 - r["heldout_error"]) for s, r in zip(seconds, model.history_)]


def run_backprop(rate, seed, splits, epochs, score_on="heldout"):
    """Per-epoch (cumulative training seconds, accuracy on ``score_on``) of plain-SGD backprop."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    train, scored = splits["train"], splits[score_on]
    model = MLPClassifier(hidden_layer_sizes=(120,), activation="relu", solver="sgd",
                          learning_rate="constant", learning_rate_init=rate, momentum=0.0,
                          nesterovs_momentum=False, batch_size=10, alpha=0.0,
                          random_state=seed)
    rng = np.random.default_rng(seed)
    curve, clock = [], 0.0
    for _ in range(epochs):
        order = rng.permutation(len(train.y))
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(train.X[order], train.y[order], classes=np.arange(10))
        clock += time.perf_counter() - start
        curve.append((clock, model.score(scored.X, scored.y)))
    return curve


def first_reach(curve, target):
    """(epoch, seconds) at which the accuracy first reaches ``target``; (None, None) if never."""
    for epoch, (seconds, accuracy) in enumerate(curve, start=1):
        if accuracy >= target:
            return epoch, seconds
    return None, None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--rates", default="0.003,0.01,0.03,0.1",
                        help="backprop learning rates to scan on the test split")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "wall_time"))
    parser.add_argument("--quick", action="store_true", help="3 epochs, one seed, one rate")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    rates = [float(r) for r in args.rates.split(",")]
    epochs = args.epochs
    if args.quick:
        seeds, rates, epochs = seeds[:1], rates[-1:], 3
    splits = datasets.split(datasets.load("mnist5k"), 1000, 100)
    scan = {rate: np.mean([max(a for _, a in run_backprop(rate, s, splits, epochs, "test"))
                           for s in seeds]) for rate in rates}
    best_rate = max(scan, key=scan.get)
    print("backprop rate scan (best test accuracy, mean over seeds): "
          + ", ".join(f"{r:g}: {a:.3f}" for r, a in scan.items()) + f" -> {best_rate:g}")
    os.makedirs(args.out, exist_ok=True)
    curves = {}
    for method in ("qp", "ep", "backprop"):
        for seed in seeds:
            curves[method, seed] = (run_backprop(best_rate, seed, splits, epochs)
                                    if method == "backprop"
                                    else run_layersweep(method, seed, splits, epochs))
            final = curves[method, seed][-1]
            print(f"{method:8s} seed {seed}: heldout accuracy {final[1]:.3f} after {epochs} "
                  f"epochs, {final[0]:.1f} s of training", flush=True)
    with open(os.path.join(args.out, "wall_time.csv"), "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["method", "seed", "epoch", "train_seconds", "heldout_accuracy"])
        for (method, seed), curve in curves.items():
            for epoch, (seconds, accuracy) in enumerate(curve, start=1):
                writer.writerow([method, seed, epoch, f"{seconds:.4f}", f"{accuracy:.4f}"])
    plot(curves, args.out, best_rate)
    print(f"\n{'method':8s}  " + "  ".join(f"{'to ' + format(t, '.0%'):>22s}" for t in TARGETS)
          + "  (median epochs / seconds over seeds; n/r = not reached)")
    for method in ("qp", "ep", "backprop"):
        cells = []
        for target in TARGETS:
            hits = [first_reach(curves[method, s], target) for s in seeds]
            reached = [h for h in hits if h[0] is not None]
            if len(reached) * 2 <= len(hits):
                cells.append(f"n/r ({len(reached)}/{len(hits)} seeds)".rjust(22))
            else:
                ep = np.median([h[0] if h[0] else np.inf for h in hits])
                sec = np.median([h[1] if h[1] else np.inf for h in hits])
                cells.append(f"{ep:.0f} ep / {sec:.2f} s ({len(reached)}/{len(hits)})".rjust(22))
        print(f"{method:8s}  " + "  ".join(cells))


def plot(curves, out, rate):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"qp": "tab:red", "ep": "tab:blue", "backprop": "tab:green"}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for (method, seed), curve in curves.items():
        seconds, accuracy = zip(*curve)
        label = None if seed != min(s for m, s in curves if m == method) else (
            f"backprop (SGD, rate {rate:g})" if method == "backprop" else method.upper())
        axes[0].plot(range(1, len(curve) + 1), accuracy, color=colours[method], alpha=0.7,
                     label=label)
        axes[1].plot(seconds, accuracy, color=colours[method], alpha=0.7, label=label)
    for ax, xlabel in zip(axes, ("epoch", "training seconds")):
        for target in TARGETS:
            ax.axhline(target, color="grey", ls=":", lw=1)
        ax.set(xlabel=xlabel, ylabel="held-out accuracy", ylim=(0.6, 0.95))
        ax.grid(alpha=0.3)
        ax.legend()
    axes[1].set_xscale("log")
    fig.suptitle("784-120-40 (Ising, QP/EP) vs 784-120-10 (ReLU, backprop) on 1000 MNIST digits")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "wall_time.png"), dpi=120)


if __name__ == "__main__":
    main()

"""Linear probes of the hidden layers: how well each layer's spins carry the class, by epoch.

Each network is trained with the package's defaults on the 1000 bundled MNIST training digits;
at the probed epochs the ground states of the training and held-out digits are found (what
``predict`` uses) and a logistic regression (scikit-learn) is fitted from one hidden layer's
spins of the training digits to their labels, then scored on the held-out digits. A layer that
probes worse than the network's own accuracy is not its bottleneck; a first hidden layer that
probes worse than the shallow net's is. During a deep net's greedy start the shallow stage
(input - layer 1 - output) is the network probed. The pixels are probed once as a reference.
Writes experiments/results/probe/probe.csv and probe.png and prints a summary table.

    python experiments/probe.py [--nets shallow,deep,wide] [--at 4,6,10,15,20] [--seeds 0,1]
                                [--quick]
"""

from __future__ import annotations

import argparse
import csv
import os
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from layersweep import data as datasets
from layersweep.estimator import LayerSweepClassifier
from layersweep.train import error_rate, predict_states

HERE = os.path.dirname(os.path.abspath(__file__))
NETS = {"shallow": (120,), "deep": (120, 120), "wide": (256, 128), "deeper": (256, 128, 64)}


def probe(features_train, y_train, features_heldout, y_heldout) -> float:
    """Held-out accuracy of a logistic regression from ``features`` ``(n, d)`` to labels."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(max_iter=2000).fit(features_train, y_train)
    return float(model.score(features_heldout, y_heldout))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", default="shallow,deep,wide")
    parser.add_argument("--at", default="4,6,10,15,20", help="the epochs after which to probe")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "probe"))
    parser.add_argument("--quick", action="store_true",
                        help="2 epochs, 200 training images, every 10th held-out image")
    args = parser.parse_args(argv)
    probed = [1, 2] if args.quick else sorted({int(e) for e in args.at.split(",")})
    splits = datasets.split(datasets.load("mnist5k"), 200 if args.quick else 1000, 100)
    train, heldout = splits["train"], splits["heldout"]
    if args.quick:
        heldout = datasets.Dataset(heldout.X[::10], heldout.y[::10], heldout.name)
    os.makedirs(args.out, exist_ok=True)
    pixels = probe(train.X, train.y, heldout.X, heldout.y)
    rows, started = [], time.perf_counter()
    for name in args.nets.split(","):
        hidden = NETS[name]
        label = "-".join(str(n) for n in (train.X.shape[1], *hidden, 40))
        for seed in (int(s) for s in args.seeds.split(",")):
            model = LayerSweepClassifier(hidden_layer_sizes=hidden, epochs=0,
                                         random_state=seed).fit(train.X, train.y)
            for epoch in probed:
                model.train_to(train.X, train.y, epoch)
                trainer = model.trainer_
                net = trainer.active()[0] if trainer.staging else model.network_
                states_train = predict_states(net, train.X)
                states_heldout = predict_states(net, heldout.X)
                row = {"net": label, "seed": seed, "epoch": epoch,
                       "greedy": int(trainer.staging),
                       "network": 1 - error_rate(net, heldout.X, heldout.y), "pixels": pixels}
                for l in range(1, net.depth):  # the hidden layers of the probed network
                    row[f"layer_{l}"] = probe(states_train[l], train.y, states_heldout[l],
                                              heldout.y)
                rows.append(row)
                stage = " (greedy stage)" if row["greedy"] else ""
                print(f"{label:18s} seed {seed} epoch {epoch:2d}{stage}: network "
                      f"{row['network']:.3f}  " + "  ".join(f"layer {l} {row[f'layer_{l}']:.3f}"
                                  for l in range(1, net.depth)), flush=True)
    keys = ["net", "seed", "epoch", "greedy", "network", "pixels"] + sorted(
        {k for r in rows for k in r if k.startswith("layer_")})
    with open(os.path.join(args.out, "probe.csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, pixels, args.out)
    print(f"\n{time.perf_counter() - started:.0f} s in all; a logistic regression on the pixels "
          f"reads {pixels:.3f} held out")
    print(f"{'network':18s} {'epoch':>5s} {'network':>8s} {'layer 1':>8s} {'layer 2':>8s} "
          f"{'layer 3':>8s}  (held-out accuracy, mean over seeds)")
    for label in dict.fromkeys(r["net"] for r in rows):
        for epoch in probed:
            sub = [r for r in rows if r["net"] == label and r["epoch"] == epoch]
            cells = [np.mean([r["network"] for r in sub])] + [
                np.mean([r[f"layer_{l}"] for r in sub]) if f"layer_{l}" in sub[0] else None
                for l in (1, 2, 3)]
            stage = "  greedy stage" if sub[0]["greedy"] else ""
            print(f"{label:18s} {epoch:5d} " + " ".join(
                f"{c:8.3f}" if c is not None else f"{'':8s}" for c in cells) + stage)


def plot(rows, pixels, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label in dict.fromkeys(r["net"] for r in rows):
        sub = [r for r in rows if r["net"] == label]
        layers = sorted({k for r in sub for k in r if k.startswith("layer_")})
        for key in ["network"] + layers:
            epochs = sorted({r["epoch"] for r in sub if key in r})
            values = [np.mean([r[key] for r in sub if r["epoch"] == e]) for e in epochs]
            style = "-" if key == "network" else "--"
            name = "network" if key == "network" else key.replace("_", " ") + " probe"
            ax.plot(epochs, values, style, marker=".", label=f"{label} {name}")
    ax.axhline(pixels, color="grey", lw=0.8, label="pixels probe")
    ax.set(xlabel="epoch", ylabel="held-out accuracy",
           title="linear probes of the ground-state spins of each hidden layer")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "probe.png"), dpi=120)


if __name__ == "__main__":
    main()

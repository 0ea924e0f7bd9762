"""Training error after the first epoch against the number of free samples m (paper, Fig. 4).

784-120-40 on the 1000 bundled MNIST training digits; for each seed every m starts from the
same initial network and sees the images in the same order; one epoch of QP (reference-state
starts) per m, then the training error (and the held-out error) is measured. The paper sees the
error fall up to m ≈ 10 (the number of classes) and flatten beyond. Writes
experiments/results/samples_m/samples_m.csv and samples_m.png and prints a summary table.

    python experiments/samples_m.py [--m 1,2,5,10,20,40] [--seeds 0,1,2,3,4] [--batch-size 1]
"""

from __future__ import annotations

import argparse
import csv
import os
import time

import numpy as np

from layersweep import data as datasets
from layersweep.estimator import LayerSweepClassifier

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", default="1,2,5,10,20,40")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--batch-size", type=int, default=1,
                        help="images per update (default 1: the paper's online training)")
    parser.add_argument("--lr", default="0.001,0.0003",
                        help="learning rates (input, hidden-output) for couplings and biases; "
                             "the default suits --batch-size 1")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "samples_m"))
    parser.add_argument("--quick", action="store_true",
                        help="m = 1, 10; one seed; 200 training images")
    args = parser.parse_args(argv)
    ms = [int(v) for v in args.m.split(",")]
    seeds = [int(v) for v in args.seeds.split(",")]
    lr = [float(v) for v in args.lr.split(",")]
    train_size = 1000
    if args.quick:
        ms, seeds, train_size = [1, 10], seeds[:1], 200
    splits = datasets.split(datasets.load("mnist5k"), train_size, 100)
    train, heldout = splits["train"], splits["heldout"]
    os.makedirs(args.out, exist_ok=True)
    rows, started = [], time.perf_counter()
    for seed in seeds:
        for m in ms:
            model = LayerSweepClassifier(epochs=1, batch_size=args.batch_size, random_state=seed,
                                         recipe=dict(reads=m, lr_W=lr, lr_b=lr))
            model.fit(train.X, train.y, eval_sets={"heldout": (heldout.X, heldout.y)})
            row = model.history_[0]
            rows.append({"m": m, "seed": seed, "train_error": row["train_error"],
                         "heldout_error": row["heldout_error"], "seconds": row["seconds"]})
            print(f"seed {seed}  m {m:3d}: train error {row['train_error']:.3f}, heldout error "
                  f"{row['heldout_error']:.3f} after one epoch ({row['seconds']:.1f} s)", flush=True)
    with open(os.path.join(args.out, "samples_m.csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    summary = []
    for m in ms:
        sub = [r for r in rows if r["m"] == m]
        train_err = np.array([r["train_error"] for r in sub])
        held_err = np.array([r["heldout_error"] for r in sub])
        summary.append((m, train_err.mean(), sem(train_err), held_err.mean(), sem(held_err)))
    plot(summary, args.out, len(seeds), args.batch_size)
    print(f"\n{len(seeds)} seeds, batch size {args.batch_size}, rates {lr}; "
          f"{time.perf_counter() - started:.0f} s in all")
    print(f"{'m':>4s}  {'train error (1 epoch)':>22s}  {'heldout error':>16s}   (mean ± s.e.m.)")
    for m, tr, tr_e, he, he_e in summary:
        print(f"{m:4d}  {tr:13.3f} ± {tr_e:.3f}  {he:9.3f} ± {he_e:.3f}")


def sem(values: np.ndarray) -> float:
    """Standard error of the mean (0 for a single value)."""
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


def plot(summary, out, n_seeds, batch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = [s[0] for s in summary]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(m, [s[1] for s in summary], yerr=[s[2] for s in summary], marker="o",
                capsize=3, label="training error")
    ax.errorbar(m, [s[3] for s in summary], yerr=[s[4] for s in summary], marker="s",
                capsize=3, label="held-out error")
    ax.axvline(10, color="tab:red", ls="--", lw=1, label="m = 10 classes")
    ax.set(xscale="log", xlabel="free samples per image, m", ylabel="error after one epoch",
           title=f"784-120-40, one epoch of QP (batch {batch}, {n_seeds} seeds)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "samples_m.png"), dpi=120)


if __name__ == "__main__":
    main()

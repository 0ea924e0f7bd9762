"""Benchmark: the NumPy block annealer against dwave-neal on the paper's block, side by side.

The block is K(120, 40) of the 784-120-40 network with fields from real MNIST images, for an
untrained network (the paper's initialisation) and a trained one (a short QP run). For each
number of sweeps both samplers anneal the same problems from random starts with the same
relative schedule; the script prints samples/s, the mean energy, the ratio of the two, and the
energy of a long neal run as the reference. CSV and PNG go to experiments/results/sampler/ (or --out).

    python experiments/bench_sampler.py [--images 200] [--reads 20] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import os
import time

import numpy as np

from layersweep import data as datasets
from layersweep.blocks import block_problem
from layersweep.estimator import LayerSweepClassifier
from layersweep.network import Network
from layersweep.samplers import BipartiteAnnealer, NealSampler

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "results", "sampler")


def networks(train, seed, epochs):
    """The untrained network and one trained for ``epochs`` epochs of the default QP run."""
    rng = np.random.default_rng(seed)
    untrained = Network.random([784, 120, 40], rng)
    model = LayerSweepClassifier(epochs=epochs, random_state=seed).fit(train.X, train.y)
    return {"untrained": untrained, "trained": model.network_}


def measure(sampler, problem, reads, seed, repeats):
    """Median seconds over ``repeats`` and the mean energy of the last run."""
    times = []
    for r in range(repeats):
        start = time.perf_counter()
        result = sampler.sample(problem, reads, seed=seed + r)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), float(result.energy.mean()), result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--reads", type=int, default=20)
    parser.add_argument("--sweeps", default="8,16,32,64,128")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=OUT, help="folder for the CSV and PNG")
    parser.add_argument("--quick", action="store_true", help="a small run for smoke tests")
    args = parser.parse_args(argv)
    trained_epochs, reference_sweeps = 3, 2000
    if args.quick:
        args.images, args.sweeps, args.repeats = 20, "8,32", 1
        trained_epochs, reference_sweeps = 1, 200
    os.makedirs(args.out, exist_ok=True)
    splits = datasets.split(datasets.load("mnist5k"), 1000, 100)
    images = splits["heldout"].X[:args.images]
    rows = []
    for label, net in networks(splits["train"], args.seed, trained_epochs).items():
        problem = block_problem(net, 1, images)
        reference = NealSampler(sweeps=reference_sweeps).sample(
            problem, 10, seed=args.seed).energy.min(axis=1)
        for sweeps in (int(s) for s in args.sweeps.split(",")):
            ours = measure(BipartiteAnnealer(sweeps=sweeps), problem, args.reads, args.seed,
                           args.repeats)
            neal = measure(NealSampler(sweeps=sweeps), problem, args.reads, args.seed,
                           args.repeats)
            n = args.images * args.reads
            row = {"network": label, "sweeps": sweeps, "samples": n,
                   "numpy_samples_per_s": n / ours[0], "neal_samples_per_s": n / neal[0],
                   "speedup": neal[0] / ours[0], "numpy_mean_energy": ours[1],
                   "neal_mean_energy": neal[1], "reference_energy": float(reference.mean()),
                   "energy_ratio": ours[1] / neal[1]}
            rows.append(row)
            print(f"{label:9s} sweeps {sweeps:4d}  numpy {row['numpy_samples_per_s']:9.0f}/s "
                  f"E={ours[1]:9.4f}  neal {row['neal_samples_per_s']:8.0f}/s E={neal[1]:9.4f}  "
                  f"speed x{row['speedup']:5.1f}  E(numpy)/E(neal) {row['energy_ratio']:.4f}  "
                  f"ref {row['reference_energy']:.4f}", flush=True)
    with open(os.path.join(args.out, "bench_sampler.csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, args.out)


def plot(rows, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for label, style in (("untrained", "--"), ("trained", "-")):
        sub = [r for r in rows if r["network"] == label]
        sweeps = [r["sweeps"] for r in sub]
        ref = sub[0]["reference_energy"]
        for key, name in (("numpy_mean_energy", "numpy"), ("neal_mean_energy", "neal")):
            axes[0].plot(sweeps, [r[key] / ref for r in sub], style, marker="o",
                         label=f"{name}, {label}")
        for key, name in (("numpy_samples_per_s", "numpy"), ("neal_samples_per_s", "neal")):
            axes[1].plot(sweeps, [r[key] for r in sub], style, marker="o", label=f"{name}, {label}")
    axes[0].set(xscale="log", xlabel="sweeps", ylabel="mean energy / reference energy",
                title="quality (1 = long neal run)")
    axes[1].set(xscale="log", yscale="log", xlabel="sweeps", ylabel="samples / s",
                title="throughput")
    for ax in axes:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "bench_sampler.png"), dpi=120)


if __name__ == "__main__":
    main()

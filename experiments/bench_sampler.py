"""Benchmark: the default block annealer against dwave-neal on the paper's block, side by side.

The block is K(120, 40) of the 784-120-40 network with fields from real MNIST images, for an
untrained network (the paper's initialisation) and a trained one (3 epochs of the default QP
run). Both samplers anneal the same problems (``--images`` held-out digits x ``--reads``
reads) from random starts with the same relative schedule, in this process; the script prints
samples/s and the mean energy per number of sweeps, and the energy of a long neal run as the
reference (lowest of ``--reference-reads`` reads at ``--reference-sweeps`` sweeps per image).

The annealer runs in its default mode (heat-bath on both sides, ``numpy``) and with
``exact_low=True`` (the low side set exactly in every sweep, ``numpy-exact-low``).

**Equal quality.** For each neal setting and each annealer mode, the fastest annealer
setting (number of sweeps) whose mean energy is equal or lower; the ratio of their samples/s
is the speed-up at equal quality (printed, and in ``equal_quality.csv``). The annealer runs
on every core (``threads``) and, for the per-core figure, on one thread; neal is
single-threaded (one BQM per image, as the field calls it).

    python experiments/bench_sampler.py [--images 1000] [--reads 20] [--quick]

CSV and PNG go to experiments/results/sampler/ (or --out).
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
from layersweep.samplers import BipartiteAnnealer, NealSampler, annealer

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "results", "sampler")


def networks(train, seed, epochs):
    """The untrained network and one trained for ``epochs`` epochs of the default QP run."""
    rng = np.random.default_rng(seed)
    untrained = Network.random([784, 120, 40], rng)
    model = LayerSweepClassifier(epochs=epochs, random_state=seed).fit(train.X, train.y)
    return {"untrained": untrained, "trained": model.network_}


def measure(sampler, problem, reads, seed, repeats):
    """Median seconds over ``repeats`` runs (seeds ``seed + r``) and the mean energy over all."""
    times, energies = [], []
    for r in range(repeats):
        start = time.perf_counter()
        result = sampler.sample(problem, reads, seed=seed + r)
        times.append(time.perf_counter() - start)
        energies.append(float(result.energy.mean()))
    return float(np.median(times)), float(np.mean(energies))


MODES = {"numpy": False, "numpy-exact-low": True}


def equal_quality(rows):
    """For each network, neal setting and annealer mode: the fastest annealer setting at equal
    or lower mean energy, and the ratio of samples/s (all threads and one thread)."""
    out = []
    modes = dict.fromkeys(r["sampler"] for r in rows if r["sampler"] != "neal")
    for label, mode in ((n, m) for n in dict.fromkeys(r["network"] for r in rows) for m in modes):
        ours = [r for r in rows if r["network"] == label and r["sampler"] == mode]
        for neal in (r for r in rows if r["network"] == label and r["sampler"] == "neal"):
            good = [r for r in ours if r["mean_energy"] <= neal["mean_energy"]]
            row = {"network": label, "mode": mode, "neal_sweeps": neal["sweeps"],
                   "neal_mean_energy": neal["mean_energy"],
                   "neal_samples_per_s": neal["samples_per_s"]}
            if good:
                best = max(good, key=lambda r: r["samples_per_s"])
                row.update(numpy_sweeps=best["sweeps"], numpy_mean_energy=best["mean_energy"],
                           numpy_samples_per_s=best["samples_per_s"],
                           ratio=best["samples_per_s"] / neal["samples_per_s"],
                           ratio_one_thread=best["samples_per_s_1thread"] / neal["samples_per_s"])
            else:
                row.update(numpy_sweeps=None, numpy_mean_energy=None, numpy_samples_per_s=None,
                           ratio=None, ratio_one_thread=None)
            out.append(row)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--reads", type=int, default=20)
    parser.add_argument("--sweeps", default="1,2,3,4,6,8,12,16,24,32,48,64,96,128,192,256",
                        help="the annealer's settings")
    parser.add_argument("--modes", default=",".join(MODES), help="annealer modes")
    parser.add_argument("--neal-sweeps", default="8,16,32,64,128")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--neal-repeats", type=int, default=3)
    parser.add_argument("--reference-sweeps", type=int, default=1000)
    parser.add_argument("--reference-reads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=OUT, help="folder for the CSVs and PNG")
    parser.add_argument("--quick", action="store_true", help="a small run for smoke tests")
    args = parser.parse_args(argv)
    trained_epochs = 3
    if args.quick:
        args.images, args.sweeps, args.neal_sweeps = 20, "4,8,32", "8,32"
        args.modes = "numpy"
        args.repeats = args.neal_repeats = 1
        trained_epochs, args.reference_sweeps, args.reference_reads = 1, 200, 2
    os.makedirs(args.out, exist_ok=True)
    splits = datasets.split(datasets.load("mnist5k"), 1000, 100)
    images = splits["heldout"].X[:args.images]
    threads = annealer.THREADS
    n = args.images * args.reads
    rows = []
    BipartiteAnnealer(sweeps=1).sample(block_problem(Network.random(  # compile outside timing
        [784, 120, 40], np.random.default_rng(0)), 1, images[:2]), 2, seed=0)
    for label, net in networks(splits["train"], args.seed, trained_epochs).items():
        problem = block_problem(net, 1, images)
        reference = float(NealSampler(sweeps=args.reference_sweeps).sample(
            problem, args.reference_reads, seed=args.seed).energy.min(axis=1).mean())
        print(f"{label}: reference energy {reference:.4f} (neal, {args.reference_sweeps} "
              f"sweeps, lowest of {args.reference_reads} reads)", flush=True)
        for mode in args.modes.split(","):
            for sweeps in (int(s) for s in args.sweeps.split(",")):
                sampler = BipartiteAnnealer(sweeps=sweeps, exact_low=MODES[mode])
                seconds, energy = measure(sampler, problem, args.reads, args.seed, args.repeats)
                annealer.THREADS = 1
                one, _ = measure(sampler, problem, args.reads, args.seed, args.repeats)
                annealer.THREADS = threads
                rows.append({"network": label, "sampler": mode, "sweeps": sweeps, "samples": n,
                             "samples_per_s": n / seconds, "samples_per_s_1thread": n / one,
                             "mean_energy": energy, "reference_energy": reference})
                print(f"{label:9s} {mode:15s} sweeps {sweeps:4d}: {n / seconds:9.0f} samples/s "
                      f"({threads} threads; {n / one:8.0f} on 1)  E = {energy:9.4f}", flush=True)
        for sweeps in (int(s) for s in args.neal_sweeps.split(",")):
            seconds, energy = measure(NealSampler(sweeps=sweeps), problem, args.reads,
                                      args.seed, args.neal_repeats)
            rows.append({"network": label, "sampler": "neal", "sweeps": sweeps, "samples": n,
                         "samples_per_s": n / seconds, "samples_per_s_1thread": n / seconds,
                         "mean_energy": energy, "reference_energy": reference})
            same = next((r for r in rows if r["network"] == label and r["sampler"] == "numpy"
                         and r["sweeps"] == sweeps), None)
            extra = "" if same is None else (
                f"  | numpy at {sweeps} sweeps: speed x{same['samples_per_s'] * seconds / n:5.1f}, "
                f"E(numpy)/E(neal) {same['mean_energy'] / energy:.4f}")
            print(f"{label:9s} {'neal':15s} sweeps {sweeps:4d}: {n / seconds:9.0f} samples/s "
                  f"{'':25s}E = {energy:9.4f}{extra}", flush=True)
    quality = equal_quality(rows)
    print("\nat equal or lower mean energy (fastest annealer setting for each neal setting):")
    for q in quality:
        if q["ratio"] is None:
            print(f"{q['network']:9s} {q['mode']:15s} neal@{q['neal_sweeps']:<4d} "
                  f"E = {q['neal_mean_energy']:.4f}: no annealer setting reaches it")
            continue
        print(f"{q['network']:9s} {q['mode']:15s} neal@{q['neal_sweeps']:<4d} "
              f"E = {q['neal_mean_energy']:9.4f} {q['neal_samples_per_s']:7.0f}/s  vs "
              f"@{q['numpy_sweeps']:<4d} E = {q['numpy_mean_energy']:9.4f} "
              f"{q['numpy_samples_per_s']:9.0f}/s: x{q['ratio']:6.1f} ({threads} threads), "
              f"x{q['ratio_one_thread']:6.1f} (1 thread)")
    for mode in dict.fromkeys(q["mode"] for q in quality):
        ratios = [q["ratio"] for q in quality if q["mode"] == mode]
        worst = min((r for r in ratios if r is not None), default=float("nan"))
        missing = sum(r is None for r in ratios)
        print(f"smallest equal-quality ratio, {mode}: x{worst:.1f}"
              + (f" ({missing} neal settings not reached)" if missing else ""))
    for name, table in (("bench_sampler.csv", rows), ("equal_quality.csv", quality)):
        with open(os.path.join(args.out, name), "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(table[0]))
            writer.writeheader()
            writer.writerows(table)
    plot(rows, args.out)


def plot(rows, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for label, style in (("untrained", "--"), ("trained", "-")):
        for name in dict.fromkeys(r["sampler"] for r in rows):
            sub = [r for r in rows if r["network"] == label and r["sampler"] == name]
            if not sub:
                continue
            ref = sub[0]["reference_energy"]
            axes[0].plot([r["sweeps"] for r in sub], [r["mean_energy"] / ref for r in sub], style,
                         marker="o", label=f"{name}, {label}")
            axes[1].plot([r["samples_per_s"] for r in sub], [r["mean_energy"] / ref for r in sub],
                         style, marker="o", label=f"{name}, {label}")
    axes[0].set(xscale="log", xlabel="sweeps", ylabel="mean energy / reference energy",
                title="quality (1 = long neal run)")
    axes[1].set(xscale="log", xlabel="samples / s", ylabel="mean energy / reference energy",
                title="quality against throughput (up and right is better)")
    for ax in axes:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "bench_sampler.png"), dpi=120)


if __name__ == "__main__":
    main()

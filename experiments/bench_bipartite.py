"""Benchmark: BipartiteSampler against neal on random K(n, n) BQMs, side by side.

Each instance is a SPIN BQM on the complete bipartite graph K(n, n) with couplings and fields
drawn uniformly from {-1, +1} (so neal's default beta range is meaningful: the smallest gap is
1). Both samplers get the same BQM, the same ``num_reads`` and ``num_sweeps`` and the same
``beta_range`` (neal's default for the instance, computed once and passed to both, geometric
schedule), in this process, one after the other. neal (dwave-samplers'
SimulatedAnnealingSampler) is single-threaded; BipartiteSampler uses every core for large
calls, and the column "1 thread" is its per-core figure. Wall time is the whole ``sample``
call (conversion, colouring, annealing, SampleSet).

    python experiments/bench_bipartite.py [--sizes 50,100,200,500,1000] [--reads 10]
        [--sweeps 1000] [--instances 3] [--quick]

CSV and PNG go to experiments/results/bipartite/ (or --out).
"""

from __future__ import annotations

import argparse
import csv
import os
import time

import dimod
import numpy as np

from layersweep.samplers import annealer
from layersweep.samplers.bipartite import BipartiteSampler, default_beta_range

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "results", "bipartite")
TARGET = 20.0


def instance(n: int, seed: int) -> dimod.BinaryQuadraticModel:
    """K(n, n) with ±1 couplings and ±1 fields; variables 0..n-1 and n..2n-1."""
    rng = np.random.default_rng(seed)
    quadratic = np.zeros((2 * n, 2 * n))
    quadratic[:n, n:] = rng.choice([-1.0, 1.0], size=(n, n))
    return dimod.BinaryQuadraticModel(rng.choice([-1.0, 1.0], size=2 * n), quadratic, 0.0,
                                      dimod.SPIN)


def timed(sampler, bqm, **kwargs):
    """Seconds and mean energy of one ``sample`` call."""
    start = time.perf_counter()
    result = sampler.sample(bqm, **kwargs)
    return time.perf_counter() - start, float(result.record.energy.mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,100,200,500,1000", help="n of K(n, n)")
    parser.add_argument("--reads", type=int, default=10)
    parser.add_argument("--sweeps", type=int, default=1000)
    parser.add_argument("--instances", type=int, default=3, help="random BQMs per size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=OUT, help="folder for the CSV and PNG")
    parser.add_argument("--quick", action="store_true", help="a few seconds, for smoke tests")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.reads, args.sweeps, args.instances = "20,40", 4, 100, 1
    sizes = [int(s) for s in args.sizes.split(",")]
    os.makedirs(args.out, exist_ok=True)

    from dwave.samplers import SimulatedAnnealingSampler

    ours, neal = BipartiteSampler(), SimulatedAnnealingSampler()
    warm = instance(8, 0)  # compile (or load the cached kernel) before timing
    ours.sample(warm, num_reads=2, num_sweeps=2, seed=0)
    neal.sample(warm, num_reads=2, num_sweeps=2, seed=0)
    threads = annealer.THREADS

    rows = []
    for n in sizes:
        t_ours, t_one, t_neal, e_ours, e_neal = [], [], [], [], []
        for i in range(args.instances):
            bqm = instance(n, args.seed + 1000 * n + i)
            common = dict(num_reads=args.reads, num_sweeps=args.sweeps,
                          beta_range=default_beta_range(bqm), beta_schedule_type="geometric",
                          seed=args.seed + i)
            seconds, energy = timed(ours, bqm, **common)
            t_ours.append(seconds)
            e_ours.append(energy)
            annealer.THREADS = 1
            try:
                t_one.append(timed(ours, bqm, **common)[0])
            finally:
                annealer.THREADS = threads
            seconds, energy = timed(neal, bqm, **common)
            t_neal.append(seconds)
            e_neal.append(energy)
        diff = np.array(e_ours) - np.array(e_neal)
        row = {"n": n, "variables": 2 * n, "interactions": n * n, "reads": args.reads,
               "sweeps": args.sweeps, "instances": args.instances,
               "energy_ours": float(np.mean(e_ours)), "energy_neal": float(np.mean(e_neal)),
               "energy_diff": float(diff.mean()),
               "energy_diff_se": float(diff.std(ddof=1) / np.sqrt(len(diff)))
               if len(diff) > 1 else float("nan"),
               "seconds_ours": float(np.mean(t_ours)), "seconds_ours_1thread": float(np.mean(t_one)),
               "seconds_neal": float(np.mean(t_neal))}
        row["speed_ratio"] = row["seconds_neal"] / row["seconds_ours"]
        row["speed_ratio_1thread"] = row["seconds_neal"] / row["seconds_ours_1thread"]
        rows.append(row)
        print(f"K({n},{n}): ours {row['seconds_ours']:.3f} s (1 thread "
              f"{row['seconds_ours_1thread']:.3f} s), neal {row['seconds_neal']:.3f} s, "
              f"speed x{row['speed_ratio']:.1f}; energy ours {row['energy_ours']:.1f}, "
              f"neal {row['energy_neal']:.1f}", flush=True)

    with open(os.path.join(args.out, "bench.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, os.path.join(args.out, "bench.png"), args)

    print(f"\n{args.instances} instance(s) x {args.reads} reads x {args.sweeps} sweeps per size, "
          f"threads {threads}")
    print(f"{'n':>5} {'E ours':>11} {'E neal':>11} {'ours-neal':>14} {'s ours':>8} "
          f"{'s 1 thr':>8} {'s neal':>8} {'speed x':>8} {'x 1 thr':>8}")
    for r in rows:
        print(f"{r['n']:5d} {r['energy_ours']:11.1f} {r['energy_neal']:11.1f} "
              f"{r['energy_diff']:7.1f} ±{r['energy_diff_se']:5.1f} {r['seconds_ours']:8.3f} "
              f"{r['seconds_ours_1thread']:8.3f} {r['seconds_neal']:8.3f} "
              f"{r['speed_ratio']:8.1f} {r['speed_ratio_1thread']:8.1f}")
    fast = all(r["speed_ratio"] >= TARGET for r in rows)
    low = all(r["energy_diff"] <= 0 for r in rows)
    print(f"goal (>= {TARGET:.0f}x faster at every n with equal or lower mean energy): "
          f"speed {'met' if fast else 'NOT met'}, energy {'met' if low else 'NOT met'}")


def plot(rows, path, args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [r["n"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(n, [r["speed_ratio"] for r in rows], "o-", label="all cores")
    left.plot(n, [r["speed_ratio_1thread"] for r in rows], "s--", label="1 thread")
    left.axhline(TARGET, color="grey", lw=0.8, ls=":", label=f"goal {TARGET:.0f}x")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("n (K(n, n))")
    left.set_ylabel("neal seconds / BipartiteSampler seconds")
    left.set_title(f"speed, {args.reads} reads x {args.sweeps} sweeps")
    left.legend()
    rel = [r["energy_diff"] / abs(r["energy_neal"]) for r in rows]
    err = [r["energy_diff_se"] / abs(r["energy_neal"]) for r in rows]
    right.errorbar(n, rel, yerr=err, fmt="o-", capsize=3)
    right.axhline(0, color="grey", lw=0.8)
    right.set_xscale("log")
    right.set_xlabel("n (K(n, n))")
    right.set_ylabel("(E ours - E neal) / |E neal|  (mean energy)")
    right.set_title("energy: below 0 = ours lower")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()

"""The default annealer's two ways to anneal a block, per block size, and neal on a wide one.

For each block K(a, b) and start (reference states given, or random), 10 problems x 20 reads
x 32 sweeps (the shape of a training call), on one thread (numba and BLAS): the compiled
kernel (incremental field updates, ``backend="numba"``) and whole-side matrix products with
compiled decisions (``backend="dense"``), the one ``"auto"`` picks, ns per spin decision,
and a roofline figure: a dense half-sweep does ``a * b`` multiply-adds for ``a`` or ``b``
decisions, i.e. ``2ab / (a + b)`` per decision; the attained multiply-add rate over the rate
of a large single-precision BLAS product in the same process (the core's attainable peak).
Then K(1024, 1024) with random starts against neal (dwave-samplers' simulated annealer, one
BQM per problem, the same sweeps and the same beta range in units of each problem's field
scale), both on one thread, side by side: the speed ratio and the mean energies.

Problems: couplings N(0, 1/a), fields N(0, 1), seed 0. Writes
experiments/results/kernels/bench_kernels.csv and prints the tables.

    python experiments/bench_kernels.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tables import write_csv  # noqa: E402
SHAPES = [(120, 40), (256, 128), (512, 512), (1024, 1024)]
P, READS, SWEEPS = 10, 20, 32


def problem(a: int, b: int, rng):
    from layersweep.blocks import BlockProblem

    return BlockProblem(rng.normal(size=(b, a)) / np.sqrt(a), rng.normal(size=(P, a)),
                        rng.normal(size=(P, b)))


def timed(sampler, prob, start, minimum: float = 1.0) -> tuple:
    """Median seconds per call over at least 3 calls (and ``minimum`` seconds), and the last
    call's mean energy."""
    sampler.sample(prob, READS, initial=start, seed=1)
    times = []
    while len(times) < 3 or sum(times) < minimum:
        t = time.perf_counter()
        out = sampler.sample(prob, READS, initial=start, seed=1)
        times.append(time.perf_counter() - t)
    return float(np.median(times)), float(out.energy.mean())


def peak_rate() -> float:
    """Multiply-adds per second of a 1024 x 1024 x 1024 float32 BLAS product."""
    rng = np.random.default_rng(0)
    x, y = (rng.normal(size=(1024, 1024)).astype(np.float32) for _ in range(2))
    x @ y
    t = time.perf_counter()
    for _ in range(5):
        x @ y
    return 5 * 1024 ** 3 / (time.perf_counter() - t)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="K(120, 40) and K(256, 128) only, neal on K(256, 128)")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "kernels"))
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    from layersweep.samplers import _kernels
    from layersweep.samplers.annealer import BipartiteAnnealer, _backend
    from layersweep.samplers.dimod_sampler import NealSampler

    shapes = SHAPES[:2] if args.quick else SHAPES
    wide = shapes[-1]
    os.makedirs(args.out, exist_ok=True)
    rows = []
    _kernels.numba.set_num_threads(1)
    with threadpool_limits(1):
        peak = peak_rate()
        print(f"attainable peak (float32 BLAS product, one core): {peak / 1e9:.1f} G "
              f"multiply-adds/s\n")
        print(f"{'block':<13} {'starts':<9} {'kernel ms':>9} {'dense ms':>9} {'auto':>6} "
              f"{'ns/decision':>11} {'MAC/decision':>12} {'of peak':>8}")
        for a, b in shapes:
            rng = np.random.default_rng(0)
            prob = problem(a, b, rng)
            for starts in ("reference", "random"):
                start = None
                if starts == "reference":
                    start = tuple(np.sign(rng.normal(size=(P, READS, n))).astype(np.float32)
                                  for n in (a, b))
                kernel, _ = timed(BipartiteAnnealer(sweeps=SWEEPS, backend="numba"), prob,
                                  start)
                dense, _ = timed(BipartiteAnnealer(sweeps=SWEEPS, backend="dense"), prob,
                                 start)
                auto = _backend("auto", (a, b), start is not None)
                best = kernel if auto == "numba" else dense
                decisions = P * READS * SWEEPS * (a + b)
                macs = 2 * a * b / (a + b)
                row = {"block": f"K({a},{b})", "starts": starts, "kernel_ms": kernel * 1e3,
                       "dense_ms": dense * 1e3, "auto": auto,
                       "ns_per_decision": best / decisions * 1e9,
                       "dense_macs_per_decision": macs,
                       "dense_fraction_of_peak": decisions * macs / dense / peak}
                rows.append(row)
                print(f"{row['block']:<13} {starts:<9} {kernel * 1e3:>9.2f} {dense * 1e3:>9.2f} "
                      f"{auto:>6} {row['ns_per_decision']:>11.2f} {macs:>12.0f} "
                      f"{row['dense_fraction_of_peak']:>8.0%}")
        a, b = wide
        prob = problem(a, b, np.random.default_rng(0))
        ours, e_ours = timed(BipartiteAnnealer(sweeps=SWEEPS), prob, None)
        neal, e_neal = timed(NealSampler(sweeps=SWEEPS), prob, None, minimum=0.0)
    _kernels.numba.set_num_threads(_kernels.numba.config.NUMBA_NUM_THREADS)
    threads, _ = timed(BipartiteAnnealer(sweeps=SWEEPS), prob, None)
    print(f"\nK({a},{b}), {P} problems x {READS} reads x {SWEEPS} sweeps, random starts: "
          f"layersweep {ours:.3f} s on one thread, {threads:.3f} s on "
          f"{_kernels.numba.config.NUMBA_NUM_THREADS} (its default); neal {neal:.2f} s (one "
          f"thread); speed x {neal / ours:.1f} (one thread), x {neal / threads:.1f} (default); "
          f"mean energy {e_ours:.2f} (layersweep) vs {e_neal:.2f} (neal)")
    rows.append({"block": f"K({a},{b})", "starts": "random", "kernel_ms": np.nan,
                 "dense_ms": np.nan, "auto": "neal", "ns_per_decision": neal / (
                     P * READS * SWEEPS * (a + b)) * 1e9, "dense_macs_per_decision": np.nan,
                 "dense_fraction_of_peak": np.nan, "neal_s": neal, "ours_s": ours,
                 "ours_default_threads_s": threads,
                 "energy_ours": e_ours, "energy_neal": e_neal})
    write_csv(rows, os.path.join(args.out, "bench_kernels.csv"), fields=list(rows[-1]))


if __name__ == "__main__":
    main()

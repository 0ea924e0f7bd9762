"""Benchmark: writing (and reading) the run file of the paper's 784-120-40 run.

A trainer in the middle of an epoch of the default run (1000 training images, so a shuffle
order of 1000 entries, and 13 epochs of history) is saved ``--writes`` times with
:func:`layersweep.checkpoint.save` (atomic: temporary file, fsync, rename), once with
``keep=1`` and once with ``keep=3`` (rotation by hard links). The table gives the median, 90th
percentile and extremes in milliseconds, the file size and the median time of a full load.
The goal is a median write of at most 50 ms. CSV goes to experiments/results/checkpoint/.

    python experiments/bench_checkpoint.py [--writes 30] [--dir FOLDER] [--quick]

``--dir`` is where the files are written (default: a temporary folder inside ``--out``, that
is on the disk of the checkout; fsync costs depend on the disk).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import tempfile
import time

import numpy as np

from layersweep import checkpoint
from layersweep.network import Network
from layersweep.rules import LearningRates
from layersweep.samplers import make_sampler
from layersweep.sweep import SweepConfig
from layersweep.train import Trainer

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "results", "checkpoint")


def paper_trainer(seed: int = 0) -> Trainer:
    """A 784-120-40 trainer halfway through epoch 14 of the default run (13 history rows)."""
    rng = np.random.default_rng(seed)
    net = Network.random([784, 120, 40], rng, classes=10, redundancy=4)
    trainer = Trainer(net, make_sampler("numpy"), SweepConfig(reads=20),
                      LearningRates([0.01, 0.003], [0.01, 0.003]), rng,
                      batch_size=10)
    trainer.epoch, trainer.steps = 13, 1350
    trainer.order, trainer.position = rng.permutation(1000), 500
    trainer.running = {"gap_1-2": 123.4, "free_correct": 20.5, "updates": 50, "seconds": 31.2}
    trainer.history = [{"epoch": e, "seconds": 60.0, "train_error": 0.9 / e,
                        "test_error": 0.95 / e, "gap_1-2": 5.0, "free_correct": 0.5}
                       for e in range(1, 14)]
    return trainer


CONFIG = {"layers": [784, 120, 40], "redundancy": 4, "data": "mnist5k", "train_size": 1000,
          "test_size": 100, "rule": "qp", "reads": None, "start": "reference", "cycles": 1,
          "sampler": "numpy", "sweeps": 32, "reverse_beta": 4.0, "epochs": 13,
          "batch_size": 10, "lr_W": [0.01, 0.003], "lr_b": [0.01, 0.003], "seed": 0}


def measure(folder: str, trainer: Trainer, writes: int, keep: int) -> dict:
    path = os.path.join(folder, f"run-keep{keep}.h5")
    checkpoint.save(path, trainer, CONFIG, keep=keep)  # warm-up (imports, first file)
    times = []
    for _ in range(writes):
        start = time.perf_counter()
        checkpoint.save(path, trainer, CONFIG, keep=keep)
        times.append(time.perf_counter() - start)
    loads = []
    for _ in range(max(5, writes // 4)):
        start = time.perf_counter()
        checkpoint.load(path)
        loads.append(time.perf_counter() - start)
    ms = np.array(times) * 1e3
    return {"network": "784-120-40", "keep": keep, "writes": writes,
            "median_ms": float(np.median(ms)), "p90_ms": float(np.percentile(ms, 90)),
            "min_ms": float(ms.min()), "max_ms": float(ms.max()),
            "bytes": os.path.getsize(path), "load_median_ms": float(np.median(loads) * 1e3),
            "goal_ms": 50.0, "machine": f"{platform.machine()} {platform.system()}"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=30, help="timed writes (default 30)")
    parser.add_argument("--dir", default=None, help="folder to write the run files in")
    parser.add_argument("--out", default=OUT, help="folder of the CSV (default %(default)s)")
    parser.add_argument("--quick", action="store_true", help="a small run for smoke tests")
    args = parser.parse_args(argv)
    if args.quick:
        args.writes = 5
    os.makedirs(args.out, exist_ok=True)
    folder = args.dir or tempfile.mkdtemp(prefix="bench-", dir=args.out)
    trainer = paper_trainer()
    try:
        rows = [measure(folder, trainer, args.writes, keep) for keep in (1, 3)]
    finally:
        if args.dir is None:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"{'network':>10}  {'keep':>4}  {'writes':>6}  {'median ms':>9}  {'p90 ms':>6}  "
          f"{'min ms':>6}  {'max ms':>6}  {'size KB':>7}  {'load ms':>7}")
    for r in rows:
        print(f"{r['network']:>10}  {r['keep']:>4}  {r['writes']:>6}  {r['median_ms']:>9.1f}  "
              f"{r['p90_ms']:>6.1f}  {r['min_ms']:>6.1f}  {r['max_ms']:>6.1f}  "
              f"{r['bytes'] / 1024:>7.1f}  {r['load_median_ms']:>7.1f}")
    verdict = "meets" if rows[0]["median_ms"] <= 50 else "MISSES"
    print(f"\nmedian write {rows[0]['median_ms']:.1f} ms {verdict} the goal of 50 ms")
    path = os.path.join(args.out, "checkpoint_bench.csv")
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}
                          for r in rows])
    print(f"wrote {os.path.relpath(path)}")
    return rows


if __name__ == "__main__":
    main()

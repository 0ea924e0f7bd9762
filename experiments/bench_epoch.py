"""Benchmark: seconds per training epoch of the default run, per sampler, and peak memory.

The default run is 784-120-40, QP with m = 20 reference-state samples, 1000 MNIST digits. Each
sampler trains from the same initial network for ``--epochs`` epochs in this process; the
script reports the median seconds per epoch (training only, without evaluation; the first
epoch also pays the compiled kernel's one-off load, reported apart), the median time of
inference on the 3900 held-out digits over ``--repeats`` runs, the peak resident memory of
the process, and the machine's load average before and after (other processes slow it).

    python experiments/bench_epoch.py [--samplers numpy,neal] [--epochs 3] [--batch-size B]
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import time

import numpy as np

from layersweep import data as datasets
from layersweep.estimator import LayerSweepClassifier
from layersweep.train import predict

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "results", "epoch")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samplers", default="numpy,neal")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--train-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="inference runs (median)")
    parser.add_argument("--out", default=OUT, help="folder for the CSV")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    splits = datasets.split(datasets.load("mnist5k"), args.train_size, 100)
    train, heldout = splits["train"], splits["heldout"]
    rows = []
    load_before = os.getloadavg()[0]
    for name in args.samplers.split(","):
        params = {"sampler": name, "epochs": args.epochs, "random_state": args.seed}
        if args.batch_size:
            params["batch_size"] = args.batch_size
        model = LayerSweepClassifier(**params).fit(train.X, train.y)
        seconds = [row["seconds"] for row in model.history_]
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            predicted = predict(model.network_, heldout.X)
            times.append(time.perf_counter() - start)
        inference = float(np.median(times))
        row = {"sampler": name, "batch_size": model.batch_size, "epochs": args.epochs,
               "median_epoch_seconds": float(np.median(seconds)),
               "first_epoch_seconds": seconds[0],
               "images_per_second": len(train) / float(np.median(seconds)),
               "inference_seconds": inference, "heldout_accuracy": float((predicted == heldout.y).mean()),
               "peak_rss_mb": peak_rss_mb(), "load_before": load_before,
               "load_after": os.getloadavg()[0]}
        rows.append(row)
        print(f"{name:6s} batch {row['batch_size']:3d}: {row['median_epoch_seconds']:7.2f} s/epoch "
              f"(first {seconds[0]:.2f}) "
              f"({row['images_per_second']:7.0f} images/s), inference on {len(heldout)} images "
              f"{inference:.2f} s, heldout accuracy {row['heldout_accuracy']:.3f} after "
              f"{args.epochs} epochs, peak RSS so far {row['peak_rss_mb']:.0f} MB; load average "
              f"{row['load_before']:.2f} -> {row['load_after']:.2f}", flush=True)
    if len(rows) > 1:
        base = rows[0]["median_epoch_seconds"]
        for row in rows[1:]:
            print(f"{row['sampler']} / {rows[0]['sampler']} seconds per epoch: "
                  f"{row['median_epoch_seconds'] / base:.1f}x")
    with open(os.path.join(args.out, "bench_epoch.csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()

"""Benchmark: seconds per training epoch against the number of Dask workers.

The run is 784-120-40, QP with m = 20 reference-state samples, on the 1000 bundled training
digits, with minibatches of B images cut into shards of S (independent tasks), for each
``--layouts`` B/S (learning rates: the defaults x B/10, as rates are per update). Each sampler trains from the same initial network in this process
(``local``: the same shards, one after the other) and on a dask.distributed LocalCluster of
1, 2 and 4 worker processes; every setting gives the same parameters bit for bit (checked).
Reported per setting: median seconds per epoch over ``--epochs`` epochs after one warm-up
epoch (workers load the compiled annealer), the speed-up and parallel efficiency against
``local`` (speed-up / workers), and where an update's time goes: sending the parameters to
the workers (``put``), the tasks' own compute, and the rest of a ``map`` (submitting,
scheduling, gathering the gradients).

    python experiments/bench_scaleout.py [--samplers numpy,neal] [--layouts 100/25,1000/250]
                                         [--workers 1,2,4] [--quick]
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
from layersweep.scheduler import LocalScheduler, make_scheduler

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "results", "scaleout")


def timed(fn, *args):
    """A task that also returns its own compute time."""
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


class Timed(LocalScheduler):
    """A scheduler that records how long ``put`` and ``map`` take and the tasks' compute."""

    def __init__(self, inner):
        self.inner = inner
        self.distributed = inner.distributed
        self.spec = inner.spec
        self.clock = {"put": 0.0, "map": 0.0, "compute": 0.0, "updates": 0}

    def put(self, obj):
        start = time.perf_counter()
        handle = self.inner.put(obj)
        self.clock["put"] += time.perf_counter() - start
        return handle

    def map(self, fn, items, *shared, on_result=None):
        start = time.perf_counter()
        results = self.inner.map(timed, [(fn, *item) for item in items], *shared)
        self.clock["map"] += time.perf_counter() - start
        self.clock["compute"] += sum(seconds for _, seconds in results)
        self.clock["updates"] += 1
        return [result for result, _ in results]

    def reset(self):
        self.clock = dict.fromkeys(self.clock, 0)


def run(sampler, layout, scheduler, train, args):
    """Warm-up epoch, then ``args.epochs`` timed epochs: (model, seconds per epoch, clock)."""
    timer = Timed(scheduler)
    batch, shard = layout
    lr = [rate * batch / 10 for rate in Recipe().lr_W]
    model = LayerSweepClassifier(sampler=sampler, batch_size=batch, shard_size=shard, epochs=1,
                                 random_state=args.seed, scheduler=timer,
                                 recipe=dict(lr_W=lr, lr_b=lr))
    model.fit(train.X, train.y)
    timer.reset()
    model.train_to(train.X, train.y, 1 + args.epochs)
    seconds = [row["seconds"] for row in model.history_[1:]]
    return model, seconds, dict(timer.clock)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samplers", default="numpy,neal")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per setting")
    parser.add_argument("--layouts", default="100/25,1000/250",
                        help="minibatch / shard sizes, comma-separated")
    parser.add_argument("--train-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="200 digits, 1 epoch, 1-2 workers")
    parser.add_argument("--out", default=OUT, help="folder for the CSV and plot")
    args = parser.parse_args(argv)
    if args.quick:
        args.train_size, args.epochs, args.workers, args.samplers = 200, 1, "1,2", "numpy"
        args.layouts = "100/25"
    layouts = [tuple(int(v) for v in text.split("/")) for text in args.layouts.split(",")]
    os.makedirs(args.out, exist_ok=True)
    train = datasets.split(datasets.load("mnist5k"), args.train_size, 0)["train"]
    counts = [int(n) for n in args.workers.split(",")]
    rows = []
    load_before = os.getloadavg()[0]
    settings = [(sampler, layout) for sampler in args.samplers.split(",") for layout in layouts]
    reference, base = {}, {}
    for sampler, layout in settings:  # this process first, with no cluster running
        reference[sampler, layout], seconds, clock = run(sampler, layout, LocalScheduler(),
                                                         train, args)
        base[sampler, layout] = float(np.median(seconds))
        rows.append(row_of(sampler, layout, "local", 1, seconds, clock, base[sampler, layout],
                           True))
    for n in counts:  # one cluster at a time
        with make_scheduler(f"processes:{n}") as scheduler:
            for sampler, layout in settings:
                model, seconds, clock = run(sampler, layout, scheduler, train, args)
                ref = reference[sampler, layout].network_
                same = all(np.array_equal(u, v) for u, v in
                           zip(ref.W[1:] + ref.b[1:], model.network_.W[1:] + model.network_.b[1:]))
                rows.append(row_of(sampler, layout, f"processes:{n}", n, seconds, clock,
                                   base[sampler, layout], same))
    order = {key: k for k, key in enumerate(settings)}
    rows.sort(key=lambda r: (order[r["sampler"], (r["batch_size"], r["shard_size"])],
                             r["workers"] if r["scheduler"] != "local" else 0))
    load_after = os.getloadavg()[0]
    for row in rows:
        row.update(load_before=load_before, load_after=load_after, cores=os.cpu_count(),
                   images=args.train_size)
    report(rows, args)
    with open(os.path.join(args.out, "bench_scaleout.csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, os.path.join(args.out, "bench_scaleout.png"), args)


def row_of(sampler, layout, scheduler, workers, seconds, clock, base, same) -> dict:
    epoch = float(np.median(seconds))
    updates = max(clock["updates"], 1)
    return {"sampler": sampler, "batch_size": layout[0], "shard_size": layout[1],
            "scheduler": scheduler, "workers": workers,
            "epoch_seconds": epoch, "speedup": base / epoch,
            "efficiency": base / epoch / workers,
            "put_ms_per_update": 1000 * clock["put"] / updates,
            "compute_ms_per_update": 1000 * clock["compute"] / updates,
            "map_overhead_ms_per_update": 1000 * (clock["map"] - clock["compute"] / workers)
            / updates,
            "identical_to_local": bool(same)}


def report(rows, args):
    print(f"784-120-40 QP m=20, {args.train_size} digits, {os.cpu_count()} cores; median of "
          f"{args.epochs} epochs; times per update")
    print(f"{'sampler':7s} {'batch/shard':>11s} {'scheduler':12s} {'s/epoch':>8s} "
          f"{'speed-up':>8s} {'efficiency':>10s} {'put ms':>7s} {'compute ms':>10s} "
          f"{'other ms':>9s} same")
    for r in rows:
        layout = f"{r['batch_size']}/{r['shard_size']}"
        print(f"{r['sampler']:7s} {layout:>11s} {r['scheduler']:12s} {r['epoch_seconds']:8.3f} "
              f"{r['speedup']:8.2f} {r['efficiency']:10.2f} {r['put_ms_per_update']:7.1f} "
              f"{r['compute_ms_per_update']:10.1f} {r['map_overhead_ms_per_update']:9.1f} "
              f"{'yes' if r['identical_to_local'] else 'NO'}", flush=True)


def plot(rows, path, args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for key in dict.fromkeys((r["sampler"], r["batch_size"], r["shard_size"]) for r in rows):
        mine = [r for r in rows if (r["sampler"], r["batch_size"], r["shard_size"]) == key]
        local = next(r for r in mine if r["scheduler"] == "local")
        mine = [r for r in mine if r["scheduler"] != "local"]
        name = f"{key[0]} {key[1]}/{key[2]}"
        line, = left.plot([r["workers"] for r in mine], [r["epoch_seconds"] for r in mine],
                          "o-", label=f"{name}: Dask workers")
        left.axhline(local["epoch_seconds"], ls="--", color=line.get_color(),
                     label=f"{name}: this process")
        right.plot([r["workers"] for r in mine], [r["efficiency"] for r in mine], "o-",
                   color=line.get_color(), label=name)
    left.set(xlabel="worker processes", ylabel="seconds per epoch", yscale="log",
             title="784-120-40 QP; batch/shard sizes")
    right.axvline(os.cpu_count(), color="grey", ls=":", label="cores")
    right.set(xlabel="worker processes", ylabel="parallel efficiency (speed-up / workers)",
              ylim=(0, 1.1))
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()

"""Peak memory of one training epoch as the training set grows from 1000 to 60 000 images.

Each size runs in a fresh process: the default run (784-120-40, QP, m = 20, minibatches of
10) trains one epoch, with the epoch's evaluation on the training set, on the bundled 1000
training digits repeated to the size (the size of full MNIST's training set, offline). The
child reports its resident memory once the data are loaded (before training), resets the
kernel's peak counter (``/proc/self/clear_refs``, Linux) and reports the peak resident memory
of the epoch (``VmHWM``); the epoch's own memory is the difference. Writes
experiments/results/memory/bench_memory.csv and prints the table.

    python experiments/bench_memory.py [--sizes 1000,10000,60000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tables import write_csv  # noqa: E402

CHILD = """
import json, sys, time
import numpy as np
from layersweep import data as datasets
from layersweep.estimator import LayerSweepClassifier

def status_mb(key):
    with open("/proc/self/status") as f:
        line = next(l for l in f if l.startswith(key + ":"))
    return int(line.split()[1]) / 1024

n = int(sys.argv[1])
train = datasets.split(datasets.load("mnist5k"), 1000, 100)["train"]
reps = -(-n // len(train))
X = np.ascontiguousarray(np.tile(train.X, (reps, 1))[:n])
y = np.tile(train.y, reps)[:n]
del train
loaded = status_mb("VmRSS")
with open("/proc/self/clear_refs", "w") as f:  # the peak from here on: the epoch's
    f.write("5")
start = time.perf_counter()
model = LayerSweepClassifier(epochs=1, random_state=0).fit(X, y)
print(json.dumps({"images": n, "data_mb": X.nbytes / 2 ** 20, "loaded_mb": loaded,
                  "peak_mb": status_mb("VmHWM"),
                  "seconds": time.perf_counter() - start,
                  "train_error": model.history_[-1]["train_error"]}))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,60000")
    parser.add_argument("--quick", action="store_true", help="sizes 1000 and 3000")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "memory"))
    args = parser.parse_args(argv)
    sizes = [1000, 3000] if args.quick else [int(s) for s in args.sizes.split(",")]
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for n in sizes:
        done = subprocess.run([sys.executable, "-c", CHILD, str(n)], check=True,
                              capture_output=True, text=True)
        row = json.loads(done.stdout.strip().splitlines()[-1])
        row["epoch_mb"] = row["peak_mb"] - row["loaded_mb"]
        rows.append(row)
    base = rows[0]
    print(f"{'images':>7} {'data MB':>8} {'loaded MB':>10} {'peak MB':>8} {'epoch MB':>9} "
          f"{'peak / peak(first)':>19} {'s':>6}")
    for row in rows:
        row["peak_ratio"] = row["peak_mb"] / base["peak_mb"]
        print(f"{row['images']:>7} {row['data_mb']:>8.0f} {row['loaded_mb']:>10.0f} "
              f"{row['peak_mb']:>8.0f} {row['epoch_mb']:>9.0f} {row['peak_ratio']:>19.2f} "
              f"{row['seconds']:>6.1f}")
    write_csv(rows, os.path.join(args.out, "bench_memory.csv"))


if __name__ == "__main__":
    main()

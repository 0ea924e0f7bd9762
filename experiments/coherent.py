"""Coherent training: QP with exact quantum anneals and amplitude-amplified free samples.

The paper's claim under test: amplitude amplification reaches the wrong-class component
|psi_wrong> of an anneal's final state with O(1/|A|) anneals instead of O(1/|A|^2) plain
reads, and "can potentially double the scaling exponent z" of error ~ cost^-z.

Net: 64-4-6 on three classes (3, 5, 8) of scikit-learn's 8x8 digits (pixels / 16), two output
units per class. Its one block K(4, 6) is 10 qubits, which the state-vector simulator anneals
exactly in milliseconds; the 64 pixels are classical fields and cost no qubit. Three classes
whose digits look alike (3, 5, 8) keep the error off zero for the whole run. Training set:
``--train-size`` images per class (50), held out: the rest of the three classes' digits.

Methods, every one QP with m = ``--reads`` (10) free samples per image, minibatches of 10,
the package's default rates, from the same initial network per seed:

- ``cpu``: the CPU annealer, reads started at the wrong classes' reference states (the
  package's default for one hidden layer);
- ``plain``: the state-vector sampler, forward anneals from |+>^n, m measured reads;
- ``split``: amplified free samples (recipe ``amplify='split'``): half of m by BBHT's
  randomised search, half plain, weighted by |A|^2 estimated from the search's own
  measurements;
- ``bound``: as ``split`` with the exact optimal iterations and the exact |A|^2 (an oracle
  that knows the amplitude: the best any protocol can do);
- ``literal``: all m amplified, plain average (the paper's words taken literally; biased).

Each state-vector method runs at every anneal time of ``--times`` (dimensionless, units of
hbar / field scale). Cost is counted in anneals: one per plain read, ``1 + 2k`` per attempt
with k Grover iterations; the CPU annealer's reads count one each. After every epoch the
mean |A_wrong|^2 of 60 training images is measured (exact, from the simulator) at the run's
anneal time (the CPU runs at the largest one).

z is fitted as in experiments/scaling.py: minus the least-squares slope of log(mean
training error over seeds) against log(epoch) or log(mean cumulative anneals), epochs
``--fit-from`` onwards, ending before any seed reaches zero error; the 95% interval
resamples seeds (2000 times). A seed whose network collapses (training error >= 0.5, one
class predicted for almost every image, at the last epoch) under any method is left out of
every fit and named in the output: a 4-unit hidden layer can lose classes from its initial
network whatever the sampler. Writes experiments/results/coherent/{curves,exponents}.csv
and coherent.png, and prints the tables.

    python experiments/coherent.py [--seeds 0,...,7] [--times 5,10,20] [--jobs 2] [--quick]

(``--resume`` reuses the runs already in curves.csv: the runs are deterministic, so it only
saves time.)
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from scaling import BOOTSTRAP, slopes  # noqa: E402
from tables import write_csv  # noqa: E402
CLASSES = (3, 5, 8)
DIAGNOSTIC_IMAGES = 60
#: a run whose last training error is at least this has collapsed to (about) one class
COLLAPSED = 0.5
METHODS = {
    "cpu": "QP, CPU annealer (reference starts)",
    "plain": "QP, plain quantum anneals",
    "split": "QP, amplified (BBHT, estimated |A|², split)",
    "bound": "QP, amplified (exact k and |A|², split)",
    "literal": "QP, amplified (BBHT, literal: all m amplified)",
}
COLOURS = {"cpu": "tab:red", "plain": "tab:blue", "split": "tab:green", "bound": "tab:purple",
           "literal": "tab:gray"}


def dataset(per_class: int):
    """``(X_train, y_train, X_held, y_held)``: the first ``per_class`` digits of each class in
    scikit-learn's order for training, the rest held out."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (digits.data / 16).astype(np.float32)
    train, held = [], []
    for c in CLASSES:
        rows = np.flatnonzero(digits.target == c)
        train += list(rows[:per_class])
        held += list(rows[per_class:])
    return X[train], digits.target[train], X[held], digits.target[held]


def run(task: dict) -> list:
    """One training run: its per-epoch rows."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from layersweep import LayerSweepClassifier
    from layersweep.blocks import block_problem
    from layersweep.samplers.statevector import StateVectorSampler
    from layersweep.sweep import wrong_outputs

    X, y, Xh, yh = dataset(task["per_class"])
    method, T, m = task["method"], task["time"], task["reads"]
    recipe = {"reads": m}
    if method == "cpu":
        sampler = "numpy"
    else:
        recipe["start"] = "random"
        if method != "plain":
            recipe["amplify"] = "literal" if method == "literal" else "split"
        sampler = StateVectorSampler(annealing_time=T,
                                     protocol="exact" if method == "bound" else "bbht")
    probe = StateVectorSampler(annealing_time=T)
    rows, total = [], 0

    def on_epoch(row, model):
        nonlocal total
        net = model.network_
        labels = np.searchsorted(model.classes_, y[:DIAGNOSTIC_IMAGES])
        problem = block_problem(net, 1, X[:DIAGNOSTIC_IMAGES])
        a = probe.sample_marked(problem, wrong_outputs(net, labels), 1, seed=0) \
            .info["probability"]
        spent = row.get("anneals", m * len(y))
        total += spent
        rows.append({"method": method, "time": T, "seed": task["seed"], "epoch": row["epoch"],
                     "train_error": row["train_error"], "held_error": row["held_error"],
                     "anneals": spent, "cumulative_anneals": total,
                     "marked_mean": float(a.mean()), "marked_median": float(np.median(a)),
                     "seconds": row["seconds"]})

    LayerSweepClassifier(hidden_layer_sizes=(4,), redundancy=2, recipe=recipe, sampler=sampler,
                         epochs=task["epochs"], batch_size=10, random_state=task["seed"]) \
        .fit(X, y, eval_sets={"held": (Xh, yh)}, on_epoch=on_epoch)
    return rows


def fit(x: np.ndarray, curves: np.ndarray, first: int, rng) -> dict:
    """z = -slope of log(mean error) against log(x) over epochs ``first``.. (before any
    seed's zero), with a 95% interval resampling seeds. ``x``: ``(epochs,)``; ``curves``:
    ``(seeds, epochs)``."""
    zeros = np.flatnonzero((curves == 0).any(axis=0))
    last = zeros[0] if len(zeros) else curves.shape[1]
    out = {"used": f"{first}-{last}", "z": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    if last - first + 1 < 4:
        out["used"] = "n/a"
        return out
    log_x = np.log(x[first - 1:last])
    part = curves[:, first - 1:last]
    out["z"] = -slopes(log_x, np.log(part.mean(axis=0)))
    picks = rng.integers(0, len(curves), size=(BOOTSTRAP, len(curves)))
    boot = -slopes(log_x, np.log(part[picks].mean(axis=1)))
    out["ci_low"], out["ci_high"] = np.percentile(boot, [2.5, 97.5])
    return out


def groups(rows: list) -> dict:
    """``{(method, time): {column: (seeds, epochs) array}}``."""
    out = {}
    for key in sorted({(r["method"], r["time"]) for r in rows}):
        runs = sorted({r["seed"] for r in rows if (r["method"], r["time"]) == key})
        table = {}
        for column in ("train_error", "held_error", "cumulative_anneals", "marked_mean",
                       "marked_median"):
            table[column] = np.array([[r[column] for r in sorted(
                (r for r in rows if (r["method"], r["time"], r["seed"]) == key + (s,)),
                key=lambda r: r["epoch"])] for s in runs])
        out[key] = table
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2,3,4,5,6,7")
    parser.add_argument("--times", default="5,10,20", help="anneal times of the quantum methods")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--reads", type=int, default=10, help="m, free samples per image")
    parser.add_argument("--train-size", type=int, default=50, help="training images per class")
    parser.add_argument("--fit-from", type=int, default=2, help="first epoch of the z fits")
    parser.add_argument("--literal-times", default="10",
                        help="anneal times of the literal method (it is measured, not scanned)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "coherent"))
    parser.add_argument("--resume", action="store_true",
                        help="reuse the runs of an earlier curves.csv in --out")
    parser.add_argument("--quick", action="store_true",
                        help="2 seeds, 20 images per class, 6 epochs, anneal time 10, one "
                             "process; written under --out/quick")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    times = [float(t) for t in args.times.split(",")]
    literal_times = [float(t) for t in args.literal_times.split(",")]
    methods = args.methods.split(",")
    if args.quick:
        seeds, times, literal_times = seeds[:2], [10.0], [10.0]
        args.epochs, args.train_size, args.jobs = 6, 20, 1
        args.out = os.path.join(args.out, "quick")
    os.makedirs(args.out, exist_ok=True)
    tasks = []
    for method in methods:
        for T in ([max(times)] if method == "cpu" else
                  literal_times if method == "literal" else times):
            for seed in seeds:
                tasks.append({"method": method, "time": T, "seed": seed, "epochs": args.epochs,
                              "reads": args.reads, "per_class": args.train_size})
    tasks.sort(key=lambda t: -t["time"])  # the longest first
    started = time.perf_counter()
    rows = []
    if args.resume and os.path.exists(os.path.join(args.out, "curves.csv")):
        rows = [r for r in read(os.path.join(args.out, "curves.csv"))
                if {"method": r["method"], "time": r["time"], "seed": r["seed"],
                    "epochs": args.epochs, "reads": args.reads,
                    "per_class": args.train_size} in tasks]
        done = {(r["method"], r["time"], r["seed"]) for r in rows}
        tasks = [t for t in tasks if (t["method"], t["time"], t["seed"]) not in done]
    from tqdm import tqdm

    with tqdm(total=len(tasks), desc="runs", unit="run") as bar:
        if args.jobs > 1:
            with ProcessPoolExecutor(args.jobs) as pool:
                for future in as_completed([pool.submit(run, t) for t in tasks]):
                    rows += future.result()
                    bar.update()
        else:
            for t in tasks:
                rows += run(t)
                bar.update()
    rows.sort(key=lambda r: (r["method"], r["time"], r["seed"], r["epoch"]))
    write_csv(rows, os.path.join(args.out, "curves.csv"))
    collapsed = sorted({r["seed"] for r in rows if r["epoch"] == args.epochs
                        and r["train_error"] >= COLLAPSED})
    table = groups([r for r in rows if r["seed"] not in collapsed])
    rng = np.random.default_rng(0)
    results = []
    for (method, T), g in table.items():
        epochs = np.arange(1, g["train_error"].shape[1] + 1)
        for axis, x in (("epochs", epochs.astype(float)),
                        ("anneals", g["cumulative_anneals"].mean(axis=0))):
            z = fit(x, g["train_error"], args.fit_from, rng)
            results.append({"method": method, "time": T, "axis": axis, **z,
                            "final_train_error": g["train_error"][:, -1].mean(),
                            "final_held_error": g["held_error"][:, -1].mean(),
                            "anneals_per_epoch_last": float(np.diff(
                                g["cumulative_anneals"], axis=1, prepend=0)[:, -1].mean()),
                            "marked_mean_last": g["marked_mean"][:, -1].mean(),
                            "marked_median_last": g["marked_median"][:, -1].mean(),
                            "seeds": len(g["train_error"])})
    write_csv(results, os.path.join(args.out, "exponents.csv"))
    report(results, [s for s in seeds if s not in collapsed], time.perf_counter() - started)
    if collapsed:
        print(f"left out of the fits: seed(s) {collapsed}, collapsed (training error >= "
              f"{COLLAPSED} at epoch {args.epochs}) under at least one method")
    plot(table, results, os.path.join(args.out, "coherent.png"))


def read(path: str) -> list:
    """Rows of an earlier curves.csv, with their numbers."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    ints = ("seed", "epoch", "anneals", "cumulative_anneals")
    return [{k: (v if k == "method" else int(v) if k in ints else float(v))
             for k, v in r.items()} for r in rows]


def report(results: list, seeds: list, elapsed: float) -> None:
    print(f"\nscaling exponent z (training error ~ x^-z), {len(seeds)} seeds, 95% bootstrap "
          f"interval over seeds; {elapsed / 60:.1f} min")
    print(f"{'method':<8} {'T':>5} {'x':<8} {'epochs':<6} {'z':>6} {'95% interval':>15} "
          f"{'train err':>9} {'held err':>8} {'anneals/ep':>10} {'|A|^2 mean':>10} "
          f"{'median':>8}")
    for r in results:
        z = "n/a" if np.isnan(r["z"]) else f"{r['z']:.2f}"
        ci = "" if np.isnan(r["ci_low"]) else f"[{r['ci_low']:.2f}, {r['ci_high']:.2f}]"
        print(f"{r['method']:<8} {r['time']:>5g} {r['axis']:<8} {r['used']:<6} {z:>6} {ci:>15} "
              f"{r['final_train_error']:>9.3f} {r['final_held_error']:>8.3f} "
              f"{r['anneals_per_epoch_last']:>10.0f} {r['marked_mean_last']:>10.4f} "
              f"{r['marked_median_last']:>8.4f}")


def plot(table: dict, results: list, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(17, 5))
    styles = {}
    for (method, T) in table:
        times = sorted({t for m, t in table if m == method})
        styles[method, T] = ["-", "--", ":", "-."][times.index(T) % 4]
    for (method, T), g in table.items():
        label = f"{method}, T={T:g}" if method != "cpu" else "cpu"
        z = {r["axis"]: r["z"] for r in results if (r["method"], r["time"]) == (method, T)}
        epochs = np.arange(1, g["train_error"].shape[1] + 1)
        mean = g["train_error"].mean(axis=0)
        kw = dict(color=COLOURS.get(method, "k"), ls=styles[method, T], marker=".", ms=3)
        axes[0].plot(epochs, np.where(mean > 0, mean, np.nan), **kw,
                     label=f"{label}" + (f", z={z['epochs']:.2f}"
                                         if not np.isnan(z["epochs"]) else ""))
        axes[1].plot(g["cumulative_anneals"].mean(axis=0), np.where(mean > 0, mean, np.nan),
                     **kw, label=f"{label}" + (f", z={z['anneals']:.2f}"
                                               if not np.isnan(z["anneals"]) else ""))
        axes[2].plot(epochs, g["marked_median"].mean(axis=0), **kw, label=label)
    axes[0].set(xscale="log", yscale="log", xlabel="epoch", ylabel="training error",
                title="error against epochs (same m)")
    axes[1].set(xscale="log", yscale="log", xlabel="anneals spent (cumulative)",
                ylabel="training error", title="error against anneals")
    axes[2].set(yscale="log", xlabel="epoch", ylabel="median |A_wrong|² (60 training images)",
                title="weight of the wrong-class component")
    for ax in axes:
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()

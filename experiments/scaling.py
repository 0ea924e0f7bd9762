"""Scaling exponent z of the training error with epochs, error ∝ epochs^(-z) (paper Fig. 5).

Six methods on the same data: QP (m = 20, reference starts), QP (m = 20, random starts), EP
(m = 1, random start) on the 784-120-40 Ising network, and plain-SGD backpropagation with
scikit-learn's MLPClassifier (no momentum, constant rate, no weight decay, minibatches of 10):
784-120 ReLU-10 (the paper's classical baseline), 784-120 sigmoid-10 and 784-1200 ReLU-10 (its
two variants). Minibatches of 10 for all; every rate is per minibatch update of averaged
gradients. The training error (1 - accuracy on the training images) is measured after every
epoch.

Protocol (every choice is printed and written to the CSVs):

1. Rate scan: each method on a half-decade grid around its base rate (layersweep: a factor on
   the package's default rates 0.01/0.003 for input/hidden-output couplings and biases;
   backprop: 0.1 x factor), ``--scan-seeds`` seeds that differ from the measurement seeds
   (seed + 1000), short runs; the best rate has the lowest mean training error over the scan
   epochs, chosen per training-set size.
2. "best" regime: each method at its best rate, ``--seeds`` seeds, on every training size.
3. "paper" regime: each method at its base rate / 10 (spin nets 0.001/0.0003, backprop 0.01),
   150-epoch runs, so that training takes the 100-500 epochs of the paper's Fig. 5 (the base
   rates are the package defaults and the backprop rate scanned in wall_time.py; the scan
   shows where each method's best lies relative to them). Default on the 1000-image split
   only; the 4000-image split with ``--paper-sizes 1000,4000``.

z is minus the least-squares slope of log(mean training error over seeds) against log(epoch),
every epoch of a window weighted equally. Windows start at epoch 2 (best rates) or 10 (paper
regime, whose first epochs are a slow transient) and end before the first epoch at which any
seed's training error is zero (log 0); z is not reported when fewer than 4 epochs remain.
"common": one window for all methods of a regime and training size (it ends where the first
method reaches zero); "own": each method's longest window; three alternative windows show how
much z depends on the window. The 95% interval resamples the seeds (bootstrap, 2000 times)
and refits the mean curve.

Data: the 1000 training digits of ``layersweep.data.split(load(), 1000, 100)``; the larger
split adds the first (n - 1000) / 10 held-out digits of each class in source order (4000 = the
1000 + 300 per class). Only training error is measured: nothing is evaluated on held-out
digits, and the 3000 taken from them are only trained on. Writes
experiments/results/scaling/{curves,exponents}.csv and scaling.png and prints the summary
tables.

    python experiments/scaling.py [--seeds 0,1,2,3,4] [--jobs 2] [--quick] [--resume]

(``--resume`` reuses the runs already in curves.csv: the runs are deterministic, so it only
saves time.)
"""

from __future__ import annotations

import argparse
import csv
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
THREAD_VARS = ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS",
               "MKL_NUM_THREADS")

#: method -> how it trains; "base" is the rate that the scan factor multiplies
METHODS = {
    "qp": dict(kind="spin", rule="qp", start="reference", base=0.01,
               label="QP, m=20, reference starts"),
    "qp-random": dict(kind="spin", rule="qp", start="random", base=0.01,
                      label="QP, m=20, random starts"),
    "ep": dict(kind="spin", rule="ep", start="random", base=0.01, label="EP, m=1"),
    "bp": dict(kind="mlp", activation="relu", hidden=120, base=0.1,
               label="backprop 120 ReLU"),
    "bp-sigmoid": dict(kind="mlp", activation="logistic", hidden=120, base=0.1,
                       label="backprop 120 sigmoid"),
    "bp-1200": dict(kind="mlp", activation="relu", hidden=1200, base=0.1,
                    label="backprop 1200 ReLU"),
}
#: the paper's exponents (Fig. 5 and its text); QP with random starts is not in the paper
PAPER_Z = {"qp": 1.01, "qp-random": None, "ep": 0.64, "bp": 0.78, "bp-sigmoid": 0.56,
           "bp-1200": 0.84}
#: the input/hidden-output rate ratio of the package defaults (0.01 / 0.003)
HIDDEN_RATIO = 0.3
GRID = (0.1, 0.3, 1.0, 3.0, 10.0)
BOOTSTRAP = 2000


# ---- data and single runs ---------------------------------------------------------------------
_DATA: dict = {}


def training_set(size: int):
    """``(X (size, 784), y (size,))``: the first size/10 training digits per class for size <=
    1000; beyond, the 1000 plus the first (size - 1000)/10 held-out digits of each class."""
    if size not in _DATA:
        from layersweep import data as datasets

        full = datasets.load("mnist5k")
        splits = datasets.split(full, min(size, 1000), 100)
        X, y = splits["train"].X, splits["train"].y
        if size > 1000:
            extra = datasets.split(splits["heldout"], size - 1000, 0)["train"]
            X, y = np.concatenate([X, extra.X]), np.concatenate([y, extra.y])
        _DATA[size] = (X, y)
    return _DATA[size]


def rate_of(method: str, factor: float) -> float:
    """The method's learning rate (input couplings for the spin nets) at a scan factor."""
    return METHODS[method]["base"] * factor


def run_spin(method, rate, seed, X, y, epochs):
    """Training error ``(epochs,)`` and training seconds of a QP/EP run (error 1 once the
    parameters diverge)."""
    from layersweep.estimator import LayerSweepClassifier

    spec = METHODS[method]
    rates = (rate, rate * HIDDEN_RATIO)
    model = LayerSweepClassifier(random_state=seed,
                                 recipe=dict(rule=spec["rule"], start=spec["start"], lr_W=rates, lr_b=rates))
    errors, seconds = [], 0.0
    try:
        for _ in range(epochs):
            model.partial_fit(X, y, classes=10)
            errors.append(model.history_[-1]["train_error"])
            seconds += model.history_[-1]["seconds"]
    except ArithmeticError:
        errors += [1.0] * (epochs - len(errors))
    return errors, seconds


def run_mlp(method, rate, seed, X, y, epochs):
    """Training error ``(epochs,)`` and training seconds of plain-SGD backprop: one
    ``partial_fit`` per epoch over a seeded permutation, batches of 10 (error 1 once it
    diverges)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    spec = METHODS[method]
    model = MLPClassifier(hidden_layer_sizes=(spec["hidden"],), activation=spec["activation"],
                          solver="sgd", learning_rate="constant", learning_rate_init=rate,
                          momentum=0.0, nesterovs_momentum=False, batch_size=10, alpha=0.0,
                          random_state=seed)
    rng = np.random.default_rng(seed)
    errors, seconds = [], 0.0
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        for _ in range(epochs):
            order = rng.permutation(len(y))
            start = time.perf_counter()
            try:
                model.partial_fit(X[order], y[order], classes=np.arange(10))
                seconds += time.perf_counter() - start
                errors.append(float(np.mean(model.predict(X) != y)))  # exactly k / n
            except ValueError:  # NaN weights: sklearn refuses them
                errors += [1.0] * (epochs - len(errors))
                break
    return errors, seconds


def run_task(task: dict) -> dict:
    """One run: ``task`` has stage, size, method, factor, seed, epochs; returns it with
    ``errors`` ``(epochs,)`` and ``seconds`` added."""
    from threadpoolctl import threadpool_limits

    X, y = training_set(task["size"])
    runner = run_spin if METHODS[task["method"]]["kind"] == "spin" else run_mlp
    with threadpool_limits(1):
        errors, seconds = runner(task["method"], rate_of(task["method"], task["factor"]),
                                 task["seed"], X, y, task["epochs"])
    return dict(task, errors=errors, seconds=seconds)


def cost(task: dict) -> float:
    """Rough seconds of a run (per-epoch costs on 1000 images), to start long runs first."""
    per_epoch = {"qp": 0.3, "qp-random": 0.4, "ep": 0.1, "bp": 0.04, "bp-sigmoid": 0.05,
                 "bp-1200": 0.25}[task["method"]]
    return per_epoch * task["epochs"] * task["size"] / 1000


def key(run: dict) -> tuple:
    """What identifies a run: stage, size, method, rate factor, seed, epochs."""
    return (run["stage"], run["size"], run["method"], float(run["factor"]), run["seed"],
            run["epochs"])


def read_curves(path) -> dict:
    """The runs of an earlier curves.csv, by :func:`key` (for ``--resume``)."""
    runs = {}
    if os.path.exists(path):
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                run = runs.setdefault((row["stage"], int(row["train_size"]), row["method"],
                                       float(row["factor"]), int(row["seed"])), [])
                run.append(float(row["train_error"]))
    return {(*k[:5], len(v)): dict(stage=k[0], size=k[1], method=k[2], factor=k[3], seed=k[4],
                                   epochs=len(v), errors=v) for k, v in runs.items()}


def run_all(tasks: list, jobs: int, desc: str, cache: dict) -> list:
    """Every task, in a pool of ``jobs`` fresh single-threaded processes (in this process
    when ``jobs`` is 1), with a progress bar over runs; tasks found in ``cache`` are reused."""
    from tqdm import tqdm

    done = [cache[key(t)] for t in tasks if key(t) in cache]
    tasks = sorted((t for t in tasks if key(t) not in cache), key=cost, reverse=True)
    with tqdm(total=len(tasks), desc=desc, unit="run") as bar:
        if jobs <= 1:
            for task in tasks:
                done.append(run_task(task))
                bar.update()
            return done
        import multiprocessing

        saved = {v: os.environ.get(v) for v in THREAD_VARS}
        os.environ.update({v: "1" for v in THREAD_VARS})  # inherited by the spawned workers
        try:
            with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
                for future in as_completed([pool.submit(run_task, t) for t in tasks]):
                    done.append(future.result())
                    bar.update()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    return done


# ---- the exponent -----------------------------------------------------------------------------
def slopes(log_e: np.ndarray, log_err: np.ndarray) -> np.ndarray:
    """Least-squares slopes of ``log_err`` ``(..., n)`` against ``log_e`` ``(n,)``."""
    x = log_e - log_e.mean()
    return ((log_err - log_err.mean(axis=-1, keepdims=True)) * x).sum(axis=-1) / (x * x).sum()


def fit_z(curves: np.ndarray, window, rng) -> dict:
    """z over ``window`` = (first, last) epoch of ``curves`` ``(seeds, epochs)``.

    The window ends before the first epoch where any seed's error is 0; fewer than 4 epochs
    left -> z is NaN. z is minus the slope of log(mean over seeds) vs log(epoch); its 95%
    interval comes from resampling seeds; ``z_seed`` is the mean and s.d. of per-seed fits.
    """
    first, last = window
    last = min(last, curves.shape[1])
    zeros = np.flatnonzero((curves == 0).any(axis=0)) + 1
    if len(zeros):
        last = min(last, zeros[0] - 1)
    out = {"window": f"{window[0]}-{window[1]}", "used": f"{first}-{last}", "z": np.nan,
           "ci_low": np.nan, "ci_high": np.nan, "z_seed_mean": np.nan, "z_seed_sd": np.nan}
    if last - first + 1 < 4:
        out["used"] = "n/a"
        return out
    log_e = np.log(np.arange(first, last + 1))
    part = curves[:, first - 1:last]
    out["z"] = -slopes(log_e, np.log(part.mean(axis=0)))
    picks = rng.integers(0, len(curves), size=(BOOTSTRAP, len(curves)))
    boot = -slopes(log_e, np.log(part[picks].mean(axis=1)))
    out["ci_low"], out["ci_high"] = np.percentile(boot, [2.5, 97.5])
    per_seed = -slopes(log_e, np.log(part))
    out["z_seed_mean"] = per_seed.mean()
    out["z_seed_sd"] = per_seed.std(ddof=1) if len(per_seed) > 1 else 0.0
    return out


def last_nonzero(curves: np.ndarray) -> int:
    """The last epoch before any seed of ``curves`` ``(seeds, epochs)`` has zero error."""
    zeros = np.flatnonzero((curves == 0).any(axis=0))
    return int(zeros[0]) if len(zeros) else curves.shape[1]


def common_end(runs, stage, size, methods, start) -> int:
    """End of the window shared by all methods of a panel: the earliest end before a zero
    among the methods that keep at least 4 epochs (a method memorised sooner is n/a)."""
    ends = []
    for m in methods:
        curves = np.array([r["errors"] for r in runs if r["stage"] == stage
                           and r["size"] == size and r["method"] == m])
        ends.append(last_nonzero(curves))
    usable = [e for e in ends if e - start + 1 >= 4]
    return min(usable) if usable else start


def windows_for(epochs: int, start: int) -> list:
    """The method's own window [start, epochs] (cut before its first zero) and the
    alternatives: from epoch 1, the first half only, the last three quarters only."""
    return [(start, epochs), (1, epochs), (start, max(start + 1, epochs // 2)),
            (max(start + 1, epochs // 4), epochs)]


def epochs_to(curve: np.ndarray, level: float):
    """First epoch (1-based) at which ``curve`` ``(epochs,)`` is at most ``level``, or None."""
    hit = np.flatnonzero(curve <= level)
    return int(hit[0]) + 1 if len(hit) else None


# ---- the experiment ---------------------------------------------------------------------------
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2,3,4",
                        help="measurement seeds (>= 2 for an interval); the scan uses seed+1000")
    parser.add_argument("--scan-seeds", type=int, default=2,
                        help="how many seeds the rate scan uses")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--train-sizes", default="1000,4000",
                        help="training images of the scan and the best-rate runs")
    parser.add_argument("--paper-sizes", default="1000",
                        help="training sizes of the paper regime ('' to skip it); 4000 adds "
                             "about 40 min on 2 cores")
    parser.add_argument("--scan-epochs", type=int, default=10,
                        help="scan length on 1000 images (scaled by 1000/size, at least 3)")
    parser.add_argument("--epochs", type=int, default=30, help="length of the best-rate runs")
    parser.add_argument("--paper-epochs", type=int, default=150)
    parser.add_argument("--paper-factor", type=float, default=0.1,
                        help="paper-regime rate as a factor on each method's base rate")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "scaling"))
    parser.add_argument("--resume", action="store_true",
                        help="reuse the runs of an earlier curves.csv in --out (runs are "
                             "deterministic, so the numbers are those of a fresh run)")
    parser.add_argument("--quick", action="store_true",
                        help="2 seeds, 200/400 images, 2 rates, 6-epoch runs, one process")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    methods = args.methods.split(",")
    sizes = [int(s) for s in args.train_sizes.split(",")]
    paper_sizes = [int(s) for s in args.paper_sizes.split(",") if s]
    grid = GRID
    if args.quick:
        seeds, sizes, paper_sizes, grid = seeds[:2], [200, 400], [200], (0.3, 1.0)
        args.scan_seeds, args.scan_epochs, args.epochs, args.paper_epochs = 1, 2, 6, 6
        args.jobs = 1
    base_size = sizes[0]
    started = time.perf_counter()
    os.makedirs(args.out, exist_ok=True)

    def scan_epochs(size):
        return max(3, round(args.scan_epochs * base_size / size))

    # 1. rate scan
    scan_seeds = [s + 1000 for s in seeds[:args.scan_seeds]]
    tasks = [dict(stage="scan", size=n, method=m, factor=f, seed=s,
                  epochs=scan_epochs(n))
             for n in sizes for m in methods for f in grid for s in scan_seeds]
    # 3. paper-regime runs (they need no scan: they run in the same pool)
    tasks += [dict(stage="paper", size=n, method=m, factor=args.paper_factor, seed=s,
                   epochs=args.paper_epochs)
              for n in paper_sizes for m in methods for s in seeds]
    cache = read_curves(os.path.join(args.out, "curves.csv")) if args.resume else {}
    runs = run_all(tasks, args.jobs, "rate scan and paper regime", cache)
    best = {}
    for n in sizes:
        for m in methods:
            area = {f: np.mean([np.mean(r["errors"]) for r in runs if r["stage"] == "scan"
                                and r["size"] == n and r["method"] == m and r["factor"] == f])
                    for f in grid}
            best[n, m] = min(area, key=area.get)
    # 2. best-rate runs
    tasks = [dict(stage="best", size=n, method=m, factor=best[n, m], seed=s,
                  epochs=args.epochs)
             for n in sizes for m in methods for s in seeds]
    runs += run_all(tasks, args.jobs, "best-rate runs", cache)
    write_curves(runs, os.path.join(args.out, "curves.csv"))

    rng = np.random.default_rng(seeds[0])
    results = []
    for stage, stage_sizes in (("best", sizes), ("paper", paper_sizes)):
        for n in stage_sizes:
            for m in methods:
                sub = sorted((r for r in runs if r["stage"] == stage and r["size"] == n
                              and r["method"] == m), key=lambda r: r["seed"])
                curves = np.array([r["errors"] for r in sub])
                epochs = curves.shape[1]
                start = 2 if stage == "best" else 10 if epochs >= 40 else 2
                hits = [epochs_to(c, 0.01) for c in curves]
                common = (start, common_end(runs, stage, n, methods, start))
                windows = [common] + windows_for(epochs, start)
                for kind, window in zip(("common", "own", "alt", "alt", "alt"), windows):
                    row = dict(regime=stage, train_size=n, method=m, kind=kind,
                               rate=rate_of(m, sub[0]["factor"]), factor=sub[0]["factor"],
                               seeds=len(sub), epochs=epochs,
                               final_error=curves[:, -1].mean(),
                               epochs_to_1pct=(np.median([h for h in hits if h])
                                               if sum(h is not None for h in hits) * 2
                                               > len(hits) else np.nan),
                               paper_z=PAPER_Z[m], **fit_z(curves, window, rng))
                    results.append(row)
    write_exponents(results, os.path.join(args.out, "exponents.csv"))
    plot(runs, results, best, sizes, methods, grid, args.out)
    report(runs, results, best, sizes, methods, grid, seeds, scan_seeds,
           time.perf_counter() - started)


def write_curves(runs, path):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["stage", "train_size", "method", "rate", "factor", "seed", "epoch",
                         "train_error"])
        for r in sorted(runs, key=lambda r: (r["stage"], r["size"], r["method"], r["factor"],
                                             r["seed"])):
            for epoch, error in enumerate(r["errors"], start=1):
                writer.writerow([r["stage"], r["size"], r["method"],
                                 f"{rate_of(r['method'], r['factor']):.6g}", f"{r['factor']:g}",
                                 r["seed"], epoch, f"{error:.5f}"])


def write_exponents(results, path):
    keys = ["regime", "train_size", "method", "kind", "rate", "factor", "seeds", "epochs",
            "window", "used", "z", "ci_low", "ci_high", "z_seed_mean", "z_seed_sd", "paper_z",
            "final_error", "epochs_to_1pct"]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys)
        writer.writeheader()
        for row in results:
            writer.writerow({k: (f"{v:.4g}" if isinstance(v, float) else v)
                             for k, v in row.items() if k in keys})


def fmt_z(row) -> str:
    if np.isnan(row["z"]):
        return "n/a (zeros)"
    return f"{row['z']:.2f} [{row['ci_low']:.2f}, {row['ci_high']:.2f}]"


def report(runs, results, best, sizes, methods, grid, seeds, scan_seeds, elapsed):
    print(f"\nrate scan (mean training error over the scan epochs, seeds {scan_seeds}; "
          f"factor x base, base 0.01 for spin nets (hidden-output 0.3x), 0.1 for backprop):")
    print(f"{'images':>6s}  {'method':11s}  " + "  ".join(f"{f:>7g}" for f in grid) + "   best")
    for n in sizes:
        for m in methods:
            cells = [np.mean([np.mean(r["errors"]) for r in runs if r["stage"] == "scan"
                              and r["size"] == n and r["method"] == m and r["factor"] == f])
                     for f in grid]
            edge = " (grid edge)" if best[n, m] in (grid[0], grid[-1]) and len(grid) > 2 else ""
            print(f"{n:6d}  {m:11s}  " + "  ".join(f"{c:7.4f}" for c in cells)
                  + f"   {best[n, m]:g}{edge}")
    print(f"\nscaling exponent z (error ~ epoch^-z), {len(seeds)} seeds, 95% bootstrap "
          f"interval over seeds; common = one window for all methods of a regime and size, "
          f"own = the method's longest window; both end before any seed's error is 0")
    print(f"{'regime':6s} {'images':>6s}  {'method':11s} {'rate':>7s} {'to 1%':>6s} "
          f"{'final err':>9s} {'common':>7s}  {'z [95% CI]':22s} {'own':>7s}  "
          f"{'z [95% CI]':22s} {'paper':>5s}  alternative windows")
    for row in results:
        if row["kind"] != "common":
            continue
        same = [r for r in results if r["regime"] == row["regime"]
                and r["train_size"] == row["train_size"] and r["method"] == row["method"]]
        own = next(r for r in same if r["kind"] == "own")
        alt_text = "  ".join(f"{r['window']}: " + ("n/a" if np.isnan(r["z"]) else f"{r['z']:.2f}")
                             for r in same if r["kind"] == "alt")
        to1 = "-" if np.isnan(row["epochs_to_1pct"]) else f"{row['epochs_to_1pct']:.0f}"
        paper = "-" if row["paper_z"] is None else f"{row['paper_z']:.2f}"
        print(f"{row['regime']:6s} {row['train_size']:6d}  {row['method']:11s} "
              f"{row['rate']:7.4g} {to1:>6s} {row['final_error']:9.4f} "
              f"{row['used']:>7s}  {fmt_z(row):22s} {own['used']:>7s}  {fmt_z(own):22s} "
              f"{paper:>5s}  {alt_text}")
    print(f"\n{elapsed:.0f} s in all")


def plot(runs, results, best, sizes, methods, grid, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"qp": "tab:red", "qp-random": "tab:orange", "ep": "tab:blue", "bp": "tab:green",
               "bp-sigmoid": "tab:olive", "bp-1200": "tab:purple"}
    panels = sorted({(r["regime"], r["train_size"]) for r in results},
                    key=lambda p: (p[0] != "best", p[1]))
    fig, axes = plt.subplots(2, max(3, len(panels)), figsize=(5 * max(3, len(panels)), 9),
                             squeeze=False)
    for ax, (regime, n) in zip(axes[0], panels):
        for m in methods:
            curves = np.array([r["errors"] for r in runs if r["stage"] == regime
                               and r["size"] == n and r["method"] == m])
            epochs = np.arange(1, curves.shape[1] + 1)
            mean = curves.mean(axis=0)
            row = next(r for r in results if r["regime"] == regime and r["train_size"] == n
                       and r["method"] == m and r["kind"] == "common")
            z = "" if np.isnan(row["z"]) else f", z={row['z']:.2f}"
            ax.plot(epochs, np.where(mean > 0, mean, np.nan), color=colours[m], marker=".",
                    ms=3, lw=1, label=f"{METHODS[m]['label']}{z}")
            ax.fill_between(epochs, np.where(curves.min(0) > 0, curves.min(0), np.nan),
                            curves.max(0), color=colours[m], alpha=0.12, lw=0)
            if not np.isnan(row["z"]):
                first, last = (int(v) for v in row["used"].split("-"))
                e = np.arange(first, last + 1)
                coef = np.polyfit(np.log(e), np.log(mean[first - 1:last]), 1)
                ax.plot(e, np.exp(np.polyval(coef, np.log(e))), color=colours[m], lw=1.5, ls="--",
                        alpha=0.8)
        ax.set(xscale="log", yscale="log", xlabel="epoch", ylabel="training error",
               title=f"{regime} rates, {n} training images")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    for ax, n in zip(axes[1], sizes):
        for m in methods:
            area = [np.mean([np.mean(r["errors"]) for r in runs if r["stage"] == "scan"
                             and r["size"] == n and r["method"] == m and r["factor"] == f])
                    for f in grid]
            ax.plot(grid, area, marker="o", color=colours[m], label=METHODS[m]["label"])
            ax.plot([best[n, m]], [min(area)], marker="*", ms=12, color=colours[m])
        ax.set(xscale="log", yscale="log", xlabel="rate factor (x base rate)",
               ylabel="mean training error over scan epochs", title=f"rate scan, {n} images")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    ax = axes[1][len(sizes)] if len(sizes) < axes.shape[1] else None
    if ax is not None:
        mains = [r for r in results if r["kind"] == "common"]
        for i, (regime, n) in enumerate(panels):
            for j, m in enumerate(methods):
                row = next(r for r in mains if r["regime"] == regime and r["train_size"] == n
                           and r["method"] == m)
                x = j + (i - (len(panels) - 1) / 2) * 0.2
                if not np.isnan(row["z"]):
                    ax.errorbar(x, row["z"], yerr=[[row["z"] - row["ci_low"]],
                                                   [row["ci_high"] - row["z"]]],
                                fmt="os^v"[i % 4], color=colours[m], capsize=2,
                                label=f"{regime}, {n}" if j == 0 else None)
        for j, m in enumerate(methods):
            if PAPER_Z[m] is not None:
                ax.plot(j, PAPER_Z[m], marker="*", ms=12, color="k",
                        label="paper" if j == 0 else None)
        ax.set_xticks(range(len(methods)), methods, rotation=20)
        ax.set(ylabel="z (95% CI)", title="scaling exponents")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Training error vs epochs (log-log): 784-120-40 Ising net (QP, EP) and "
                 "plain-SGD backprop")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "scaling.png"), dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()

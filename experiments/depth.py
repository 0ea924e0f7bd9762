"""Deep networks trained by active-layer sweeps: error vs epochs for several depths and rules.

Each network is trained on the 1000 bundled MNIST training digits (``--train-size``) with QP
(m = 20 free samples) and EP, evaluated after every epoch on the held-out digits (3900 of
them); per-block figures (energy gap between free samples and the nudged state, fraction of
free samples already correct) are kept. Variants of the sweep (which value freezes the layer
above a lower block, where free samples start, initial scales, per-layer learning rates,
their decay, a greedy start, parameter averaging, the weight decay of the hidden-to-hidden
couplings, which block learns them, error-driven reads, the warm-up of their rate) are named
presets below. Writes curves.csv and curves.png under ``--out`` (experiments/results/depth/)
and prints a summary table. The committed results:

    python experiments/depth.py --nets shallow,deep,wide --variants paper,rescaled,default \
        --rules qp,ep
    python experiments/depth.py --nets shallow,deep,wide --variants default,average,no-average \
        --rules qp --seeds 0,1,2 --out experiments/results/depth-average
    python experiments/depth.py --nets shallow,deep,wide --variants default,reference-start \
        --rules qp --seeds 0,1,2 --out experiments/results/depth-greedy
    python experiments/depth.py --nets deep,wide --variants full-ends --rules qp \
        --seeds 0,1,2 --out experiments/results/depth-full-ends
    python experiments/depth.py --nets deep,wide --variants full-ends-decay,decay --rules qp \
        --seeds 0,1,2 --out experiments/results/depth-full-ends-decay
    python experiments/depth.py --nets wide,deep --variants decay,decay-slower,decay-sweeps64 \
        --rules qp --out experiments/results/depth-variants
    python experiments/depth.py --nets deep,wide --variants default --rules qp --seeds 0,1,2 \
        --out experiments/results/depth-hidden-decay
    python experiments/depth.py --nets deep --variants default,no-hidden-decay --rules qp \
        --seeds 0,1 --epochs 16 --train-size 4000 --out experiments/results/depth-4000
    python experiments/depth.py --nets deep,wide --variants upper-error-driven --rules qp \
        --seeds 0,1,2 --out experiments/results/depth-upper
    python experiments/depth.py --nets deep --variants upper-error-driven --rules qp \
        --seeds 0,1 --epochs 16 --train-size 4000 --out experiments/results/depth-4000-upper
    python experiments/depth.py --nets deeper --variants default --rules qp,ep \
        --seeds 0,1,2 --out experiments/results/depth-deeper
    python experiments/depth.py --nets deeper --variants inner-couplings --rules qp,ep \
        --seeds 0,1,2 --out experiments/results/depth-deeper-inner
    python experiments/depth.py --nets shallow,wide --variants default,upper-error-driven \
        --rules qp --seeds 0,1,2 --train-size 4000 \
        --out experiments/results/depth-4000-shallow-wide
    python experiments/depth.py --nets deep --variants default,upper-error-driven --rules qp \
        --seeds 0,1,2 --train-size 4000 --out experiments/results/depth-4000-narrow
    python experiments/depth.py --nets deep,wide,deeper --variants random-start --rules qp \
        --seeds 0,1,2 --out experiments/results/depth-warmup
    python experiments/depth.py --nets deep,wide --variants random-start,inner-couplings \
        --rules qp --seeds 3,4,5 --out experiments/results/depth-warmup-seeds
    python experiments/depth.py --nets deep,wide --variants random-start --rules qp \
        --seeds 0,1,2 --train-size 4000 --out experiments/results/depth-4000-warmup
    python experiments/depth.py --nets shallow --variants default,average --rules qp \
        --seeds 3,4,5 --out experiments/results/depth-shallow-seeds
    python experiments/depth.py --nets deep,wide,deeper --variants decay-one --rules qp \
        --seeds 0,1,2,3,4,5 --out experiments/results/depth-decay-one
    python experiments/depth.py --nets deep,wide --variants decay-one --rules qp \
        --seeds 0,1,2 --train-size 4000 --out experiments/results/depth-4000-decay-one
    python experiments/depth.py --nets deeper --variants top-reference,random-start,decay-one \
        --rules qp --seeds 0,1,2 --train-size 4000 --out experiments/results/depth-4000-deeper
    python experiments/depth.py --nets deep,wide --variants default --rules qp \
        --seeds 0,1,2,3,4,5 --out experiments/results/depth-default
    python experiments/depth.py --nets deeper --variants top-reference --rules qp \
        --seeds 0,1,2,3,4,5 --out experiments/results/depth-deeper-top-reference
    python experiments/depth.py --nets deep,wide --variants default --rules qp \
        --seeds 0,1,2 --train-size 4000 --out experiments/results/depth-4000-default

    python experiments/depth.py [--nets shallow,deep,wide,deeper] [--variants default]
                                [--rules qp,ep] [--epochs 20] [--seeds 0]
                                [--train-size 1000] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import os
import time

import numpy as np

from layersweep import data as datasets
from layersweep.estimator import LayerSweepClassifier
from layersweep.recipe import DEEP_AVERAGE, FIELDS, GREEDY_EPOCHS, Recipe, resolve

HERE = os.path.dirname(os.path.abspath(__file__))

NETS = {
    "shallow": (120,),          # 784-120-40, the paper's
    "deep": (120, 120),         # 784-120-120-40
    "wide": (256, 128),         # 784-256-128-40
    "deeper": (256, 128, 64),   # 784-256-128-64-40
}

#: sweep variants for deep nets: estimator parameters (per coupling layer where it matters)
VARIANTS = {
    # the package's defaults: for a deep net the rescaled initialisation, per-layer rates
    # from the shallow pair (W^1 x 1/2, hidden-hidden x 2/3, top x 1/2), a greedy start of
    # 5 epochs (the shallow net input - first hidden layer - output, then the deep net),
    # with two hidden layers the top block's free samples annealed from reference states and
    # the lower block's from random ones (the greedy stage's one block is a top block), with
    # more every block's from random states, parameter averaging, the hidden decay, the
    # hidden-to-hidden couplings learnt from below with their rate warmed up over the first
    # three deep epochs, and a quarter of the lower blocks' reads error-driven
    "default": {},
    # hidden-to-hidden couplings learnt inside their block, no error-driven reads, no warm-up:
    # the default with two hidden layers before the warm-up (and before, with any number)
    "inner-couplings": {"hidden_couplings": "inner", "error_driven": 0.0},
    # the defaults with predictions from the parameters as trained, not their moving average
    "no-average": {"average": 0},
    # the defaults without the weight decay of the hidden-to-hidden couplings (the default
    # before it was measured that without it they keep growing and a class can be lost)
    "no-hidden-decay": {"hidden_decay": 0.0},
    # each hidden-to-hidden coupling learnt from below, in the block above it (error-driven in
    # the top block, at 2/3 of δJ), not inside its own block, without error-driven reads and
    # without the warm-up of its rate
    "upper": {"hidden_couplings": "upper", "error_driven": 0.0, "hidden_warmup": ()},
    # upper, with a quarter of the lower blocks' reads error-driven (the layer above frozen at
    # the free samples of the block above, not at a wrong class's reference): the defaults
    # without the warm-up (the default with three or more hidden layers before it)
    "upper-error-driven": {"hidden_couplings": "upper", "error_driven": 0.25,
                           "hidden_warmup": ()},
    # the defaults with every block's free samples annealed from random states (the default
    # with two hidden layers before top-reference; with three or more, the default)
    "random-start": {"start": "random"},
    # the defaults with the top block's free samples annealed from reference states and the
    # lower blocks' from random ones (the default with two hidden layers)
    "top-reference": {"start": "top-reference"},
    # random-start with twice the hidden decay, λ = 1
    "decay-one": {"start": "random", "hidden_decay": 1.0},
    # a moving average of the parameters over the last DEEP_AVERAGE (3000) training images
    # predicts (the deep-net default; for 784-120-40 it is not the paper's algorithm, so an
    # option)
    "average": {"average": DEEP_AVERAGE},
    # the defaults with every block's free samples started from reference states (the default
    # before random starts)
    "reference-start": {"start": "reference"},
    # the paper's initialisation and rates (W^1 at δW, every other coupling at δJ), no greedy
    # start: the sweep of docs/how-it-works.md §3 with the layer above a lower block at the reference value
    "paper": {"start": "reference", "init_scale": "paper", "lr": "flat",
              "greedy_epochs": 0},
    # as "paper", with the neighbours frozen at their free values (the sweep as first written)
    "free-above": {"start": "reference", "init_scale": "paper", "lr": "flat",
                   "greedy_epochs": 0, "frozen_above": "free"},
    # reference-start without the greedy start
    "rescaled": {"start": "reference", "greedy_epochs": 0},
    # rescaled, with every rate decaying as 1 / (1 + (epoch - 1) / 5)
    "decay": {"start": "reference", "greedy_epochs": 0, "decay": 5.0},
    # decay, with an even slower middle coupling (δJ / 15 instead of δJ / 6)
    "decay-slower": {"start": "reference", "greedy_epochs": 0, "lr": "slower-middle", "decay": 5.0},
    # decay, with twice the sweeps per read
    "decay-sweeps64": {"start": "reference", "greedy_epochs": 0, "decay": 5.0,
                       "sweeps": 64},
    # reference-start with a longer greedy start
    "greedy8": {"start": "reference", "greedy_epochs": 8},
    # reference-start with W^1 and the top coupling at the shallow net's full rates δW, δJ
    "full-ends": {"start": "reference", "lr": "full-ends"},
    # full-ends, with the rates decaying as in "decay"
    "full-ends-decay": {"start": "reference", "lr": "full-ends", "decay": 5.0},
    # reference-start with a faster middle coupling (δJ / 2 or δJ instead of δJ / 6)
    "middle-half": {"start": "reference", "lr": "middle-half"},
    "middle-full": {"start": "reference", "lr": "middle-full"},
    # reference-start with a slower top coupling (δJ / 6 instead of δJ / 2)
    "top-slow": {"start": "reference", "lr": "top-slow"},
    # reference-start with other initial scales (W^1, each hidden-hidden coupling, top)
    "middle-init1": {"start": "reference", "init_scale": (1.0, 1.0, 0.5)},
    "top-init02": {"start": "reference", "init_scale": (1.0, 0.4, 0.2)},
    # reference-start with the layer above a lower block frozen at its free value
    "greedy-free-above": {"start": "reference", "frozen_above": "free"},
}


#: the variant settings that also apply to the one block of 784-120-40
SHALLOW_KEYS = ("lr_W", "lr_b", "sweeps", "decay", "average")
#: variants that change 784-120-40 (all others are its default)
SHALLOW_VARIANTS = ("default", "average")


def variant_params(name: str, hidden: tuple, base_lr: tuple) -> dict:
    """Estimator parameters of a variant for a network with ``hidden`` layers."""
    params = dict(VARIANTS[name])
    depth = len(hidden) + 1
    scale = params.pop("init_scale", None)
    if scale == "paper":
        params["init_scale"] = [1.0] * depth
    elif scale is not None:  # (W^1, each hidden-hidden coupling, top coupling)
        params["init_scale"] = [scale[0]] + [scale[1]] * (depth - 2) + [scale[2]]
    lr = {"flat": [base_lr[0]] + [base_lr[1]] * (depth - 1),
          "slower-middle": [base_lr[0] / 2] + [base_lr[1] / 15] * (depth - 2) + [base_lr[1] / 2],
          "full-ends": [base_lr[0]] + [base_lr[1] / 6] * (depth - 2) + [base_lr[1]],
          "middle-half": [base_lr[0] / 2] + [base_lr[1] / 2] * (depth - 2) + [base_lr[1] / 2],
          "middle-full": [base_lr[0] / 2] + [base_lr[1]] * (depth - 2) + [base_lr[1] / 2],
          "top-slow": [base_lr[0] / 2] + [base_lr[1] / 6] * (depth - 1),
          }.get(params.pop("lr", None), list(base_lr))
    params["lr_W"] = params["lr_b"] = lr
    if depth == 2:  # one block: the variants do not apply
        params = {k: v for k, v in params.items() if k in SHALLOW_KEYS}
    return params


def settled(name: str, hidden: tuple, base_lr: tuple) -> dict:
    """A variant's parameters with the package's deep-net default for averaging filled in."""
    params = variant_params(name, hidden, base_lr)
    if params.get("average") is None:  # the package's default for this depth
        params["average"] = resolve({"average": None}, (1, *hidden, 10)).recipe.average
    return params


def train(params: dict, hidden, rule, seed, epochs, splits, heldout):
    """One run: ``(model, history)``. A ``decay`` entry scales every learning rate by
    1 / (1 + (epoch - 1) / decay) before each epoch; history rows of a greedy start's shallow
    stage have ``greedy = 1``."""
    params = dict(params)
    decay = params.pop("decay", None)
    if len(hidden) > 1:  # a greedy start leaves at least one deep epoch
        params["greedy_epochs"] = min(params.get("greedy_epochs", GREEDY_EPOCHS), epochs - 1)
    X, y = splits["train"].X, splits["train"].y
    evals = {"heldout": (heldout.X, heldout.y)}
    recipe = {k: params.pop(k) for k in list(params) if k in FIELDS}
    model = LayerSweepClassifier(hidden_layer_sizes=hidden, epochs=0, random_state=seed,
                                 recipe=dict(recipe, rule=rule), **params).fit(X, y)
    base = model.trainer_.rates
    for epoch in range(1, epochs + 1):
        if decay is not None:
            factor = 1.0 / (1.0 + (epoch - 1) / decay)
            model.trainer_.rates = base.scaled(factor)
        model.train_to(X, y, epoch, eval_sets=evals)
    return model, list(model.history_)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", default="shallow,deep,wide,deeper")
    parser.add_argument("--variants", default="default")
    parser.add_argument("--rules", default="qp,ep")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "depth"))
    parser.add_argument("--train-size", type=int, default=1000,
                        help="training digits of the 5000 bundled ones (default %(default)s; "
                             "the rest but 100 test digits are held out)")
    parser.add_argument("--quick", action="store_true",
                        help="2 epochs, 200 training images, every 10th held-out image")
    args = parser.parse_args(argv)
    train_size = 200 if args.quick else args.train_size
    epochs = 2 if args.quick else args.epochs
    splits = datasets.split(datasets.load("mnist5k"), train_size, 100)
    heldout = splits["heldout"]
    if args.quick:
        heldout = datasets.Dataset(heldout.X[::10], heldout.y[::10], heldout.name)
    base_lr = tuple(Recipe().lr_W)
    os.makedirs(args.out, exist_ok=True)
    rows, started = [], time.perf_counter()
    for net in args.nets.split(","):
        hidden = NETS[net]
        for variant in args.variants.split(","):
            if variant not in SHALLOW_VARIANTS and len(hidden) == 1:
                continue  # one block: the variants do not apply
            if variant != "default" and settled(variant, hidden, base_lr) == settled(
                    "default", hidden, base_lr):
                continue  # the default itself for this net (e.g. "average" for a deep net)
            for rule in args.rules.split(","):
                for seed in (int(s) for s in args.seeds.split(",")):
                    params = variant_params(variant, hidden, base_lr)
                    model, history = train(params, hidden, rule, seed, epochs, splits, heldout)
                    label = "-".join(str(n) for n in model.network_.sizes)
                    for row in history:
                        rows.append(dict(row, net=label, variant=variant, rule=rule, seed=seed))
                    last = history[-1]  # best: of the deep net's epochs, not a greedy stage's
                    best = min(r["heldout_error"] for r in history if not r.get("greedy"))
                    print(f"{label:18s} {variant:10s} {rule}  seed {seed}: heldout error "
                          f"{last['heldout_error']:.3f} (best {best:.3f}) after {epochs} epochs, "
                          f"{sum(r['seconds'] for r in history):.0f} s training", flush=True)
    keys = sorted({k for r in rows for k in r}, key=lambda k: (k not in ("net", "variant", "rule",
                                                                          "seed", "epoch"), k))
    with open(os.path.join(args.out, "curves.csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, args.out)
    print(f"\n{time.perf_counter() - started:.0f} s in all")
    print(f"{'network':18s} {'variant':10s} rule  {'epoch 1':>8s} {'epoch 5':>8s} "
          f"{'last':>8s} {'best':>8s}  (heldout error, mean over seeds; best of the deep net's "
          f"epochs, after any greedy stage)")
    for key in dict.fromkeys((r["net"], r["variant"], r["rule"]) for r in rows):
        sub = [r for r in rows if (r["net"], r["variant"], r["rule"]) == key]
        by_epoch = lambda e: np.mean([r["heldout_error"] for r in sub if r["epoch"] == e])  # noqa: E731
        last = max(r["epoch"] for r in sub)
        deep = sorted({r["epoch"] for r in sub if not r.get("greedy")})
        best = min(by_epoch(e) for e in deep)
        print(f"{key[0]:18s} {key[1]:10s} {key[2]:4s}  {by_epoch(1):8.3f} "
              f"{by_epoch(min(5, last)):8.3f} {by_epoch(last):8.3f} {best:8.3f}")


def plot(rows, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for key in dict.fromkeys((r["net"], r["variant"], r["rule"]) for r in rows):
        sub = [r for r in rows if (r["net"], r["variant"], r["rule"]) == key]
        epochs = sorted({r["epoch"] for r in sub})
        error = [np.mean([r["heldout_error"] for r in sub if r["epoch"] == e]) for e in epochs]
        style = "-" if key[2] == "qp" else "--"
        axes[0].plot(epochs, error, style, marker=".", label=" ".join(key))
        gaps = sorted({k for r in sub for k in r if k.startswith("gap_")})
        if key[2] == "qp":  # a greedy stage's epochs have the stage's one block (1, L)
            for gap in gaps:
                at = [e for e in epochs if any(gap in r for r in sub if r["epoch"] == e)]
                axes[1].plot(at, [np.mean([r[gap] for r in sub if r["epoch"] == e and gap in r])
                                  for e in at], marker=".", label=f"{key[0]} {key[1]} {gap}")
    axes[0].set(xlabel="epoch", ylabel="heldout error", yscale="log",
                title="held-out error (QP solid, EP dashed)")
    axes[1].set(xlabel="epoch", ylabel="mean E(free) - E(nudged)", title="QP: energy gap per block")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "curves.png"), dpi=120)


if __name__ == "__main__":
    main()

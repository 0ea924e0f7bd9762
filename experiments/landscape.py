"""The low-energy landscape during training (paper, Figs. 2-3): MDS of sampled spin states.

784-120-40 is trained with the package defaults; at several stages (epochs) low-energy states
of H[x] are sampled for the 100 test digits (10 per class) with the annealer from random
starts, and all states of a stage are projected to 2-D by multidimensional scaling of their
Hamming distances (scikit-learn's MDS), coloured by the class their output predicts (grey when
no single group of outputs is largest). Basins should separate as training proceeds. Writes
experiments/results/landscape/landscape.png and stages.csv, and prints a summary table.

    python experiments/landscape.py [--stages 0,1,3,13] [--reads 20] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import os
import time
import warnings

import numpy as np

from layersweep import data as datasets
from layersweep.blocks import block_problem
from layersweep.estimator import LayerSweepClassifier
from layersweep.samplers import BipartiteAnnealer

HERE = os.path.dirname(os.path.abspath(__file__))


def sample_states(net, X, reads, seed):
    """``reads`` annealed low-energy states of H[x] per image: ``(n * reads, n_1 + n_2)``
    ±1 spins and the class each one's output predicts (``-1``: no single largest group)."""
    samples = BipartiteAnnealer(sweeps=64).sample(block_problem(net, 1, X), reads, seed=seed)
    states = np.concatenate([samples.low, samples.high], axis=-1).reshape(len(X) * reads, -1)
    return states, net.predict_output(samples.high).reshape(-1)


def embed_2d(states, seed):
    """2-D MDS coordinates preserving the states' pairwise Hamming distances."""
    from sklearn.manifold import MDS

    distances = (states.shape[1] - states @ states.T) / 2
    with warnings.catch_warnings():
        # scikit-learn 1.8+ renames `dissimilarity`; the old name works on every version we allow
        warnings.simplefilter("ignore", FutureWarning)
        mds = MDS(n_components=2, dissimilarity="precomputed", n_init=1, max_iter=200,
                  random_state=seed)
        return mds.fit_transform(distances)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", default="0,1,3,13", help="epochs at which to sample")
    parser.add_argument("--reads", type=int, default=20, help="states per test image")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join(HERE, "results", "landscape"))
    parser.add_argument("--quick", action="store_true", help="stages 0,1; 5 reads")
    args = parser.parse_args(argv)
    stages = sorted({int(s) for s in args.stages.split(",")})
    if args.quick:
        stages, args.reads = [0, 1], 5
    splits = datasets.split(datasets.load("mnist5k"), 1000, 100)
    train, test = splits["train"], splits["test"]
    os.makedirs(args.out, exist_ok=True)
    model = LayerSweepClassifier(epochs=0, random_state=args.seed)
    model.fit(train.X, train.y)
    started, panels, rows = time.perf_counter(), [], []
    for stage in stages:
        model.train_to(train.X, train.y, stage)
        states, predicted = sample_states(model.network_, test.X, args.reads, args.seed)
        truth = np.repeat(test.y, args.reads)
        coords = embed_2d(states, args.seed)
        accuracy = model.score(test.X, test.y)
        rows.append({"epoch": stage, "test_accuracy": accuracy,
                     "states_correct": float((predicted == truth).mean()),
                     "states_unclassified": float((predicted == -1).mean()),
                     "distinct_states": len(np.unique(states, axis=0))})
        panels.append((stage, accuracy, coords, predicted))
        print(f"epoch {stage:3d}: test accuracy {accuracy:.2f}; of {len(states)} sampled states "
              f"{rows[-1]['states_correct']:.2f} predict their image's class, "
              f"{rows[-1]['states_unclassified']:.2f} no class, "
              f"{rows[-1]['distinct_states']} distinct", flush=True)
    with open(os.path.join(args.out, "stages.csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot(panels, args.out, args.reads)
    print(f"\n{time.perf_counter() - started:.0f} s; "
          f"plot in {os.path.join(args.out, 'landscape.png')}")


def plot(panels, out, reads):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4.2), squeeze=False)
    for ax, (stage, accuracy, coords, predicted) in zip(axes[0], panels):
        grey = predicted == -1
        ax.scatter(coords[grey, 0], coords[grey, 1], s=4, c="lightgrey", label="-1")
        for c in range(10):
            mine = predicted == c
            ax.scatter(coords[mine, 0], coords[mine, 1], s=4, color=colours(c), label=str(c))
        ax.set(title=f"epoch {stage}, test accuracy {accuracy:.2f}", xticks=[], yticks=[])
    axes[0][-1].legend(markerscale=3, fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5),
                       title="output class")
    fig.suptitle(f"Low-energy states of H[x] for 100 test digits ({reads} each), MDS of "
                 f"Hamming distances")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "landscape.png"), dpi=120)


if __name__ == "__main__":
    main()

"""The numbers of three short runs, pinned bit for bit (sha256 of every parameter array).

A change of code that must not change the numbers (a refactor, a new option off by default)
keeps these digests. A change that means to change them (a new default, a faster kernel with
another random stream) updates them here and says so, with its measurement, in CHANGELOG.md.
"""

import hashlib

import h5py
import numpy as np
import pytest

from layersweep import data as datasets
from layersweep.cli import main
from layersweep.estimator import LayerSweepClassifier


@pytest.fixture(scope="module")
def digits():
    return datasets.split(datasets.load(), 200, 0)["train"]


def digest(model) -> str:
    """sha256 of the trained and (if any) the averaged parameters, by name."""
    h = hashlib.sha256()
    trainer = model.trainer_
    for net in [trainer.net] + ([trainer.averaged] if trainer.averaged is not None else []):
        for name, value in net.parameters().items():
            h.update(name.encode())
            h.update(np.ascontiguousarray(value).tobytes())
    return h.hexdigest()


def test_the_paper_net_trains_to_the_pinned_parameters(digits):
    model = LayerSweepClassifier(epochs=2, random_state=0).fit(digits.X, digits.y)
    assert digest(model) == "6b39c9981e80fbbffa22ad22047cea5135ae951637ba03f2e27e302b5386680a"


def test_a_deep_net_with_a_greedy_stage_trains_to_the_pinned_parameters(digits):
    """784-64-32-40, defaults: one greedy epoch, then two deep ones inside the warm-up, with
    top-reference starts, error-driven reads, hidden decay and averaging."""
    model = LayerSweepClassifier(hidden_layer_sizes=(64, 32), epochs=3, random_state=0,
                                 recipe=dict(greedy_epochs=1)).fit(digits.X, digits.y)
    assert digest(model) == "47f117c5e3c02f34e4d352276c9c47652453a6feebb04140c77b6b3b172b6aab"


def test_the_command_line_resolves_a_deep_run_to_the_pinned_parameters(digits, tmp_path):
    data, out = tmp_path / "d200.npz", tmp_path / "deep.h5"
    np.savez(data, X=digits.X, y=digits.y)
    assert main(["train", "--layers", "784,64,32,40", "--data", str(data), "--train-size",
                 "150", "--test-size", "20", "--epochs", "3", "--greedy-epochs", "1",
                 "--no-progress", "--json", "--out", str(out)]) == 0
    h = hashlib.sha256()
    with h5py.File(out, "r") as f:
        for group in ("parameters", "state/averaged"):
            for name in sorted(f[group]):
                h.update((group + name).encode())
                h.update(f[group][name][()].tobytes())
    assert h.hexdigest() == "8ddd7f83ebd35240e976325c1753207480f3e0bbe6e964f5ca3c3c08271cf0b3"
